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
#pragma once

#include <memory>
#include <string>

#include "store/vector_store.h"

namespace vf::store {

struct MilvusAddress {
  std::string address;     // host:port
  std::string collection;  // [A-Za-z_][A-Za-z0-9_]*
};
// "milvus://HOST:PORT/COLLECTION"; throws vf::Error(InvalidArgument) naming what is wrong.
MilvusAddress parse_milvus_spec(const std::string& spec);

// Connects, and creates the collection (HNSW index, loaded) when it does not exist yet and
// `dim` > 0. An existing collection must have `dim` floats per vector (when dim > 0).
std::unique_ptr<VectorStore> make_milvus_store(const std::string& spec, int dim, RemoteStoreOptions remote);

}  // namespace vf::store
