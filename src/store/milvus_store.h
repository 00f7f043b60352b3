// The Milvus implementation of VectorStore (built with VF_MILVUS): one Milvus collection per
// library, keyed by catalog id, holding the vector and the photo's scalar fields
// (store/milvus/milvus_schema.h), so that filters run inside Milvus.
//
// Consistency, per call (docs/scale.md):
//   upsert/remove  acknowledged by Milvus (in its write-ahead log) before returning
//   scan           Strong (resync and migrate read everything)
//   count          as search below: the searcher asks for it on every query
//   search         Session once this process has written (read-your-writes in one
//                  process); Strong when the library wrote less than 10 s before this store
//                  was opened (`index` then `search` in two processes); else Bounded (an
//                  interactive search may miss another process's writes of the last few
//                  seconds; cheapest: no wait for the next time tick)
// Errors name the address: "cannot reach Milvus at 127.0.0.1:19530: ...".
//
// Index: the URL's query chooses it (store/milvus/milvus_index.h has every key), e.g.
// milvus://HOST:PORT/COLLECTION?index=IVF_SQ8&nlist=1024&nprobe=256; none: HNSW M 16
// efConstruction 200. A new collection is built with it. An existing collection whose index
// differs from the one the URL names gets it rebuilt: released, DropIndex, CreateIndex,
// loaded again (no re-embedding; until Milvus has built the new index, its segments are
// searched through Milvus's temporary index: slower and a little less exact). A URL that names no index uses the collection's own, whatever it is, so a
// reader or a worker with a plain URL never rebuilds it.
#pragma once

#include <memory>
#include <string>

#include "store/milvus/milvus_index.h"
#include "store/vector_store.h"

namespace vf::store {

struct MilvusAddress {
  std::string address;     // host:port
  std::string collection;  // [A-Za-z_][A-Za-z0-9_]*
  milvus::IndexSpec index;  // from the query (?index=...&...); not `named` when it has none
};
// "milvus://HOST:PORT/COLLECTION[?index=TYPE&KEY=VALUE...]"; throws vf::Error(InvalidArgument)
// naming what is wrong (bad address, unknown index or key, a value out of Milvus's range).
MilvusAddress parse_milvus_spec(const std::string& spec);

// Connects, and creates the collection (the URL's index, loaded) when it does not exist yet
// and `dim` > 0 (IVF_PQ's m must divide dim). An existing collection must have `dim` floats
// per vector (when dim > 0); its index is rebuilt when the URL names another one.
std::unique_ptr<VectorStore> make_milvus_store(const std::string& spec, int dim, RemoteStoreOptions remote);

}  // namespace vf::store
