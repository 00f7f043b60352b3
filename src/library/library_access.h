// Internal access to an open Library for the search stage (src/search). Not public API.
//
// Search sees the catalog through a typed reader (src/catalog/catalog_reader.h) and the
// vectors through the store interface (src/store/vector_store.h): no SQL, no sqlite3*, no
// faiss::Index crosses this line. The schema is owned by src/catalog (schema.h, photo_row.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "catalog/catalog_reader.h"
#include "store/vector_store.h"
#include "viewfinder/library.h"

namespace vf::detail {

// Everything src/search needs beyond the public Library interface.
class LibraryInternal {
 public:
  virtual ~LibraryInternal() = default;

  // The catalog's typed queries (and the cluster store).
  virtual const catalog::CatalogReader& catalog() const = 0;

  // The semantic (inner product over L2-normalised embeddings) and colour stores,
  // consistent with the catalog as of the last commit. Null when the library holds no
  // vectors of that kind. Ids are catalog ids.
  // The colour store holds sqrt(h) for each L1-normalised 512-bin histogram h (unit L2
  // norm), so querying it with sqrt(q) gives inner product = Bhattacharyya coefficient in
  // [0, 1]; use color_index_query() (catalog/schema.h) to build the query vector. Re-rank
  // candidates with color_hists().
  virtual const store::VectorStore* semantic_store() const = 0;
  virtual const store::VectorStore* color_store() const = 0;
  virtual int dim() const = 0;

  // Decoded stored embedding / colour histogram for a set of ids (rows of dim / 512 floats,
  // in the order of `ids`; missing ids give zero rows).
  virtual std::vector<float> embeddings(const std::vector<int64_t>& ids) const = 0;
  virtual std::vector<float> color_hists(const std::vector<int64_t>& ids) const = 0;

  // All ids with an embedding, ascending.
  virtual std::vector<int64_t> all_ids() const = 0;

  // For long-lived readers (the server): if another process committed since the stores
  // were loaded, reloads them (from the stamped files, or rebuilt from the catalog). Returns
  // true when they changed. Pointers from semantic_store()/color_store() are invalidated, so
  // call it only while no search is running.
  virtual bool refresh() = 0;
};

// The internal view of a Library opened by vf::Library::open.
const LibraryInternal& internal(const Library& library);
LibraryInternal& internal(Library& library);

}  // namespace vf::detail
