// The one implementation of vf::Library and vf::detail::LibraryInternal.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <mutex>
#include <string>

#include "catalog/catalog_reader.h"
#include "catalog/schema.h"
#include "catalog/sqlite.h"
#include "library/library_access.h"
#include "store/vector_store.h"

namespace vf::detail {

// Shard workers: catalog meta "shard" = "I/N" ("" = one worker); worker I's photo ids start
// at shard_first_id(I) (2^40 ids each), so that several catalogs never share an id in the
// one Milvus collection they fill.
using vf::parse_shard;  // public (viewfinder/library.h): "I/N" -> {I, N}, {0, 1} for ""
inline int64_t shard_first_id(int shard) { return (int64_t(shard) << 40) + 1; }

// The photo fields a remote store filters on, read from the catalog (store_sync.cpp).
std::vector<store::PhotoScalars> read_store_scalars(sqlite3* db, const std::vector<int64_t>& ids);

// A reader library (reader_mirror.cpp; meta "reader" = "1") mirrors a Milvus collection: it
// never indexes, imports or resyncs the collection from its catalog.
bool is_reader(sqlite3* db);
// A reader sync's progress: phase "sync" (rows read of the collection) or "features".
void report_sync_progress(const ProgressFn& progress, const char* phase, int64_t done, int64_t total, double seconds);
// The model the catalog's vectors come from, as a remote store records it (JSON; "" when unknown).
std::string model_identity_json(sqlite3* db);
// shards: how many workers split the photos (1: a library without --shard; 0: not said, as
// by a reader, which writes nothing). A collection
// records it when created and refuses writers that split them otherwise (milvus_store.cpp).
std::string model_identity_json(const std::string& model_id, const std::string& pooling, int dim, int shards);
// A reader's path mapping (path_map.cpp): a worker's path as this machine sees it, and the
// map as the catalog meta "path_map" keeps it ("" = none).
std::string map_path(const std::vector<PathMapping>& map, const std::string& path);
std::string path_map_json(const std::vector<PathMapping>& map);
std::vector<PathMapping> path_map_from_json(const std::string& text);
// The highest photo id this catalog ever gave out (SQLite's AUTOINCREMENT counter): a
// library writes only ids up to it into its store, so a larger one there is another's.
int64_t max_allocated_id(sqlite3* db);

class LibraryImpl final : public Library, public LibraryInternal {
 public:
  LibraryImpl(const std::string& dir, bool read_only, const std::string& store = "");
  ~LibraryImpl() override;

  // ---- Library
  const std::string& dir() const override { return dir_; }
  IndexReport index(const IndexParams& params, const ProgressFn& progress) override;
  EstimateReport estimate(const IndexParams& params, int sample) override;
  LibraryInfo info() const override;
  std::optional<PhotoRecord> photo(int64_t id) const override;
  std::optional<PhotoRecord> photo_by_path(const std::string& path) const override;
  std::vector<float> embedding(int64_t id) const override;
  std::vector<IndexFailure> failures() const override;
  int64_t export_hdf5(const std::string& file) const override;
  int64_t import_hdf5(const std::string& file) override;
  std::string model_dir() const override;

  // ---- LibraryInternal
  const catalog::CatalogReader& catalog() const override { return catalog_reader_; }
  const store::VectorStore* semantic_store() const override { return sem_.get(); }
  const store::VectorStore* color_store() const override { return color_.get(); }
  int dim() const override { return dim_; }
  std::vector<float> embeddings(const std::vector<int64_t>& ids) const override;
  std::vector<float> color_hists(const std::vector<int64_t>& ids) const override;
  std::vector<int64_t> all_ids() const override;
  bool refresh() override;

  // Paths inside the library directory.
  std::string catalog_path() const { return dir_ + "/catalog.sqlite3"; }
  std::string semantic_path() const { return dir_ + "/index.faiss"; }
  std::string color_path() const { return dir_ + "/color.faiss"; }
  std::string thumbs_dir() const { return dir_ + "/thumbs"; }

