#include "catalog/photo_row.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "viewfinder/error.h"

namespace vf::catalog {

bool has_capture_time(const PhotoMetadata& m) { return !m.capture_time.empty() || m.capture_unix != 0; }

namespace {

// Column helpers: text columns store NULL for "", optional numbers NULL for nullopt.
template <std::string PhotoMetadata::*F>
void bind_meta_text(Stmt& s, int i, const PhotoRow& r) { s.bind_text_or_null(i, r.meta.*F); }
template <std::string PhotoMetadata::*F>
void read_meta_text(const Stmt& s, int c, PhotoRow& r) { r.meta.*F = s.col_text(c); }
template <int PhotoMetadata::*F>
void bind_meta_int(Stmt& s, int i, const PhotoRow& r) { s.bind(i, r.meta.*F); }
template <int PhotoMetadata::*F>
void read_meta_int(const Stmt& s, int c, PhotoRow& r) { r.meta.*F = s.col_int(c); }
template <int64_t PhotoMetadata::*F>
void bind_meta_int64(Stmt& s, int i, const PhotoRow& r) { s.bind(i, r.meta.*F); }
template <int64_t PhotoMetadata::*F>
void read_meta_int64(const Stmt& s, int c, PhotoRow& r) { r.meta.*F = s.col_int64(c); }
template <class T, std::optional<T> PhotoMetadata::*F>
void bind_meta_opt(Stmt& s, int i, const PhotoRow& r) { s.bind(i, r.meta.*F); }
template <class T, std::optional<T> PhotoMetadata::*F>
void read_meta_opt(const Stmt& s, int c, PhotoRow& r) {
  if (s.is_null(c)) return;
  if constexpr (std::is_same_v<T, double>) r.meta.*F = s.col_double(c);
  else r.meta.*F = s.col_int(c);
}
template <std::string PhotoRow::*F>
void bind_row_text(Stmt& s, int i, const PhotoRow& r) { s.bind_text_or_null(i, r.*F); }
template <std::string PhotoRow::*F>
void read_row_text(const Stmt& s, int c, PhotoRow& r) { r.*F = s.col_text(c); }
// Text columns that are always written (never NULL).
template <std::string PhotoRow::*F>
void bind_row_text_always(Stmt& s, int i, const PhotoRow& r) { s.bind(i, r.*F); }

void bind_id(Stmt& s, int i, const PhotoRow& r) {
  if (r.id) s.bind(i, r.id); else s.bind_null(i);
}
void read_id(const Stmt& s, int c, PhotoRow& r) { r.id = s.col_int64(c); }
void read_orientation(const Stmt& s, int c, PhotoRow& r) { r.meta.orientation = s.is_null(c) ? 1 : s.col_int(c); }
// NULL when nothing is known about the capture time (0 alone is a valid instant).
void bind_capture_unix(Stmt& s, int i, const PhotoRow& r) {
  if (!has_capture_time(r.meta)) s.bind_null(i);
  else s.bind(i, r.meta.capture_unix);
}
// NULL when the photo has no file (an upload) or the time is unknown.
void bind_file_time_unix(Stmt& s, int i, const PhotoRow& r) {
  if (r.meta.file_time_unix == 0) s.bind_null(i);
  else s.bind(i, r.meta.file_time_unix);
}
// The version of the metadata reader that wrote this row (kMetadataVersion).
void bind_meta_version(Stmt& s, int i, const PhotoRow&) { s.bind(i, static_cast<int64_t>(kMetadataVersion)); }
void bind_keywords(Stmt& s, int i, const PhotoRow& r) { s.bind(i, nlohmann::json(r.meta.keywords).dump()); }
void read_keywords(const Stmt& s, int c, PhotoRow& r) {
  if (s.is_null(c)) return;
  try {
    for (auto& k : nlohmann::json::parse(s.col_text(c))) r.meta.keywords.push_back(k.get<std::string>());
  } catch (const std::exception&) {
  }
}
void bind_color_hist(Stmt& s, int i, const PhotoRow& r) {
  if (r.color_hist.empty()) s.bind_null(i);
  else s.bind_blob(i, r.color_hist.data(), sizeof(float) * r.color_hist.size());
}
void bind_phash(Stmt& s, int i, const PhotoRow& r) {
  if (r.has_phash) s.bind(i, static_cast<int64_t>(r.phash)); else s.bind_null(i);
}
void bind_embedding(Stmt& s, int i, const PhotoRow& r) {
  if (r.embedding.empty()) s.bind_null(i);
  else s.bind_blob(i, r.embedding.data(), r.embedding.size() * 2);
}
void read_none(const Stmt&, int, PhotoRow&) {}

using M = PhotoMetadata;
using R = PhotoRow;
using H = Hdf5Kind;

}  // namespace

// The photos table. Order matters only for new catalogs' DDL; every query names its columns.
const std::vector<PhotoColumn>& photo_columns() {
  static const std::vector<PhotoColumn> columns = {
      {"id", "INTEGER PRIMARY KEY AUTOINCREMENT", bind_id, read_id, true, false},
      {"path", "TEXT NOT NULL UNIQUE", bind_row_text_always<&R::path>, read_row_text<&R::path>, true, false, H::Text, "paths"},
      {"folder", "TEXT NOT NULL", bind_row_text_always<&R::folder>, read_row_text<&R::folder>, true, false},
      {"format", "TEXT", bind_meta_text<&M::format>, read_meta_text<&M::format>, true, true, H::Text},
      {"mime", "TEXT", bind_meta_text<&M::mime>, read_meta_text<&M::mime>, true, true},
      {"file_size", "INTEGER", bind_meta_int64<&M::file_size>, read_meta_int64<&M::file_size>, true, false},
      {"mtime_ns", "INTEGER", bind_meta_int64<&M::mtime_ns>, read_meta_int64<&M::mtime_ns>, true, false},
      {"content_hash", "TEXT", bind_meta_text<&M::content_hash>, read_meta_text<&M::content_hash>, true, true, H::Text},
      {"stored_width", "INTEGER", bind_meta_int<&M::stored_width>, read_meta_int<&M::stored_width>, true, true},
      {"stored_height", "INTEGER", bind_meta_int<&M::stored_height>, read_meta_int<&M::stored_height>, true, true},
      {"width", "INTEGER", bind_meta_int<&M::width>, read_meta_int<&M::width>, true, true, H::Int32},
      {"height", "INTEGER", bind_meta_int<&M::height>, read_meta_int<&M::height>, true, true, H::Int32},
      {"orientation", "INTEGER", bind_meta_int<&M::orientation>, read_orientation, true, true},
      {"capture_time", "TEXT", bind_meta_text<&M::capture_time>, read_meta_text<&M::capture_time>, true, true, H::Text},
      {"capture_offset", "TEXT", bind_meta_text<&M::capture_offset>, read_meta_text<&M::capture_offset>, true, true},
      {"capture_time_source", "TEXT", bind_meta_text<&M::capture_time_source>,
       read_meta_text<&M::capture_time_source>, true, true},
      {"capture_unix", "INTEGER", bind_capture_unix, read_meta_int64<&M::capture_unix>, true, true, H::Int64},
      // The file's modification time: never a capture time (date filters and "newest first"
      // use it only when asked to include file times).
      {"file_time", "TEXT", bind_meta_text<&M::file_time>, read_meta_text<&M::file_time>, true, false},
      {"file_time_unix", "INTEGER", bind_file_time_unix, read_meta_int64<&M::file_time_unix>, true, false},
      {"make", "TEXT", bind_meta_text<&M::make>, read_meta_text<&M::make>, true, true, H::Text},
      {"model", "TEXT", bind_meta_text<&M::model>, read_meta_text<&M::model>, true, true, H::Text},
      {"lens", "TEXT", bind_meta_text<&M::lens>, read_meta_text<&M::lens>, true, true, H::Text},
      {"focal_length", "REAL", bind_meta_opt<double, &M::focal_length_mm>, read_meta_opt<double, &M::focal_length_mm>, true, true},
      {"aperture", "REAL", bind_meta_opt<double, &M::aperture_f>, read_meta_opt<double, &M::aperture_f>, true, true},
      {"exposure", "REAL", bind_meta_opt<double, &M::exposure_s>, read_meta_opt<double, &M::exposure_s>, true, true},
      {"iso", "INTEGER", bind_meta_opt<int, &M::iso>, read_meta_opt<int, &M::iso>, true, true},
      {"gps_lat", "REAL", bind_meta_opt<double, &M::gps_lat>, read_meta_opt<double, &M::gps_lat>, true, true, H::Real},
      {"gps_lon", "REAL", bind_meta_opt<double, &M::gps_lon>, read_meta_opt<double, &M::gps_lon>, true, true, H::Real},
      {"gps_alt", "REAL", bind_meta_opt<double, &M::gps_alt>, read_meta_opt<double, &M::gps_alt>, true, true},
      {"rating", "INTEGER", bind_meta_opt<int, &M::rating>, read_meta_opt<int, &M::rating>, true, true},
      {"keywords", "TEXT", bind_keywords, read_keywords, true, true},  // JSON array of strings
      {"thumb_path", "TEXT", bind_row_text<&R::thumb_rel>, read_row_text<&R::thumb_rel>, true, true},
      {"preview_path", "TEXT", bind_row_text<&R::preview_rel>, read_row_text<&R::preview_rel>, true, true},
      {"color_hist", "BLOB", bind_color_hist, read_none, false, true},  // 512 float32
      {"phash", "INTEGER", bind_phash, read_none, false, true},         // 64-bit, stored signed
      {"embedding", "BLOB", bind_embedding, read_none, false, true},    // dim float16
      {"model_id", "TEXT", bind_row_text_always<&R::model_id>, read_row_text<&R::model_id>, false, true},
      {"pooling", "TEXT", bind_row_text_always<&R::pooling>, read_row_text<&R::pooling>, false, true},
      {"precision", "TEXT", bind_row_text_always<&R::precision>, read_row_text<&R::precision>, false, true},
      {"indexed_at", "TEXT", bind_row_text_always<&R::indexed_at>, read_row_text<&R::indexed_at>, false, false},
      {"meta_version", "INTEGER", bind_meta_version, read_none, false, true},
  };
  return columns;
}

std::vector<const PhotoColumn*> hdf5_columns() {
  std::vector<const PhotoColumn*> out;
  for (const auto& c : photo_columns())
    if (c.hdf5 != Hdf5Kind::None) out.push_back(&c);
  return out;
}

std::string photos_table_ddl() {
  std::string ddl = "CREATE TABLE IF NOT EXISTS photos (\n";
  const auto& cols = photo_columns();
  for (size_t i = 0; i < cols.size(); ++i)
    ddl += std::string("  ") + cols[i].name + " " + cols[i].ddl + (i + 1 < cols.size() ? ",\n" : "\n");
  return ddl + ")";
}

std::string photo_upsert_sql() {
  std::string names, marks;
  for (const auto& c : photo_columns()) {
    names += (names.empty() ? "" : ", ") + std::string(c.name);
    marks += marks.empty() ? "?" : ",?";
  }
  return "INSERT OR REPLACE INTO photos (" + names + ") VALUES (" + marks + ")";
}

void bind_photo_row(Stmt& s, const PhotoRow& row) {
  int i = 1;
  for (const auto& c : photo_columns()) c.bind(s, i++, row);
}

std::string photo_copy_sql() {
  std::string names, values;
  for (const auto& c : photo_columns()) {
    std::string n = c.name;
    if (n == "id") continue;
    std::string v = c.copied ? n
                    : n == "path" ? "?1" : n == "folder" ? "?2" : n == "file_size" ? "?3"
                    : n == "mtime_ns" ? "?4" : n == "indexed_at" ? "?5" : "NULL";
    names += (names.empty() ? "" : ", ") + n;
    values += (values.empty() ? "" : ", ") + v;
  }
  return "INSERT INTO photos (" + names + ") SELECT " + values + " FROM photos WHERE id = ?6";
}

const std::vector<std::string>& filter_column_names() {
  static const std::vector<std::string> names = {"id", "path", "folder", "format", "width", "height",
                                                 "capture_unix", "file_time_unix", "make", "model", "lens",
                                                 "gps_lat", "gps_lon", "rating"};
  return names;
}

const std::vector<std::string>& store_column_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n = filter_column_names();
    // capture_time: has_capture_time(); the file identity: what a reader of the collection
    // needs to tell a changed file (milvus_schema.h).
    for (const char* c : {"capture_time", "content_hash", "file_size", "mtime_ns"}) n.push_back(c);
    return n;
  }();
  return names;
}

