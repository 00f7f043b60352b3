// The vector store: where the embeddings (and the colour vectors) are searched. The library
// keeps one store per vector space (semantic, colour); search, duplicates and clusters talk
// only to this interface. FAISS in this process (faiss_store.h) is the first implementation;
// the interface is shaped for a store in another process (Milvus over gRPC) as well.
//
// Contract
// - Ids are catalog ids (photos.id). A store never invents ids and holds each id at most once.
// - Vectors are float32 rows of dim() values, L2-normalised by the caller; the similarity is
//   the inner product (cosine), higher is better. The library stores fp16-rounded vectors
//   (what a rebuild from the catalog would give), so a store needs no rounding of its own.
// - The catalog is the source of truth. A store may lag behind it (a crash between the
//   catalog commit and the store update); the library detects that with the stamps/counts it
//   keeps and brings the store back in step (rebuild or re-upsert). Search results may thus
//   miss the last uncommitted batch, never show a photo the catalog no longer has for longer
//   than one commit.
// - Consistency: after upsert()/remove() return, search() and count() see the change
//   (read-your-writes). A remote store must flush/wait before returning.
// - Thread safety: search(), count(), scan() and describe() may run concurrently with each
//   other; upsert()/remove() are never called concurrently with anything (the library holds
//   its writer lock and no search runs during index upkeep).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "viewfinder/search.h"

namespace vf::store {

struct Neighbor {
  int64_t id;   // catalog id
  float score;  // inner product, higher is more similar
};

// The filterable scalar fields of one photo, passed along with its vector so that a store
// which evaluates vf::Filters itself (a remote one) has them. FAISS ignores them.
struct PhotoScalars {
  std::string path, folder, format, make, model, lens;
  int width = 0, height = 0;
  std::optional<int64_t> capture_unix;
  std::optional<int64_t> file_time_unix;  // the file's mtime (include_file_times date filters)
  std::optional<double> gps_lat, gps_lon;
  std::optional<int> rating;
  // The indexed file's identity: a reader library (mirror_collection) checks with it that
  // the file at `path` is the one embedded, and keys its thumbnails by the content hash.
  std::string content_hash;
  int64_t file_size = 0, mtime_ns = 0;
};

// Which photos a search may return. Either or both may be set; none: every stored photo.
struct SearchFilter {
  // Sorted ascending catalog ids (the catalog's answer to the filters). A store must honour
  // it when set.
  const std::vector<int64_t>* allowed_ids = nullptr;
  // The user's filters themselves: a store that can evaluate them on its own scalar fields
  // (PhotoScalars) may use them instead of a long id list. FAISS uses allowed_ids only.
  const Filters* filters = nullptr;
};

using NeighborLists = std::vector<std::vector<Neighbor>>;  // per query, best first

// For a store that evaluates filters itself (Milvus): the distinct lower-cased values of a
// text field ("make", "model", "lens") that contain `needle` (lower-cased), answered by the
// catalog. Milvus 2.3 cannot match substrings, so such filters become `make_lc in [...]`.
using TextValueLookup =
    std::function<std::vector<std::string>(const std::string& field, const std::string& needle)>;

// What a remote store needs from its library beyond the address.
struct RemoteStoreOptions {
  TextValueLookup lookup;
  // The ids this library owns: count(), scan() and search() see only these. A shard worker
  // (several libraries writing one collection) owns a range of its own.
  int64_t id_lo = 0, id_hi = int64_t(1) << 62;
  // When the library last wrote to the store (unix seconds, 0 = unknown): a remote store
  // reads with full consistency for a while after it, so that `index` then `search` in two
  // processes sees every photo.
  int64_t last_write_unix = 0;
  // Which model made the vectors (JSON: model_id, pooling, dim, and shards: how many workers
  // split the photos, 1 without --shard; "" = unknown). A new collection records it; an
  // existing one that records another model is refused, so that one collection never mixes
  // two models' vectors, and so is one that records another split: ids alone cannot tell a
  // library without --shard from worker 0 of a split (both number photos from 1).
  std::string model_identity;
};

class VectorStore {
 public:
  virtual ~VectorStore() = default;

