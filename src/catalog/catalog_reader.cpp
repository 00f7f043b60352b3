#include "catalog/catalog_reader.h"

#include <algorithm>
#include <sstream>
#include <variant>

#include <nlohmann/json.hpp>

#include "catalog/filter_sql.h"
#include "catalog/photo_row.h"
#include "catalog/schema.h"

namespace vf::catalog {

using detail::Stmt;

std::string CatalogReader::generation() const {
  std::lock_guard<std::mutex> lk(mutex_);
  Stmt g(db_.get(), "SELECT value FROM meta WHERE key = 'generation'");
  return g.step() ? g.col_text(0) : "";
}

std::vector<std::pair<int64_t, std::string>> CatalogReader::indexable_paths() const {
  std::lock_guard<std::mutex> lk(mutex_);
  std::vector<std::pair<int64_t, std::string>> out;
  Stmt st(db_.get(), std::string("SELECT id, path FROM photos WHERE ") + detail::kIndexableWhere);
  while (st.step()) out.emplace_back(st.col_int64(0), st.col_text(1));
  return out;
}

std::vector<DuplicateRow> CatalogReader::duplicate_rows(const Filters& filters) const {
  auto where = build_filter_sql(filters);
  std::lock_guard<std::mutex> lk(mutex_);
  // The metadata count of the keeper rules: each EXIF field present counts one, and so do
  // GPS, a rating and keywords.
  static const char* kMetadataFields =
      "(make IS NOT NULL AND make != '') + (model IS NOT NULL AND model != '') +"
      " (lens IS NOT NULL AND lens != '') + (focal_length IS NOT NULL) + (aperture IS NOT NULL) +"
      " (exposure IS NOT NULL) + (iso IS NOT NULL) + (coalesce(capture_unix, 0) != 0) +"
      " (gps_lat IS NOT NULL) + (rating IS NOT NULL) + (keywords IS NOT NULL AND keywords NOT IN ('', '[]'))";
  Stmt st(db_.get(),
          "SELECT id, path, coalesce(content_hash, ''), phash, coalesce(width, 0),"
          " coalesce(height, 0), coalesce(format, ''), coalesce(capture_unix, 0),"
          " coalesce(file_size, 0), coalesce(make, ''), coalesce(model, ''), folder,"
          " coalesce(preview_path, ''), " + std::string(kMetadataFields) + ", exposure"
          " FROM photos WHERE " + where.clause + " ORDER BY id");
  st.bind_all(where.binds);
  std::vector<DuplicateRow> rows;
  while (st.step()) {
    DuplicateRow r;
    r.id = st.col_int64(0);
    r.path = st.col_text(1);
    r.content_hash = st.col_text(2);
    r.has_phash = !st.is_null(3);
    r.phash = static_cast<uint64_t>(st.col_int64(3));
    r.width = static_cast<int>(st.col_int64(4));
    r.height = static_cast<int>(st.col_int64(5));
    r.format = st.col_text(6);
    r.capture_unix = st.col_int64(7);
    r.file_size = st.col_int64(8);
    r.make = st.col_text(9);
    r.model = st.col_text(10);
    r.folder = st.col_text(11);
    r.preview_rel = st.col_text(12);
    r.metadata_fields = static_cast<int>(st.col_int64(13));
    if (!st.is_null(14)) r.exposure_s = st.col_double(14);
    rows.push_back(std::move(r));
  }
  return rows;
}

std::vector<LabelRow> CatalogReader::label_rows() const {
  std::lock_guard<std::mutex> lk(mutex_);
  Stmt st(db_.get(),
          "SELECT id, CASE WHEN capture_time_source LIKE 'file:%' THEN 0 ELSE coalesce(capture_unix, 0) END,"
          " coalesce(make, ''), coalesce(model, ''), coalesce(lens, ''), coalesce(keywords, ''),"
          " gps_lat, gps_lon, color_hist FROM photos WHERE " + std::string(detail::kIndexableWhere));
  std::vector<LabelRow> rows;
  while (st.step()) {
    LabelRow r;
    r.id = st.col_int64(0);
    r.capture_unix = st.col_int64(1);
    r.make = st.col_text(2);
    r.model = st.col_text(3);
    r.lens = st.col_text(4);
    r.keywords_json = st.col_text(5);
    if (!st.is_null(6) && !st.is_null(7)) r.gps_lat = st.col_double(6), r.gps_lon = st.col_double(7);
    const void* blob = st.col_blob(8);
    const int bytes = st.col_bytes(8);
    if (blob && bytes == int(512 * sizeof(float)))
      r.color_hist.assign(static_cast<const float*>(blob), static_cast<const float*>(blob) + 512);
    rows.push_back(std::move(r));
  }
  return rows;
}

void CatalogReader::copy_filterable(sqlite3* into) const {
  const auto& names = filter_column_names();
  const int n = static_cast<int>(names.size());
  std::string columns, marks;
  for (const auto& name : names) {
    columns += (columns.empty() ? "" : ", ") + name;
    marks += marks.empty() ? "?" : ",?";
  }
  detail::exec_sql(into, "DROP TABLE IF EXISTS photos; " + filter_table_ddl() +
                             "; CREATE INDEX photos_capture ON photos(capture_unix); BEGIN");
  {
    Stmt ins(into, "INSERT INTO photos VALUES (" + marks + ")");
    std::lock_guard<std::mutex> lk(mutex_);
    Stmt st(db_.get(), "SELECT " + columns + " FROM photos WHERE " + detail::kIndexableWhere);
    while (st.step()) {
      for (int c = 0; c < n; ++c) {
        int type = st.col_type(c);
        if (type == SQLITE_NULL)
          ins.bind_null(c + 1);
        else if (type == SQLITE_INTEGER)
          ins.bind(c + 1, st.col_int64(c));
        else if (type == SQLITE_FLOAT)
          ins.bind(c + 1, st.col_double(c));
        else
          ins.bind(c + 1, st.col_text(c));
      }
      ins.run();
    }
  }
  detail::exec_sql(into, "COMMIT");
}

// ---- FilterIndex ------------------------------------------------------------------------

FilterIndex::~FilterIndex() {
  if (db_) sqlite3_close(db_);
}

void FilterIndex::refresh() {
  std::string generation = catalog_.generation();
  if (db_ && generation == generation_) return;
  if (!db_ && sqlite3_open(":memory:", &db_) != SQLITE_OK)
    throw Error("cannot open an in-memory database for filters", ErrorCode::Io);
  catalog_.copy_filterable(db_);
  generation_ = generation;
  last_key_.clear();
}

std::vector<int64_t> FilterIndex::ids(const Filters& f) {
  auto where = build_filter_sql(f, "1");
  std::string key = where.clause;
  for (const auto& b : where.binds)
    std::visit([&](const auto& v) {
      std::ostringstream o;
      o << v;
      key += "\x1f" + o.str();
    }, b);
  std::lock_guard<std::mutex> g(mutex_);
  refresh();
  if (key == last_key_) return last_ids_;
  Stmt st(db_, "SELECT id FROM photos WHERE " + where.clause + " ORDER BY id");
  st.bind_all(where.binds);
  std::vector<int64_t> ids;
  while (st.step()) ids.push_back(st.col_int64(0));
  last_key_ = key;
  last_ids_ = ids;
  return ids;
}

std::vector<int64_t> FilterIndex::list(const Filters& f, int k, int offset, int64_t& matched) {
  auto where = build_filter_sql(f, "1");
  std::lock_guard<std::mutex> g(mutex_);
  refresh();
  Stmt count(db_, "SELECT count(*) FROM photos WHERE " + where.clause);
  count.bind_all(where.binds);
  if (count.step()) matched = count.col_int64(0);
  const std::string when = photo_time_sql(f);
  Stmt st(db_, "SELECT id FROM photos WHERE " + where.clause + " ORDER BY " + when + " IS NULL, " + when +
                   " DESC, id DESC LIMIT ? OFFSET ?");
  int next = st.bind_all(where.binds);
  st.bind(next, static_cast<int64_t>(k));
  st.bind(next + 1, static_cast<int64_t>(std::max(offset, 0)));
  std::vector<int64_t> ids;
  while (st.step()) ids.push_back(st.col_int64(0));
  return ids;
}

}  // namespace vf::catalog
