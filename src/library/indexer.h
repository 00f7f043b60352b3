// The state of one Library::index() run and the pieces it is made of (private to
// src/library):
//   scan.cpp           files under the roots, compared with the catalog -> a ChangeSet
//   index_changes.cpp  the metadata-only changes (moves, copies, touches, deletions), one commit
//   index_pipeline.cpp decode -> embed -> commit of the photos that need pixels
//   index_upkeep.cpp   keeping the vector stores in step with the catalog, saving them
//   indexer.cpp        the run itself: model stamp, then the steps above in order
//   estimate.cpp       Library::estimate (a sample indexed into a scratch library)
//
// Crash safety rests on one rule: the catalog is the source of truth and every change to it
// happens in a SQLite transaction that also bumps meta.generation. Thumbnails are written
// (atomically, named by content hash) before the rows that point at them are committed; the
// store files carry a stamp of the generation they reflect and are rebuilt from the catalog
// when the stamp does not match. So a kill -9 at any instant loses at most the uncommitted
// batch, and the next run skips every committed file.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "library/library_impl.h"

namespace vf::detail {

inline double now_s() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

struct FileStat {
  int64_t size = 0, mtime_ns = 0;
};

// ---- scan.cpp helpers
bool stat_file(const std::string& path, FileStat* st);
std::string normalize_path(const std::string& p);  // absolute, lexically normal, no trailing '/'
bool under_root(const std::string& path, const std::string& root);
std::string folder_of(const std::string& path);
// scan_walk.cpp: every regular, non-hidden file under the roots (a root may be a file),
// sorted, without the library directory itself, and what could not be seen. `tick` gets the
// running count every 1000 files.
struct ScanResult {
  struct Unreadable {
    std::string dir, reason;
  };
  std::vector<std::string> files;
  std::vector<Unreadable> unreadable_dirs;   // folders (roots included) that could not be listed
  std::vector<std::string> outside_links;    // symlinks leading out of every root, not followed
  std::vector<std::string> missing_roots;    // roots that do not exist
  std::vector<std::string> empty_dirs;       // folders with no entries at all (hidden ones included)
  std::vector<int64_t> files_per_root;       // in the order of the roots
};
ScanResult scan_roots(const std::vector<std::string>& roots, const std::string& library_dir, bool follow_symlinks,
                      const std::function<void(int64_t)>& tick);
// The files of shard `shard` of `shards` (shard.cpp).
std::vector<std::string> keep_shard(const std::vector<std::string>& files, const std::vector<std::string>& roots,
                                    int shard, int shards);

// A photo that needs decoding and embedding.
struct Job {
  std::string path;
  int64_t id = 0;  // existing row to replace (changed / re-embed), 0 for a new photo
  FileStat st;
  std::string hash;  // when already computed
};

// The catalog's view of the files it knows, read once at the start of a run.
struct CatalogRow {
  int64_t id = 0;
  int64_t size = 0, mtime_ns = 0;
  std::string hash;
  bool current = false;  // embedded with the run's model and pooling
  bool stale_metadata = false;  // read by an older metadata reader (catalog::kMetadataVersion)
};
struct CatalogFiles {
  std::unordered_map<std::string, CatalogRow> rows;  // by path
  std::unordered_map<std::string, std::vector<std::pair<int64_t, std::string>>> by_hash;  // hash -> (id, path)
  std::unordered_set<int64_t> known_sizes;
  std::unordered_map<std::string, FileStat> failures;  // by path
};

// What the scan found, compared with the catalog.
struct ChangeSet {
  struct Move {
    int64_t id;
    std::string new_path;
    FileStat st;
  };
  struct Copy {
    int64_t source_id;
    std::string path;
    FileStat st;
  };
  std::vector<Job> jobs;                              // decode + embed
  std::vector<Move> moves;                            // same bytes, old file gone
  std::vector<Copy> copies;                           // same bytes as a current photo
  std::vector<std::pair<int64_t, FileStat>> touch;    // same content, new mtime
  std::vector<int64_t> deletions;                     // rows whose files are gone
  std::vector<std::string> fixed_failures;            // failed before, changed since
  std::vector<std::string> gone_failures;             // failed before, file gone
  struct NotImage {
    std::string path;
    FileStat st;
    std::string reason;
  };
  std::vector<NotImage> not_images;                   // named like photos, made of something else
  std::vector<std::pair<int64_t, std::string>> reread_metadata;  // unchanged, metadata of an older reader
  bool has_metadata_changes() const {
    return !moves.empty() || !copies.empty() || !touch.empty() || !deletions.empty() ||
           !gone_failures.empty() || !fixed_failures.empty() || !not_images.empty();
  }
};

// The state of one index() run.
struct Indexer {
  LibraryImpl& lib;
  const IndexParams& params;
  const ProgressFn& progress;
  sqlite3* db;
  IndexReport report;
  Engine* engine = nullptr;
  int dim = 0;
  std::string model_id, pooling, precision;
  double t_start = now_s();

  // In-memory store maintenance between commits (index_upkeep.cpp).
  bool sem_dirty = false, color_dirty = false;
  std::vector<int64_t> pend_remove;
  std::vector<int64_t> pend_ids;
  std::vector<float> pend_vecs;
  std::vector<int64_t> pend_color_ids;
  std::vector<float> pend_color;
  double last_save = now_s();

  Indexer(LibraryImpl& l, const IndexParams& p, const ProgressFn& f) : lib(l), params(p), progress(f), db(l.wdb_.get()) {}

  void emit(const std::string& phase, int64_t total, int64_t done, double rate, double eta,
            const std::string& current = "", const std::string& message = "");
  void note(const std::string& message) { emit("scan", 0, 0, 0, 0, "", message); }

  IndexReport run();
  // indexer.cpp: opens the engine; records the model in meta (re-embedding on a change).
  std::string open_engine();  // returns the model directory used
  void stamp_model(const CatalogFiles& known, const std::string& model_dir);
  std::pair<int, int> claim_shard();  // shard.cpp
  // scan.cpp
  CatalogFiles load_catalog_files();
  ChangeSet scan_changes(const std::vector<std::string>& roots, const ScanResult& scan, const CatalogFiles& known);
  void classify_unknown(const std::string& path, const FileStat& st, const CatalogFiles& known,
                        const std::unordered_set<std::string>& seen, std::unordered_set<int64_t>& claimed, ChangeSet& c);
  // A root that is missing, unreadable or suddenly empty while the catalog holds photos under
  // it stops the run (unless params.allow_empty_root); unreadable folders are reported.
  void guard_roots(const std::vector<std::string>& roots, const ScanResult& scan, const CatalogFiles& known);
  // index_changes.cpp
  void apply_metadata_changes(const ChangeSet& changes);
  // metadata_refresh.cpp: metadata re-read (no decode, no embedding) of unchanged photos
  void refresh_metadata(const std::vector<std::pair<int64_t, std::string>>& photos);
  // index_pipeline.cpp
  void pipeline(std::vector<Job>& jobs);
  // index_upkeep.cpp
  void queue_vectors(int64_t id, const float* embedding, const float* color_hist);
  void apply_pending();
  void maybe_save(bool force);
  void finish_stores();
};

}  // namespace vf::detail