  virtual std::string kind() const = 0;      // "faiss", "milvus"
  virtual std::string describe() const = 0;  // "Flat", "IVF1024,Flat", "milvus://host:port/coll"
  virtual int dim() const = 0;               // 0 until the first vectors arrive
  virtual int64_t count() const = 0;         // vectors stored
  virtual int64_t memory_bytes() const = 0;  // held in this process (0 for a remote store)
  // Whether its scores come from lossy codes (product quantisation: FAISS ",PQ", Milvus
  // IVF_PQ): the searcher then re-ranks more candidates exactly from the catalog's vectors.
  virtual bool lossy_scores() const { return false; }

  // Adds `n` vectors (rows of dim floats) under `ids`, replacing any already stored under
  // the same ids. `scalars` (n entries) may be null for stores that do not filter.
  // Throws vf::Error when the store cannot take them (e.g. an IVF store asked to train on
  // fewer vectors than lists).
  virtual void upsert(const int64_t* ids, const float* vectors, int64_t n,
                      const std::vector<PhotoScalars>* scalars) = 0;
  // Removes every vector of this library, before the library's model changes (the catalog
  // re-embeds the photos and upserts them again): a store never holds the vectors of two
  // models. A remote store drops its collection when nothing else is left in it, so that it
  // is created again for the new dimension; when other libraries' vectors remain (shard
  // workers of one collection), it removes nothing and throws vf::Error(InvalidArgument)
  // saying what to do.
  virtual void clear() = 0;
  // Removes the ids (absent ones are ignored). Returns false when this store cannot remove
  // (FAISS HNSW): the caller must rebuild it instead.
  virtual bool remove(const std::vector<int64_t>& ids) = 0;

  // The top `k` neighbours of each of `nq` queries (rows of dim floats). Returns nullopt
  // when this store cannot apply `filter` (the caller then scores the allowed ids exactly).
  virtual std::optional<NeighborLists> search(const float* queries, int nq, int k,
                                              const SearchFilter& filter) const = 0;

  // Every stored (id, vector), in batches of at most `batch` rows; the order is the store's.
  using BatchFn = std::function<void(const int64_t* ids, const float* vectors, int64_t n)>;
  virtual void scan(int64_t batch, const BatchFn& fn) const = 0;

  // A store that keeps the photos' scalar fields (Milvus): every (id, vector, fields), in
  // batches, ascending ids within a batch. With `vectors` false only the fields come (the
  // vectors pointer is null; ~150 B a row against 3 KB of vector at 768-d): a reader's sync
  // reads the vectors of changed rows alone, with fetch_vectors. A store without fields
  // throws vf::Error.
  using RowBatchFn =
      std::function<void(const int64_t* ids, const float* vectors, const PhotoScalars* scalars, int64_t n)>;
  virtual void scan_rows(int64_t batch, const RowBatchFn& fn, bool vectors) const;
  // The stored vectors of `ids` (an id the store does not hold is left out), in batches,
  // ascending ids within a batch. A store without scan_rows throws vf::Error.
  virtual void fetch_vectors(const std::vector<int64_t>& ids, const BatchFn& fn) const;
  // The model identity recorded with the vectors (RemoteStoreOptions::model_identity), ""
  // when none is recorded (FAISS: the catalog records it).
  virtual std::string model_identity() const { return ""; }

  // A store that lives in this process persists itself next to the catalog: writes its data
  // to `path` with `stamp` (a JSON object the library validates on the next open). A remote
  // store persists on its own and returns false.
  virtual bool save(const std::string& path, const std::string& stamp_json) const = 0;
};

// The store named by `spec`, empty, for vectors of `dim`:
//   "faiss" or ""            in-process FAISS; `faiss_factory` picks the index type
//                            ("" = "Flat"; see faiss_store.h)
//   "milvus://host:port/c"   the collection c on that Milvus server (milvus_store.h), created
//                            when absent; `remote` serves its make/model/lens filters. In a
//                            build without VF_MILVUS: vf::Error(InvalidArgument) saying so.
std::unique_ptr<VectorStore> make_store(const std::string& spec, int dim,
                                        const std::string& faiss_factory = "",
                                        RemoteStoreOptions remote = {});
// True for "milvus://..." (a store in another process, persisted by itself).
bool is_remote_store(const std::string& spec);
// Whether two model ids ("<dir name>@<sha256 prefix>") name the same weights: by the hash
// when both have one (the same model copied into a folder of another name on another
// machine), else by the whole text.
bool same_model_id(const std::string& a, const std::string& b);

}  // namespace vf::store
