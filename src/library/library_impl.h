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

class LibraryImpl final : public Library, public LibraryInternal {
 public:
  LibraryImpl(const std::string& dir, bool read_only);
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
