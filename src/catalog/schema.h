// The catalog schema: tables, the meta key-value store, the generation counter, and the
// encodings of the vector columns. The photos table's columns are defined once, in
// photo_row.cpp (kPhotoColumns); create_schema() builds its DDL from that table.
//
// Tables: photos (one row per indexed file; id = the vector stores' id), failures (path,
// reason, mtime_ns, file_size), clusters / cluster_members (the latest clustering run, see
// cluster_store.h), meta (key TEXT PRIMARY KEY, value TEXT: model_id, pooling, dim,
// generation, ...).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <vector>

#include "catalog/sqlite.h"
#include "common/time_util.h"

namespace vf::detail {

constexpr int kColorDim = 512;

// Creates the tables if needed and sets WAL mode. Safe to call on every open.
void create_schema(Db& db);

// False when the photos table lacks a column of the column table (a catalog of an older
// version: create_schema adds them).
bool schema_is_current(sqlite3* db);
std::string meta_get(sqlite3* db, const std::string& key, const std::string& fallback = "");
void meta_set(sqlite3* db, const std::string& key, const std::string& value);
// Marks a change to `photos` (call inside the transaction that makes it): the FAISS stamps
// compare against this counter.
int64_t bump_generation(sqlite3* db);

// The photos whose embedding belongs in the semantic index: embedded with the library's
// current model and pooling (rows still waiting to be re-embedded after a model change stay
// out until they are).
constexpr const char* kIndexableWhere =
    "embedding IS NOT NULL AND model_id = (SELECT value FROM meta WHERE key='model_id') AND "
    "pooling = (SELECT value FROM meta WHERE key='pooling')";

// What the FAISS stamps are checked against; read in one snapshot.
struct CatalogState {
  int64_t generation = 0;
  std::string model_id, pooling;
  int dim = 0;
  int64_t sem_count = 0, sem_max_id = 0;
  int64_t color_count = 0, color_max_id = 0;
};
CatalogState read_state(sqlite3* db);

// fp16 embedding blobs <-> float rows.
std::vector<uint16_t> encode_embedding(const float* v, int dim);
void decode_embedding(const void* blob, int bytes, float* out, int dim);
// The vector stored in color.faiss for an L1-normalised histogram: element-wise sqrt, which
// has unit L2 norm, so inner product = Bhattacharyya coefficient in [0, 1].
void color_index_vector(const float* hist, float* out);
// The same as a new vector (the query for the colour store).
std::vector<float> color_index_query(const float* hist512);

using vf::now_iso_utc;  // src/common/time_util.h

}  // namespace vf::detail