std::string select_photo_columns_sql(const std::vector<std::string>& names, const std::string& where) {
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  return "SELECT " + list + " FROM photos WHERE " + where;
}

void read_photo_columns(const Stmt& s, const std::vector<std::string>& names, PhotoRow& row) {
  for (size_t i = 0; i < names.size(); ++i) {
    const auto& cols = photo_columns();
    auto c = std::find_if(cols.begin(), cols.end(), [&](const PhotoColumn& pc) { return names[i] == pc.name; });
    if (c == cols.end()) throw Error("no photos column \"" + names[i] + "\"", ErrorCode::Generic);
    c->read(s, static_cast<int>(i), row);
  }
}

std::string filter_table_ddl() {
  std::string ddl;
  for (const auto& name : filter_column_names()) {
    std::string type;
    for (const auto& c : photo_columns())
      if (name == c.name) type = std::string(c.ddl).substr(0, std::string(c.ddl).find(' '));
    if (name == "id") type = "INTEGER PRIMARY KEY";
    ddl += (ddl.empty() ? "" : ", ") + name + " " + type;
  }
  return "CREATE TABLE photos (" + ddl + ")";
}

// What read_metadata() gives: every column from PhotoMetadata but the file's identity.
static bool is_metadata_column(const std::string& n) {
  static const std::vector<std::string> not_metadata = {"id", "path", "folder", "file_size", "mtime_ns",
                                                        "content_hash", "thumb_path", "preview_path",
                                                        "color_hist", "phash", "embedding", "model_id",
                                                        "pooling", "precision", "indexed_at"};
  return std::find(not_metadata.begin(), not_metadata.end(), n) == not_metadata.end();
}

