// Library: opening, index loading/validation, and the read side of the catalog.
#include "library/library_impl.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "catalog/photo_row.h"
#include "library/library_recovery.h"
#include "store/faiss_store.h"

namespace vf {
namespace fs = std::filesystem;

std::unique_ptr<Library> Library::open(const std::string& dir, bool read_only, const std::string& store) {
  return std::make_unique<detail::LibraryImpl>(dir, read_only, store);
}

namespace detail {

const LibraryInternal& internal(const Library& library) {
  return dynamic_cast<const LibraryImpl&>(library);
}
LibraryInternal& internal(Library& library) { return dynamic_cast<LibraryImpl&>(library); }

static std::string absolute_dir(const std::string& dir) {
  std::error_code ec;
  fs::path p = fs::absolute(dir, ec);
  if (ec) return dir;
  p = p.lexically_normal();
  std::string s = p.string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

namespace {

// A new catalog is made whole in a temporary file and then linked in under its name, so that
// a crash or kill -9 while it is made leaves either no catalog or a complete one: a catalog
// file without tables is one a reader (`info`, the server) cannot open. The temp file of a
// dead writer is removed with the others (remove_stale_temp_files).
void create_catalog_file(const std::string& path) {
  std::error_code ec;
  if (fs::exists(path, ec)) return;
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  fs::remove(tmp, ec);
  {
    Db db(tmp, false);
    create_schema(db);
  }  // the last connection's close checkpoints the WAL into the file
  if (::link(tmp.c_str(), path.c_str()) != 0 && errno != EEXIST)  // EEXIST: another writer made it first
    throw Error(path + ": cannot create the catalog: " + std::strerror(errno), ErrorCode::Io);
  fs::remove(tmp, ec);
}

}  // namespace

LibraryImpl::LibraryImpl(const std::string& dir, bool read_only, const std::string& store)
    : dir_(absolute_dir(dir)), read_only_(read_only), store_override_(store) {
  std::error_code ec;
  if (read_only) {
    if (!fs::exists(catalog_path(), ec))
      throw Error(dir_ + ": no library here (run 'viewfinder index' first)", ErrorCode::NotFound);
    rdb_ = Db(catalog_path(), true);
    // A read-only connection cannot create the schema; check that it is a catalog at all.
    try {
      query_int(rdb_.get(), "SELECT count(*) FROM meta");
    } catch (const Error& e) {
      throw_unreadable_catalog(catalog_path(), e.what());
    }
    // A catalog of an older version gains its new columns once (a short writable connection).
    if (!schema_is_current(rdb_.get())) {
      try {
        Db upgrade(catalog_path(), false);
        create_schema(upgrade);
      } catch (const Error& e) {
        throw Error(catalog_path() + ": catalog of an older version that cannot be upgraded here (" + e.what() +
                        "): run 'viewfinder index' on it once with write access", ErrorCode::Corrupt);
      }
    }
  } else {
    fs::create_directories(thumbs_dir(), ec);
    if (ec) throw Error(dir_ + ": cannot create library directory: " + ec.message(), ErrorCode::Io);
    try {
      create_catalog_file(catalog_path());
      wdb_ = Db(catalog_path(), false);
      create_schema(wdb_);
    } catch (const Error& e) {
      if (!is_damaged_catalog_error(e.what())) throw;
      throw_unreadable_catalog(catalog_path(), e.what());
    }
    rdb_ = Db(catalog_path(), false);
    // A reader's store is the collection it mirrors (reader_mirror.cpp): pointing it elsewhere
    // (index --store, migrate --to) would leave a catalog that mirrors nothing.
    if (!store.empty() && is_reader(wdb_.get()) && store != meta_get(wdb_.get(), "vector_store"))
      throw Error(dir_ + " is a reader of " + meta_get(wdb_.get(), "vector_store") +
                      ": it keeps that store; make a new reader for " + store + " (viewfinder mirror)",
                  ErrorCode::InvalidArgument);
    // Before the library remembers a collection that others fill (a fresh library's first
    // index run checks once its shard is known: Indexer::run).
    if (max_allocated_id(wdb_.get()) > 0) refuse_foreign_rows(wdb_.get(), store);
    remember_store(store);
  }
  load_indexes(!read_only);
}

LibraryImpl::~LibraryImpl() = default;

nlohmann::json LibraryImpl::semantic_stamp(const CatalogState& st) const {
  return {{"generation", st.generation}, {"count", st.sem_count}, {"max_id", st.sem_max_id},
          {"dim", st.dim}, {"model_id", st.model_id}, {"pooling", st.pooling}};
}

nlohmann::json LibraryImpl::color_stamp(const CatalogState& st) const {
  return {{"generation", st.generation}, {"count", st.color_count}, {"max_id", st.color_max_id},
          {"dim", kColorDim}};
}

void LibraryImpl::rebuild_semantic(sqlite3* db, const CatalogState& st, const std::string& factory_in) {
  sem_.reset();
  if (st.sem_count == 0 || st.dim <= 0) return;
  std::vector<int64_t> ids;
  std::vector<float> x;
  ids.reserve(st.sem_count);
  x.reserve(static_cast<size_t>(st.sem_count) * st.dim);
  Stmt s(db, std::string("SELECT id, embedding FROM photos WHERE ") + kIndexableWhere + " ORDER BY id");
  std::vector<float> row(st.dim);
  while (s.step()) {
    decode_embedding(s.col_blob(1), s.col_bytes(1), row.data(), st.dim);
    ids.push_back(s.col_int64(0));
    x.insert(x.end(), row.begin(), row.end());
  }
  std::string factory = factory_in.empty() ? store::choose_factory(static_cast<int64_t>(ids.size()), st.dim) : factory_in;
  sem_ = store::FaissStore::build(factory, st.dim, x.data(), ids.data(), static_cast<int64_t>(ids.size()));
}

void LibraryImpl::rebuild_color(sqlite3* db, const CatalogState& st) {
  color_.reset();
  if (st.color_count == 0) return;
  std::vector<int64_t> ids;
  std::vector<float> x;
  Stmt s(db, "SELECT id, color_hist FROM photos WHERE color_hist IS NOT NULL ORDER BY id");
  float v[kColorDim];
  while (s.step()) {
    if (s.col_bytes(1) != kColorDim * 4) continue;
    color_index_vector(static_cast<const float*>(s.col_blob(1)), v);
    ids.push_back(s.col_int64(0));
    x.insert(x.end(), v, v + kColorDim);
  }
  color_ = store::FaissStore::build(store::choose_color_factory(static_cast<int64_t>(ids.size())), kColorDim, x.data(),
                       ids.data(), static_cast<int64_t>(ids.size()));
}

void LibraryImpl::save_indexes(const CatalogState& st) {
  std::error_code ec;
  if (remote_semantic_) {
    // Milvus persists itself (load_remote_semantic removed any index.faiss).
  } else if (sem_) {
    sem_->save(semantic_path(), semantic_stamp(st).dump());
  } else {
    fs::remove(semantic_path(), ec);
    fs::remove(semantic_path() + ".stamp", ec);
  }
  if (color_) {
    color_->save(color_path(), color_stamp(st).dump());
  } else {
    fs::remove(color_path(), ec);
    fs::remove(color_path() + ".stamp", ec);
  }
}

static bool stamp_matches(const nlohmann::json& stamp, const nlohmann::json& want,
                          const store::VectorStore* index, int64_t count, int dim) {
  if (!index || index->count() != count || index->dim() != dim) return false;
  for (auto& [k, v] : want.items())
    if (!stamp.contains(k) || stamp[k] != v) return false;
  return true;
}

bool LibraryImpl::load_indexes(bool save_rebuilt) {
  std::unique_lock<std::mutex> lk(rmu_);
  sqlite3* db = rdb_.get();
  // One read snapshot: the state we validate against is the state we rebuild from.
  Transaction snapshot(db, false);
  CatalogState st = read_state(db);
  bool rebuilt = false;

  nlohmann::json stamp;
  std::string why;
  const std::string spec = store_spec(db);
  remote_semantic_ = store::is_remote_store(spec);
  if (remote_semantic_) {
    // Milvus: no files to validate; a writer re-upserts what the collection lacks.
    if (st.dim > 0) load_remote_semantic(db, st, spec, save_rebuilt);
    else sem_.reset();
  } else if (auto sem = store::FaissStore::load(semantic_path(), &stamp, &why); st.sem_count == 0) {
    sem_.reset();
  } else if (stamp_matches(stamp, semantic_stamp(st), sem.get(), st.sem_count, st.dim)) {
    sem_ = std::move(sem);
  } else {
    rebuild_semantic(db, st, meta_get(db, "index_factory"));
    rebuilt = true;
  }
  auto col = store::FaissStore::load(color_path(), &stamp, &why);
  if (st.color_count == 0) {
    color_.reset();
  } else if (stamp_matches(stamp, color_stamp(st), col.get(), st.color_count, kColorDim)) {
    color_ = std::move(col);
  } else {
    rebuild_color(db, st);
    rebuilt = true;
  }
  snapshot.commit();
  dim_ = st.dim;
  loaded_generation_ = st.generation;
  if (rebuilt && save_rebuilt) save_indexes(st);
  return rebuilt;
}

bool LibraryImpl::refresh() {
  int64_t g;
  {
    auto lk = lock();
    g = std::stoll(meta_get(rdb_.get(), "generation", "0"));
  }
  if (g == loaded_generation_) return false;
  load_indexes(false);
  return true;
}

std::vector<float> LibraryImpl::embeddings(const std::vector<int64_t>& ids) const {
  std::vector<float> out(ids.size() * static_cast<size_t>(std::max(dim_, 0)), 0.0f);
  if (dim_ <= 0) return out;
  auto lk = lock();
  Stmt s(rdb_.get(), "SELECT embedding FROM photos WHERE id = ?");
  for (size_t i = 0; i < ids.size(); ++i) {
    s.bind(1, ids[i]);
    if (s.step() && !s.is_null(0)) decode_embedding(s.col_blob(0), s.col_bytes(0), &out[i * dim_], dim_);
    s.reset();
  }
  return out;
}

std::vector<float> LibraryImpl::color_hists(const std::vector<int64_t>& ids) const {
  std::vector<float> out(ids.size() * kColorDim, 0.0f);
  auto lk = lock();
  Stmt s(rdb_.get(), "SELECT color_hist FROM photos WHERE id = ?");
  for (size_t i = 0; i < ids.size(); ++i) {
    s.bind(1, ids[i]);
    if (s.step() && s.col_bytes(0) == kColorDim * 4)
      std::memcpy(&out[i * kColorDim], s.col_blob(0), kColorDim * 4);
    s.reset();
  }
  return out;
}

std::vector<int64_t> LibraryImpl::all_ids() const {
  auto lk = lock();
  std::vector<int64_t> ids;
  Stmt s(rdb_.get(), std::string("SELECT id FROM photos WHERE ") + kIndexableWhere + " ORDER BY id");
  while (s.step()) ids.push_back(s.col_int64(0));
  return ids;
}

void LibraryImpl::write_transaction(const std::function<void(sqlite3*)>& fn) {
  std::lock_guard<std::mutex> lk(wmu_);
  // Derived tables (clusters) may be stored from a read-only open too: they never touch
  // photos or the indexes. The write connection is opened on first use.
  if (!wdb_.get()) wdb_ = Db(catalog_path(), false);
  Transaction t(wdb_.get());
  fn(wdb_.get());
  t.commit();
}

std::optional<PhotoRecord> LibraryImpl::photo(int64_t id) const {
  auto lk = lock();
  Stmt s(rdb_.get(), "SELECT " + catalog::photo_record_columns() + " FROM photos WHERE id = ?");
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  return catalog::read_photo_record(s, dir_);
}

std::optional<PhotoRecord> LibraryImpl::photo_by_path(const std::string& path) const {
  std::error_code ec;
  std::string abs = fs::absolute(path, ec).lexically_normal().string();
  auto lk = lock();
  Stmt s(rdb_.get(), "SELECT " + catalog::photo_record_columns() + " FROM photos WHERE path = ?");
  s.bind(1, abs);
  if (!s.step()) return std::nullopt;
  return catalog::read_photo_record(s, dir_);
}

std::vector<float> LibraryImpl::embedding(int64_t id) const {
  auto lk = lock();
  Stmt s(rdb_.get(), "SELECT embedding FROM photos WHERE id = ?");
  s.bind(1, id);
  if (!s.step() || s.is_null(0) || dim_ <= 0) return {};
  std::vector<float> v(dim_);
  decode_embedding(s.col_blob(0), s.col_bytes(0), v.data(), dim_);
  return v;
}

std::vector<IndexFailure> LibraryImpl::failures() const {
  auto lk = lock();
  std::vector<IndexFailure> out;
  Stmt s(rdb_.get(), "SELECT path, reason FROM failures ORDER BY path");
  while (s.step()) out.push_back({s.col_text(0), s.col_text(1)});
  return out;
}

std::string LibraryImpl::model_dir() const {
  auto lk = lock();
  return meta_get(rdb_.get(), "model_dir");
}

static int64_t tree_bytes(const std::string& dir) {
  int64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code e2;
    if (it->is_regular_file(e2)) total += static_cast<int64_t>(it->file_size(e2));
  }
  return total;
}

static int64_t file_bytes(const std::string& path) {
  std::error_code ec;
  auto n = fs::file_size(path, ec);
  return ec ? 0 : static_cast<int64_t>(n);
}

LibraryInfo LibraryImpl::info() const {
  LibraryInfo info;
  info.dir = dir_;
  {
    auto lk = lock();
    sqlite3* db = rdb_.get();
    Transaction snapshot(db, false);
    info.photos = query_int(db, "SELECT count(*) FROM photos");
    info.embedded = query_int(db, std::string("SELECT count(*) FROM photos WHERE ") + kIndexableWhere);
    info.failed = query_int(db, "SELECT count(*) FROM failures");
    info.model_id = meta_get(db, "model_id");
    info.pooling = meta_get(db, "pooling");
    info.precision = meta_get(db, "precision");
    info.dim = std::stoi(meta_get(db, "dim", "0"));
    info.last_indexed = meta_get(db, "last_commit");
    info.reader = is_reader(db);
    snapshot.commit();
  }
  info.index_type = sem_ ? sem_->describe() : "";
  info.index_vectors = sem_ ? sem_->count() : 0;
  info.catalog_bytes = file_bytes(catalog_path()) + file_bytes(catalog_path() + "-wal");
  info.index_bytes = file_bytes(semantic_path()) + file_bytes(color_path());
  info.thumbs_bytes = tree_bytes(thumbs_dir());
  info.index_memory_bytes = (sem_ ? sem_->memory_bytes() : 0) + (color_ ? color_->memory_bytes() : 0);
  return info;
}

LibraryImpl::WriterLock::~WriterLock() { ::close(fd_); }

LibraryImpl::WriterLock LibraryImpl::acquire_writer_lock() {
  std::string path = dir_ + "/writer.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(path + ": cannot open lock file", ErrorCode::Io);
  // flock is released by the kernel when the process dies, so a kill -9 never leaves the
  // library locked.
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    throw Error(dir_ + ": another viewfinder process is indexing this library", ErrorCode::Io);
  }
  return WriterLock(fd);
}

Engine& LibraryImpl::engine_for(const EngineParams& p) {
  bool same = engine_ && engine_params_.model_dir == p.model_dir && engine_params_.precision == p.precision &&
              engine_params_.threads == p.threads && engine_params_.backend == p.backend &&
              engine_params_.legacy_interpolate_offset == p.legacy_interpolate_offset;
  if (!same) {
    engine_.reset();
    engine_ = Engine::open(p);
    engine_params_ = p;
  }
  return *engine_;
}

}  // namespace detail
}  // namespace vf
