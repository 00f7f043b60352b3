// The typed view of an open catalog that src/search (and the server through it) uses: every
// query search needs, by what it returns, so no SQL or sqlite3* leaves src/catalog.
//
// A CatalogReader borrows the library's read connection and its mutex (each call holds the
// mutex for its duration) and, for the derived cluster tables, a function that runs a write
// transaction. It is cheap to construct and never outlives the Library that made it.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "catalog/sqlite.h"
#include "viewfinder/search.h"

namespace vf::catalog {

// What duplicate detection needs of each candidate photo.
struct DuplicateRow {
  int64_t id = 0;
  std::string path, content_hash, format;
  bool has_phash = false;
  uint64_t phash = 0;
  int width = 0, height = 0;
  int64_t capture_unix = 0;  // 0: unknown
  int64_t file_size = 0;
  std::string make, model, folder;
  std::string preview_rel;    // the stored preview, relative to the library directory
  int metadata_fields = 0;    // EXIF fields present (+ GPS, rating, keywords): the keeper's rule 5
  std::optional<double> exposure_s;
};

// What cluster labels are made from.
struct LabelRow {
  int64_t id = 0;
  int64_t capture_unix = 0;  // 0 when unknown or only the file's mtime
  std::string make, model, lens, keywords_json;
  std::optional<double> gps_lat, gps_lon;
  std::vector<float> color_hist;  // 512 bins, empty when none
};

// One clustering run as stored (clusters + cluster_members + meta.clusters_quality).
struct ClusterRunToStore {
  ClusterResult* result = nullptr;  // the names carried over from the last run are set in it
  const std::vector<int64_t>* ids = nullptr;       // the photos clustered
  const std::vector<int>* assignment = nullptr;    // cluster of each photo
  const std::vector<float>* similarity = nullptr;  // to its centroid
};

class CatalogReader {
 public:
  using WriteFn = std::function<void(const std::function<void(sqlite3*)>&)>;
  CatalogReader(const detail::Db& db, std::mutex& mutex, WriteFn write)
      : db_(db), mutex_(mutex), write_(std::move(write)) {}

  // meta.generation: changes with every commit to photos.
  std::string generation() const;
  // (id, path) of every photo in the indexes.
  std::vector<std::pair<int64_t, std::string>> indexable_paths() const;
  // Photos passing `filters` (among the indexed ones), ascending id.
  std::vector<DuplicateRow> duplicate_rows(const Filters& filters) const;
  // Label metadata of the indexed photos.
  std::vector<LabelRow> label_rows() const;
  // Copies the filterable columns of the indexed photos into `into` (FilterIndex).
  void copy_filterable(sqlite3* into) const;

  // ---- the cluster store (derived tables; written from read-only opens too)
  // Replaces the stored run by this one (each user-given name of the last run goes to the new
  // cluster holding most of its photos, if at least half); returns its run number.
  int64_t store_clusters(const ClusterRunToStore& run) const;
  std::optional<ClusterResult> stored_clusters() const;
  std::vector<int64_t> stored_cluster_members(int cluster, int limit, int offset) const;
  // Sets (or, with "", clears) the user's name of a cluster of the stored run; false when the
  // stored run has no such cluster.
  bool rename_cluster(int cluster, const std::string& name) const;

 private:
  const detail::Db& db_;
  std::mutex& mutex_;
  WriteFn write_;
};

// The ids passing a filter, answered from an in-memory copy of the catalog's filterable
// columns that is refreshed whenever the catalog's generation changes. The catalog rows carry
// the embedding and histogram blobs (~3 KB each), so scanning them costs ~1 s per 100k
// photos; the copy holds ~200 bytes a photo and answers the same WHERE clause in ms.
class FilterIndex {
 public:
  explicit FilterIndex(const CatalogReader& catalog) : catalog_(catalog) {}
  ~FilterIndex();
  FilterIndex(const FilterIndex&) = delete;
  FilterIndex& operator=(const FilterIndex&) = delete;

  // Sorted ids of the indexed photos passing `filters`.
  std::vector<int64_t> ids(const Filters& filters);
  // Filters alone: newest first, photos without a capture time last; `matched` = all matches.
  std::vector<int64_t> list(const Filters& filters, int k, int offset, int64_t& matched);

 private:
  void refresh();  // call with mutex_ held

  const CatalogReader& catalog_;
  std::mutex mutex_;
  sqlite3* db_ = nullptr;
  std::string generation_;
  // The last filter's matching ids: paging through results, or "more like this" inside the
  // same filters, repeats a filter many times.
  std::string last_key_;
  std::vector<int64_t> last_ids_;
};

}  // namespace vf::catalog