std::string photo_metadata_update_sql() {
  std::string sets;
  int i = 1;
  for (const auto& c : photo_columns())
    if (is_metadata_column(c.name)) sets += (sets.empty() ? "" : ", ") + std::string(c.name) + " = ?" + std::to_string(i++);
  return "UPDATE photos SET " + sets + " WHERE id = ?" + std::to_string(i);
}

void bind_photo_metadata(Stmt& s, int64_t id, const PhotoRow& row) {
  int i = 1;
  for (const auto& c : photo_columns())
    if (is_metadata_column(c.name)) c.bind(s, i++, row);
  s.bind(i, id);
}

std::string photo_record_columns() {
  std::string names;
  for (const auto& c : photo_columns())
    if (c.record) names += (names.empty() ? "" : ", ") + std::string(c.name);
  return names;
}

PhotoRecord read_photo_record(const Stmt& s, const std::string& library_dir) {
  PhotoRow row;
  int col = 0;
  for (const auto& c : photo_columns())
    if (c.record) c.read(s, col++, row);
  PhotoRecord r;
  r.id = row.id;
  r.path = row.path;
  r.folder = row.folder;
  r.meta = std::move(row.meta);
  auto absolute = [&](const std::string& rel) { return rel.empty() ? rel : library_dir + "/" + rel; };
  r.thumb_path = absolute(row.thumb_rel);
  r.preview_path = absolute(row.preview_rel);
  return r;
}

}  // namespace vf::catalog
