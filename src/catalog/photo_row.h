// The photo row: the one definition of the photos table's columns and the codec that writes
// and reads them. Adding a column is one entry in kPhotoColumns (photo_row.cpp) plus its
// field here: the DDL, the INSERT/UPSERT, the copy-of-a-photo INSERT and the record SELECT
// are all generated from that table.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "catalog/sqlite.h"
#include "viewfinder/library.h"

namespace vf::catalog {

using detail::Stmt;

// Everything one row of `photos` holds.
struct PhotoRow {
  int64_t id = 0;  // 0: a new photo (the INSERT assigns the id)
  std::string path, folder;  // absolute
  PhotoMetadata meta;        // file_size / mtime_ns included
  std::string thumb_rel, preview_rel;  // relative to the library directory; empty: none
  std::vector<float> color_hist;       // 512 float32, L1-normalised; empty: NULL
  bool has_phash = false;
  uint64_t phash = 0;
  std::vector<uint16_t> embedding;  // dim float16; empty: NULL
  std::string model_id, pooling, precision, indexed_at;
};

// How a column travels in the HDF5 export/import (src/library/hdf5_io.cpp): one dataset of
// N values. Text: UTF-8 strings, "" = NULL. Int64: 0 = unknown (NULL). Int32: stored as is.
// Real: float64, NaN = NULL.
enum class Hdf5Kind { None, Text, Int64, Int32, Real };

// How one column is stored: its DDL type, how a PhotoRow binds it and reads it back.
struct PhotoColumn {
  const char* name;
  const char* ddl;  // type and constraints
  void (*bind)(Stmt& s, int index, const PhotoRow& row);
  void (*read)(const Stmt& s, int col, PhotoRow& row);
  bool record;   // part of the public PhotoRecord (read by photo lookups)
  bool copied;   // a copy of a photo (same content, new path) takes this column from its source
  Hdf5Kind hdf5 = Hdf5Kind::None;  // exported to HDF5 (and read back by the import)
  const char* hdf5_name = nullptr;  // the dataset's name when it is not the column's
};

// The exported columns, in table order, and each one's dataset name.
std::vector<const PhotoColumn*> hdf5_columns();
inline std::string hdf5_dataset_name(const PhotoColumn& c) { return c.hdf5_name ? c.hdf5_name : c.name; }

const std::vector<PhotoColumn>& photo_columns();

// "CREATE TABLE IF NOT EXISTS photos (...)" from the column table.
std::string photos_table_ddl();
// "INSERT OR REPLACE INTO photos (all columns) VALUES (?, ...)": bind with bind_photo_row.
std::string photo_upsert_sql();
void bind_photo_row(Stmt& s, const PhotoRow& row);
// Inserts a copy of photo ?6 under path ?1, folder ?2, file_size ?3, mtime_ns ?4 and
// indexed_at ?5; every other column comes from the source row.
std::string photo_copy_sql();
// The version of the metadata a row was read with. Bumped when the reader changes what it
// gives for the same file (2: file time split from capture time, lens from maker notes,
// null-island GPS, HEIC orientation); rows of an older version are re-read once, without
// re-embedding, by the next index run over their folder.
constexpr int kMetadataVersion = 2;
// "UPDATE photos SET <metadata columns> = ... WHERE id = ?": bind with bind_photo_metadata.
std::string photo_metadata_update_sql();
void bind_photo_metadata(Stmt& s, int64_t id, const PhotoRow& row);

// The columns vf::Filters may test (build_filter_sql reads only these): FilterIndex keeps an
// in-memory copy of them, a remote vector store receives them with each vector.
const std::vector<std::string>& filter_column_names();
// "CREATE TABLE photos (...)" with only the filter columns (same names and types).
std::string filter_table_ddl();

// The columns a remote vector store receives with each vector: the filter columns, plus
// capture_time (has_capture_time) and the file identity (content_hash, file_size, mtime_ns)
// that a reader of the collection uses to tell a changed file.
const std::vector<std::string>& store_column_names();
// "SELECT <names> FROM photos WHERE <where>", and the reader of a row selected with it: each
// column read by its own entry of the column table.
std::string select_photo_columns_sql(const std::vector<std::string>& names, const std::string& where);
void read_photo_columns(const Stmt& s, const std::vector<std::string>& names, PhotoRow& row);
// Whether the photo has a capture time (its capture_unix is not NULL in the catalog; 0 alone
// is a valid instant). The rule the capture_unix column is written by.
bool has_capture_time(const PhotoMetadata& meta);

// "id, path, ..." of the record columns, and the reader for a row selected with them.
std::string photo_record_columns();
PhotoRecord read_photo_record(const Stmt& s, const std::string& library_dir);

}  // namespace vf::catalog
