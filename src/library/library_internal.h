// Internal access to an open Library for the search stage (src/search). Not public API.
//
// The catalog schema below is a contract between src/library (which writes it) and
// src/search (which reads it for filters, duplicates, clusters and evaluation). Column names
// here must not change without updating both.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "viewfinder/library.h"

namespace faiss {
struct Index;
}

namespace vf::detail {

// CREATE TABLE photos (
//   id INTEGER PRIMARY KEY,            -- = FAISS id in index.faiss and color.faiss
//   path TEXT NOT NULL UNIQUE,         -- absolute
//   folder TEXT NOT NULL,              -- absolute parent directory
//   format TEXT, mime TEXT,
//   file_size INTEGER, mtime_ns INTEGER, content_hash TEXT,
//   stored_width INTEGER, stored_height INTEGER,
//   width INTEGER, height INTEGER,     -- after orientation
//   orientation INTEGER,
//   capture_time TEXT, capture_offset TEXT, capture_time_source TEXT,
//   capture_unix INTEGER,              -- NULL when unknown
//   make TEXT, model TEXT, lens TEXT,
//   focal_length REAL, aperture REAL, exposure REAL, iso INTEGER,
//   gps_lat REAL, gps_lon REAL, gps_alt REAL,
//   rating INTEGER,
//   keywords TEXT,                     -- JSON array of strings
//   thumb_path TEXT, preview_path TEXT,
//   color_hist BLOB,                   -- 512 float32, L1-normalised
//   phash INTEGER,                     -- 64-bit, stored as signed
//   embedding BLOB,                    -- dim float16 (L2-normalised before rounding)
//   model_id TEXT, pooling TEXT, precision TEXT,
//   indexed_at TEXT
// );
// CREATE TABLE failures (path TEXT PRIMARY KEY, reason TEXT, mtime_ns INTEGER, file_size INTEGER);
// CREATE TABLE clusters (run INTEGER, cluster INTEGER, label TEXT, size INTEGER,
//                        representatives TEXT /* JSON ids */, PRIMARY KEY(run, cluster));
// CREATE TABLE cluster_members (run INTEGER, photo_id INTEGER, cluster INTEGER, distance REAL);
// CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);   -- model_id, pooling, dim, ...

// Everything src/search needs beyond the public Library interface.
class LibraryInternal {
 public:
  virtual ~LibraryInternal() = default;

  // A read connection to the catalog. Callers hold `lock()` while using it.
  virtual sqlite3* db() const = 0;
  virtual std::unique_lock<std::mutex> lock() const = 0;

  // The semantic (inner product over L2-normalised embeddings) and colour indexes, loaded
  // in memory and consistent with the catalog as of the last commit. May be null when the
  // library is empty. Ids are catalog ids.
  // color.faiss holds sqrt(h) for each L1-normalised 512-bin histogram h (unit L2 norm), so
  // querying it with sqrt(q) gives inner product = Bhattacharyya coefficient in [0, 1]; use
  // color_index_query() to build the query vector. Re-rank candidates with color_hists().
  virtual const faiss::Index* semantic_index() const = 0;
  virtual const faiss::Index* color_index() const = 0;
  virtual int dim() const = 0;

  // Decoded stored embedding / colour histogram for a set of ids (rows of dim / 512 floats,
  // in the order of `ids`; missing ids give zero rows).
  virtual std::vector<float> embeddings(const std::vector<int64_t>& ids) const = 0;
  virtual std::vector<float> color_hists(const std::vector<int64_t>& ids) const = 0;

  // All ids with an embedding, ascending.
  virtual std::vector<int64_t> all_ids() const = 0;

  // A write connection for derived tables (clusters). Runs `fn` inside a transaction.
  virtual void write_transaction(const std::function<void(sqlite3*)>& fn) = 0;

  // For long-lived readers (the server): if another process committed since the indexes
  // were loaded, reloads them (from the stamped files, or rebuilt from the catalog). Returns
  // true when they changed. Pointers from semantic_index()/color_index() are invalidated, so
  // call it only while no search is running.
  virtual bool refresh() = 0;
};

// The colour-index query vector for an L1-normalised 512-bin histogram (element-wise sqrt).
std::vector<float> color_index_query(const float* hist512);

// The internal view of a Library opened by vf::Library::open.
const LibraryInternal& internal(const Library& library);
LibraryInternal& internal(Library& library);

}  // namespace vf::detail