  // ---- the semantic store's kind (store_sync.cpp)
  // "" (FAISS files next to the catalog) or "milvus://host:port/collection": the --store
  // given to this open, else the one the catalog remembers (meta "vector_store").
  std::string store_spec(sqlite3* db) const;
  bool semantic_is_remote() const { return remote_semantic_; }  // as of the last load_indexes
  // An empty semantic store of the library's kind.
  std::unique_ptr<store::VectorStore> new_semantic_store(sqlite3* db, int dim, const std::string& faiss_factory);
  // Upserts the catalog's embeddings and filter fields of `ids` into the semantic store, in batches.
  void upsert_from_catalog(sqlite3* db, const std::vector<int64_t>& ids);

  // ---- a reader library (reader_mirror.cpp)
  // Makes the catalog equal to the collection (writable opens only).
  MirrorReport mirror(const MirrorParams& params);
  // The colour histogram and perceptual hash of every photo that has none and that the
  // collection still holds (`kept`, sorted ids), from its file (reader_features.cpp); counts
  // into report.features / features_failed.
  void compute_reader_features(sqlite3* db, const MirrorParams& params, const std::string& model_dir,
                               const std::vector<int64_t>& kept, MirrorReport& report);
  // A writer of the remote store `spec`: throws, before anything is written, when the
  // collection holds photos in this library's id range that it never wrote (shard workers'
  // or another library's), which its indexing would overwrite and its resync remove. The
  // collection's model is checked first (`model_identity`, else the catalog's), so that a
  // worker with another model hears that.
  void refuse_foreign_rows(sqlite3* db, const std::string& spec, const std::string& model_identity = "") const;

 private:
  friend struct Indexer;
  // Loads index.faiss / color.faiss when their stamps match the catalog, else rebuilds them
  // from the catalog's embeddings (and, for a writer, saves them). Returns true if anything
  // was rebuilt.
  bool load_indexes(bool save_rebuilt);
  // Builds both indexes from the catalog in one read snapshot of the write connection.
  void rebuild_semantic(sqlite3* db, const CatalogState& st, const std::string& factory);
  void rebuild_color(sqlite3* db, const CatalogState& st);
  void save_indexes(const CatalogState& st);
  nlohmann::json semantic_stamp(const CatalogState& st) const;
  nlohmann::json color_stamp(const CatalogState& st) const;
  Engine& engine_for(const EngineParams& p);
  // Writers: validate `spec` and store it in the catalog meta (later opens need no flag).
  void remember_store(const std::string& spec);
  store::RemoteStoreOptions remote_options(sqlite3* db) const;
  void load_remote_semantic(sqlite3* db, const CatalogState& st, const std::string& spec, bool writer);
  // Removes from / re-upserts into the remote store what differs from the catalog; returns
  // how many ids it fixed.
  int64_t resync_remote(sqlite3* db, const CatalogState& st);
  // The model changed: the remote store drops the previous model's vectors (as FAISS starts
  // an empty index), before the new model is recorded; throws, changing nothing, when the
  // collection also holds other shard workers' vectors.
  void clear_remote_semantic(sqlite3* db);
  std::string reader_model_dir(sqlite3* db, const std::string& given, const std::string& collection_model);
  std::unique_lock<std::mutex> lock() const { return std::unique_lock<std::mutex>(rmu_); }
  // Runs `fn` in a transaction on the write connection (opened on first use: derived
  // tables such as clusters are written from read-only opens too).
  void write_transaction(const std::function<void(sqlite3*)>& fn);
  // The inter-process writer lock (flock on writer.lock), released when the object dies.
  class WriterLock {
   public:
    explicit WriterLock(int fd) : fd_(fd) {}
    WriterLock(const WriterLock&) = delete;
    WriterLock& operator=(const WriterLock&) = delete;
    ~WriterLock();

   private:
    int fd_;
  };
  WriterLock acquire_writer_lock();

  std::string dir_;
  bool read_only_;
  std::string store_override_;  // --store of this open ("" = the remembered one)
  bool remote_semantic_ = false;
  Db rdb_;  // read connection, guarded by rmu_
  mutable std::mutex rmu_;
  Db wdb_;  // write connection (writers only, and lazily for write_transaction)
  std::mutex wmu_;
  std::unique_ptr<store::VectorStore> sem_, color_;
  int dim_ = 0;
  int64_t loaded_generation_ = -1;
  std::unique_ptr<Engine> engine_;
  EngineParams engine_params_;
  catalog::CatalogReader catalog_reader_{rdb_, rmu_, [this](const std::function<void(sqlite3*)>& fn) {
    write_transaction(fn);
  }};
};

}  // namespace vf::detail
