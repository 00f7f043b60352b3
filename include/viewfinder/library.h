// Viewfinder public API: the photo library (SQLite catalog + FAISS index) and indexing.
//
// A library is a directory:
//   catalog.sqlite3     every photo, its metadata, features and embedding (SQLite, WAL mode)
//   index.faiss         semantic index over L2-normalised embeddings (inner product),
//                       ids equal catalog ids
//   color.faiss         colour-histogram index for hybrid search
//   thumbs/             cached grid thumbnails and previews, named by content hash
// The catalog is the source of truth; the FAISS files are rebuilt from it whenever they are
// missing or older than the catalog's last commit, so a crash can never make them disagree.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "viewfinder/engine.h"
#include "viewfinder/image.h"

namespace vf {

// $VIEWFINDER_LIBRARY, else $XDG_DATA_HOME/viewfinder/library, else
// ~/.local/share/viewfinder/library.
std::string default_library_dir();
// $VIEWFINDER_MODEL, else $XDG_DATA_HOME/viewfinder/models/dinov2-base, else
// ~/.local/share/viewfinder/models/dinov2-base.
std::string default_model_dir();

// `base` with its model-input settings (resize, crop, mean, std) taken from the model's
// preprocessor_config.json, so that every caller feeds the engine what it was trained on.
IngestParams ingest_params_for(const ModelInfo& model, IngestParams base = {});

struct PhotoRecord {
  int64_t id = 0;
  std::string path;    // absolute
  std::string folder;  // absolute parent directory
  PhotoMetadata meta;
  std::string thumb_path;    // absolute path of the cached grid thumbnail ("" if none)
  std::string preview_path;  // absolute path of the cached preview ("" if none)
};

// "I/N" (0 <= I < N <= 1024) -> {I, N}; "" -> {0, 1} (one worker). Throws vf::Error naming
// the text. The CLI's --shard and the catalog's stored shard both go through it.
std::pair<int, int> parse_shard(const std::string& text);

struct IndexParams {
  std::vector<std::string> roots;  // files or directories, recursed
  EngineParams engine;             // model dir, precision, threads
  Pooling pooling = Pooling::CLS;
  int batch_size = 8;
  int decode_threads = 0;           // 0: choose from the core count
  IngestParams ingest;
  // Previews (ingest.preview_size px) made at indexing. Off by default: the server makes one
  // from the original on first view and caches it (a 12 MP photo's preview would cost a second,
  // larger JPEG decode at indexing: most of the decode time, docs/benchmarks.md "Indexing").
  // Set, the choice is remembered by the library; unset, the remembered choice holds (so a
  // re-index from the server or `--watch` keeps what `index --previews` chose).
  std::optional<bool> make_previews;
  std::string faiss_factory;        // "" = choose by size (Flat < 100k <= IVF-Flat < 1M <= compressed)
  int commit_every = 64;            // photos per catalog transaction
  bool prune_missing = true;        // delete catalog rows whose files are gone (under the roots)
  // A root that is missing, unreadable or empty while the catalog holds photos under it stops
  // the run (an unmounted share, a chmod 000 folder); true lets such a run prune them.
  bool allow_empty_root = false;
  // Symlinks are followed when their target lies inside a root; true follows every symlink.
  bool follow_symlinks = false;
  // Several workers embedding one library into one Milvus collection: this worker takes
  // the files whose path relative to their root hashes to shard_index mod shard_count
  // (its catalog holds only those; their ids live in a range of their own).
  int shard_index = 0, shard_count = 1;  // parse_shard() reads the "I/N" form
};

struct IndexProgress {
  std::string phase;       // "scan" | "embed" | "index" | "done"
  int64_t total = 0;       // files to process in this phase
  int64_t done = 0;
  int64_t failed = 0;
  double rate = 0;         // files/s
  double eta_s = 0;
  std::string current;     // file being processed
  std::string message;     // one-off notices (e.g. "model changed: re-embedding 680 photos")
};
using ProgressFn = std::function<void(const IndexProgress&)>;

struct IndexFailure {
  std::string path;
  std::string reason;
};

// Where one index() run spent its time (seconds of wall time unless said otherwise): what
// `bench/run index` reports to show which stage stalls the engine.
struct IndexStageTimes {
  double open_engine = 0;  // model load (mmap + weight packing); 0 when already open
  double scan = 0;         // listing files, comparing with the catalog, metadata-only changes
  double pipeline = 0;     // decode -> embed -> commit, first photo to last commit
  double finish = 0;       // final vector-store build and save
  // Inside the pipeline. The decoder stages are summed over the decoder threads (thread-seconds).
  double decode = 0;        // read + hash + decode + metadata + model input + thumbnails + features
  double thumb_write = 0;   // thumbnail files written to the cache
  double embed = 0;         // engine forward passes
  double engine_wait = 0;   // the engine waiting for decoded photos (the stall this table finds)
  double commit = 0;        // catalog rows, commits, vector-store upkeep (own thread)
  double queue_mean = 0;    // decoded photos waiting when the engine took a batch
  int queue_capacity = 0;
  int decode_threads = 0;
  // CPU seconds spent during the pipeline (not inflated by other processes, unlike the wall
  // times above): the decoders' is what they take from the engine when the engine fills the
  // cores. By thread: engine = the threads that live through the pipeline other than the
  // pipeline's own and libvips' (the embedding thread and the engine's OpenMP team; in `serve`,
  // also the server's threads); commit = the commit thread; total = the process; decode = the
  // rest (decoder threads and libvips' workers: decode, resize, JPEG encode).
  double cpu_decode = 0, cpu_engine = 0, cpu_commit = 0, cpu_total = 0;
};

struct IndexReport {
  int64_t scanned = 0, added = 0, changed = 0, moved = 0, deleted = 0, unchanged = 0;
  int64_t embedded = 0, reembedded = 0, failed = 0;
  // The rest of `scanned`: files that are not photos (neither named nor made like one), and
  // files that failed before and have not changed since (skipped until they do).
  int64_t not_photos = 0, still_failing = 0;
  // Unchanged photos whose metadata was re-read (a newer metadata reader; nothing embedded).
  int64_t metadata_refreshed = 0;
  std::vector<IndexFailure> failures;
  std::vector<IndexFailure> unreadable_folders;  // listed nowhere; their entries were kept
  std::vector<std::string> outside_links;        // symlinks out of the roots, not followed
  double seconds = 0;
  double images_per_s = 0;
  IndexStageTimes stages;
};

struct LibraryInfo {
  std::string dir;
  int64_t photos = 0;
  int64_t embedded = 0;
  int64_t failed = 0;
  std::string model_id, pooling, precision;
  int dim = 0;
  std::string index_type;       // the FAISS factory string in use
  int64_t index_vectors = 0;
  int64_t catalog_bytes = 0, index_bytes = 0, thumbs_bytes = 0;
  int64_t index_memory_bytes = 0;
  std::string last_indexed;     // ISO time of the last commit
  bool reader = false;          // a reader library: its catalog mirrors a Milvus collection
};

struct EstimateReport {
  int64_t files = 0;
  int64_t bytes = 0;
  int sampled = 0;
  double images_per_s = 0;      // measured on a sample of this library with this machine
  double expected_seconds = 0;
  int64_t expected_disk_bytes = 0;  // catalog + index + thumbnails
  int64_t expected_memory_bytes = 0;
};

// A reader library: a catalog in `dir` that mirrors the Milvus collection `store`
// ("milvus://HOST:PORT/COLLECTION"), which other libraries fill (e.g. shard workers on other
// machines). It never embeds or writes to the collection; search, duplicates, clusters and
// the server work on it as on any library, with searches going to Milvus over every id.
// Each call reads every row of the collection (id, vector, path and metadata) in batches and
// makes the catalog equal to it. Image queries need the model the collection records:
// `model_dir` (checked against it), else the reader's last one, else the default model.
// Creates `dir` when needed; a directory holding a library of its own is refused.
//
// Path mapping: the workers may see the photos at another path than this machine (a share
// mounted at /mnt/nas/photos there, /srv/photos here). Each PathMapping turns a worker path
// starting with `from` (whole components) into `to` + the rest; the longest `from` wins.
// The catalog stores the mapped path (what a server opens); the collection is never written.
struct PathMapping {
  std::string from, to;
};
// Parses "FROM=TO" (split at the first '='; both absolute paths; "none" alone: no mapping)
// into mappings, normalised (no trailing '/'); throws vf::Error(InvalidArgument) saying what
// is wrong.
std::vector<PathMapping> parse_path_map(const std::vector<std::string>& specs);
struct MirrorParams {
  std::string store;      // milvus://HOST:PORT/COLLECTION
  std::string model_dir;  // "" = the reader's last one, else the default model
  // Replaces the map the reader remembers (an empty vector removes it; every row is re-mapped
  // at this sync); unset: the remembered one.
  std::optional<std::vector<PathMapping>> path_map;
  // The collection carries no pixel features, so a sync computes the colour histogram and
  // perceptual hash of each new or changed photo from its file (colour search, near
  // duplicates), reading only files that resolve inside these folders; empty: any file.
  std::vector<std::string> roots;
  // Called after each batch read: phase "sync", done = rows read, total = the collection's
  // count, rate = rows/s, eta_s; then phase "features", done = photos read of total.
  ProgressFn progress;
};
struct MirrorReport {
  int64_t photos = 0;                  // rows in the collection (= rows read)
  int64_t added = 0, changed = 0, removed = 0;  // catalog rows written / deleted by this sync
  // Photos whose colour features this sync computed, and those it could not (file missing,
  // unreadable or outside the roots: retried at the next sync).
  int64_t features = 0, features_failed = 0;
  std::string model_id;                // the model the collection records ("milvus:..." if none)
  std::vector<PathMapping> path_map;   // the mapping in effect
  double seconds = 0;
};
MirrorReport mirror_collection(const std::string& dir, const MirrorParams& params);
// One line for people and logs: "33 photos (1 added, 0 changed, 0 removed) in 0.41 s[; paths
// mapped: FROM=TO ...]".
std::string mirror_summary(const MirrorReport& report);
// True when `dir` holds a reader library.
bool is_reader_library(const std::string& dir);

class Library {
 public:
  // Opens (creating when allowed) the library in `dir`. Read-only opens never write and
  // may run while another process indexes.
  // `store` chooses where the semantic vectors live: "faiss" (files next to the catalog,
  // the default) or "milvus://HOST:PORT/COLLECTION". A writable open remembers it in the
  // catalog, so later opens need none ("" = the remembered one); switching an existing
  // library moves its vectors from the catalog's stored embeddings (no re-embedding). A
  // read-only open uses it for this open only.
  static std::unique_ptr<Library> open(const std::string& dir, bool read_only = false,
                                       const std::string& store = "");
  virtual ~Library() = default;

  virtual const std::string& dir() const = 0;

  // Incremental, crash-safe indexing (see docs/library.md). One writer at a time per library
  // (a second one gets vf::Error); any number of read-only opens alongside.
  virtual IndexReport index(const IndexParams& params, const ProgressFn& progress = {}) = 0;
  virtual EstimateReport estimate(const IndexParams& params, int sample = 16) = 0;

  virtual LibraryInfo info() const = 0;
  virtual std::optional<PhotoRecord> photo(int64_t id) const = 0;
  virtual std::optional<PhotoRecord> photo_by_path(const std::string& path) const = 0;
  // Stored embedding of a photo (L2-normalised), empty if none.
  virtual std::vector<float> embedding(int64_t id) const = 0;
  // Files that could not be read, with the reason (skipped until they change).
  virtual std::vector<IndexFailure> failures() const = 0;

  // The spec's HDF5 layout: `features` [N,D] float32, `paths` UTF-8, plus metadata datasets.
  virtual int64_t export_hdf5(const std::string& file) const = 0;
  virtual int64_t import_hdf5(const std::string& file) = 0;

  // The model directory the library was indexed with (to embed queries the same way).
  virtual std::string model_dir() const = 0;
};

}  // namespace vf
