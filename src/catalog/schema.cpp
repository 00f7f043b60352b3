#include "catalog/schema.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <ctime>

#include "catalog/photo_row.h"
#include "common/half.h"

namespace vf::detail {

namespace {

// Columns added to the column table since a catalog was created: ALTER TABLE ADD COLUMN with
// the type alone (new columns are nullable; constraints apply to new catalogs only).
void add_missing_columns(Db& db) {
  std::vector<std::string> have;
  {
    Stmt info(db.get(), "SELECT name FROM pragma_table_info('photos')");
    while (info.step()) have.push_back(info.col_text(0));
  }
  for (const auto& c : catalog::photo_columns()) {
    if (std::find(have.begin(), have.end(), c.name) != have.end()) continue;
    std::string ddl = c.ddl;
    db.exec(std::string("ALTER TABLE photos ADD COLUMN ") + c.name + " " + ddl.substr(0, ddl.find(' ')));
  }
}

}  // namespace

bool schema_is_current(sqlite3* db) {
  std::vector<std::string> have;
  Stmt info(db, "SELECT name FROM pragma_table_info('photos')");
  while (info.step()) have.push_back(info.col_text(0));
  for (const auto& c : catalog::photo_columns())
    if (std::find(have.begin(), have.end(), c.name) == have.end()) return false;
  return true;
}

namespace {

// Before metadata version 2 a photo without a capture date was given its file time as
// capture time ("file:mtime"). Those move to the file-time columns now, so that date filters
// never mistake them for capture times even before the metadata is re-read.
void split_file_times(Db& db) {
  db.exec("UPDATE photos SET file_time = capture_time, file_time_unix = capture_unix, capture_time = NULL,"
          " capture_unix = NULL, capture_offset = NULL, capture_time_source = NULL"
          " WHERE capture_time_source = 'file:mtime'");
}

}  // namespace

void create_schema(Db& db) {
  // WAL: readers (search, `viewfinder info`, the server) never block the indexer and always
  // see the last committed batch. synchronous=FULL makes each batch commit durable.
  db.exec("PRAGMA journal_mode=WAL");
  db.exec("PRAGMA synchronous=FULL");
  db.exec(catalog::photos_table_ddl());
  add_missing_columns(db);
  db.exec(R"sql(
CREATE INDEX IF NOT EXISTS photos_folder ON photos(folder);
CREATE INDEX IF NOT EXISTS photos_hash ON photos(content_hash);
CREATE INDEX IF NOT EXISTS photos_capture ON photos(capture_unix);
CREATE TABLE IF NOT EXISTS failures (path TEXT PRIMARY KEY, reason TEXT, mtime_ns INTEGER, file_size INTEGER);
CREATE TABLE IF NOT EXISTS clusters (run INTEGER, cluster INTEGER, label TEXT, size INTEGER,
                                     representatives TEXT, PRIMARY KEY(run, cluster));
CREATE TABLE IF NOT EXISTS cluster_members (run INTEGER, photo_id INTEGER, cluster INTEGER, distance REAL);
CREATE TABLE IF NOT EXISTS cluster_labels (run INTEGER, cluster INTEGER, name TEXT, facts TEXT,
                                           PRIMARY KEY(run, cluster));
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', '1'), ('generation', '0');
)sql");
  if (meta_get(db.get(), "file_times_split").empty()) {
    split_file_times(db);
    meta_set(db.get(), "file_times_split", "1");
  }
}

std::string meta_get(sqlite3* db, const std::string& key, const std::string& fallback) {
  Stmt s(db, "SELECT value FROM meta WHERE key = ?");
  s.bind(1, key);
  if (!s.step() || s.is_null(0)) return fallback;
  return s.col_text(0);
}

void meta_set(sqlite3* db, const std::string& key, const std::string& value) {
  Stmt s(db, "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value");
  s.bind(1, key).bind(2, value).run();
}

int64_t bump_generation(sqlite3* db) {
  int64_t g = std::stoll(meta_get(db, "generation", "0")) + 1;
  meta_set(db, "generation", std::to_string(g));
  meta_set(db, "last_commit", now_iso_utc());
  return g;
}

CatalogState read_state(sqlite3* db) {
  CatalogState s;
  s.generation = std::stoll(meta_get(db, "generation", "0"));
  s.model_id = meta_get(db, "model_id");
  s.pooling = meta_get(db, "pooling");
  s.dim = std::stoi(meta_get(db, "dim", "0"));
  {
    Stmt q(db, std::string("SELECT count(*), coalesce(max(id), 0) FROM photos WHERE ") + kIndexableWhere);
    if (q.step()) {
      s.sem_count = q.col_int64(0);
      s.sem_max_id = q.col_int64(1);
    }
  }
  {
    Stmt q(db, "SELECT count(*), coalesce(max(id), 0) FROM photos WHERE color_hist IS NOT NULL");
    if (q.step()) {
      s.color_count = q.col_int64(0);
      s.color_max_id = q.col_int64(1);
    }
  }
  return s;
}

std::vector<uint16_t> encode_embedding(const float* v, int dim) {
  std::vector<uint16_t> h(dim);
  for (int i = 0; i < dim; ++i) h[i] = float_to_half(v[i]);
  return h;
}

void decode_embedding(const void* blob, int bytes, float* out, int dim) {
  if (!blob || bytes != dim * 2) {
    std::memset(out, 0, sizeof(float) * dim);
    return;
  }
  const auto* p = static_cast<const uint8_t*>(blob);
  for (int i = 0; i < dim; ++i) {
    uint16_t h;
    std::memcpy(&h, p + 2 * i, 2);
    out[i] = half_to_float(h);
  }
}

void color_index_vector(const float* hist, float* out) {
  for (int i = 0; i < kColorDim; ++i) out[i] = std::sqrt(std::max(0.0f, hist[i]));
}

std::vector<float> color_index_query(const float* hist512) {
  std::vector<float> q(kColorDim);
  color_index_vector(hist512, q.data());
  return q;
}
}  // namespace vf::detail
