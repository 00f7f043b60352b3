// The library's remote vector store (milvus://...): which store the library uses (catalog
// meta "vector_store"), the photo fields Milvus filters on, and the resync that replaces
// FAISS's rebuild-from-catalog: compare the counts, then remove the ids the catalog no
// longer has and re-upsert the ones Milvus lacks, in batches. Upserts are by catalog id, so
// redoing one after a crash never duplicates a photo.
#include <algorithm>
#include <ctime>
#include <filesystem>

#include "catalog/photo_row.h"
#include "library/library_impl.h"

namespace vf::detail {
namespace {

constexpr size_t kResyncBatch = 1000;

std::string normalise_store_spec(const std::string& spec) { return spec == "faiss" ? "" : spec; }

}  // namespace

std::string LibraryImpl::store_spec(sqlite3* db) const {
  return store_override_.empty() ? meta_get(db, "vector_store") : normalise_store_spec(store_override_);
}

void LibraryImpl::remember_store(const std::string& spec) {
  if (spec.empty()) return;
  store::make_store(normalise_store_spec(spec), 0, "");  // validates the spec (and connects) first
  Transaction t(wdb_.get());
  meta_set(wdb_.get(), "vector_store", normalise_store_spec(spec));
  t.commit();
}

store::RemoteStoreOptions LibraryImpl::remote_options(sqlite3* db) const {
  store::RemoteStoreOptions o;
  o.lookup = [this](const std::string& field, const std::string& needle) {
    if (field != "make" && field != "model" && field != "lens") return std::vector<std::string>{};
    auto lk = lock();
    std::vector<std::string> out;
    Stmt s(rdb_.get(), "SELECT DISTINCT lower(" + field + ") FROM photos WHERE instr(lower(coalesce(" + field +
                           ", '')), ?) > 0");
    s.bind(1, needle);
    while (s.step()) out.push_back(s.col_text(0));
    return out;
  };
  o.last_write_unix = std::stoll(meta_get(db, "store_write_unix", "0"));
  o.model_identity = model_identity_json(db);
  const auto [shard, shards] = parse_shard(meta_get(db, "shard"));
  if (shards > 1) {
    o.id_lo = shard_first_id(shard);
    o.id_hi = shard_first_id(shard + 1);
  }
  return o;
}

int64_t max_allocated_id(sqlite3* db) {
  Stmt s(db, "SELECT seq FROM sqlite_sequence WHERE name = 'photos'");
  return s.step() ? s.col_int64(0) : 0;
}

namespace {

[[noreturn]] void throw_foreign_rows(const std::string& spec, int64_t foreign, bool shard_worker) {
  throw Error(spec + " holds " + std::to_string(foreign) + " photo(s) this library did not write" +
                  (shard_worker ? " in its shard's id range (another worker with the same --shard, or this "
                                  "worker's catalog was made anew)"
                                : " (shard workers' or another library's)") +
                  ": indexing into it would overwrite them and its resync would remove them, so nothing was "
                  "changed. To add photos to that collection, index as a worker of its own: a new library with "
                  "--shard I/N; to search it, make a reader: viewfinder mirror --library NEW_DIR --store " + spec +
                  " (or serve --reader --store " + spec + " --root DIR); or give this library a collection of its "
                  "own (--store milvus://HOST:PORT/NEW_NAME)",
              ErrorCode::InvalidArgument);
}

}  // namespace

void LibraryImpl::refuse_foreign_rows(sqlite3* db, const std::string& spec, const std::string& model_identity) const {
  if (!store::is_remote_store(spec) || is_reader(db)) return;
  store::RemoteStoreOptions o = remote_options(db);
  o.id_lo = std::max(o.id_lo, max_allocated_id(db) + 1);
  o.last_write_unix = static_cast<int64_t>(std::time(nullptr));  // count with Strong consistency
  if (!model_identity.empty()) o.model_identity = model_identity;
  if (o.id_lo >= o.id_hi) return;
  const int64_t foreign = store::make_store(spec, 0, "", o)->count();
  if (foreign > 0) throw_foreign_rows(spec, foreign, parse_shard(meta_get(db, "shard")).second > 1);
}

std::unique_ptr<store::VectorStore> LibraryImpl::new_semantic_store(sqlite3* db, int dim, const std::string& faiss_factory) {
  return store::make_store(store_spec(db), dim, faiss_factory, remote_options(db));
}

// The fields a remote store filters on, read through the catalog's row codec (photo_row.cpp
// owns the columns and how each is read), then handed over as the store's PhotoScalars.
std::vector<store::PhotoScalars> read_store_scalars(sqlite3* db, const std::vector<int64_t>& ids) {
  std::vector<store::PhotoScalars> out(ids.size());
  const auto& columns = catalog::store_column_names();
  Stmt s(db, catalog::select_photo_columns_sql(columns, "id = ?"));
  for (size_t i = 0; i < ids.size(); ++i) {
    s.bind(1, ids[i]);
    if (s.step()) {
      catalog::PhotoRow row;
      catalog::read_photo_columns(s, columns, row);
      const PhotoMetadata& m = row.meta;
      store::PhotoScalars& p = out[i];
      p.path = row.path;
      p.folder = row.folder;
      p.format = m.format;
      p.make = m.make;
      p.model = m.model;
      p.lens = m.lens;
      p.width = m.width;
      p.height = m.height;
      if (catalog::has_capture_time(m)) p.capture_unix = m.capture_unix;
      if (m.file_time_unix != 0) p.file_time_unix = m.file_time_unix;  // 0: NULL (no file)
      if (m.gps_lat && m.gps_lon) {
        p.gps_lat = m.gps_lat;
        p.gps_lon = m.gps_lon;
      }
      p.rating = m.rating;
      p.content_hash = m.content_hash;  // a reader tells a changed file by these
      p.file_size = m.file_size;
      p.mtime_ns = m.mtime_ns;
    }
    s.reset();
  }
  return out;
}

void LibraryImpl::upsert_from_catalog(sqlite3* db, const std::vector<int64_t>& ids) {
  if (!sem_ || ids.empty()) return;
  const int d = sem_->dim();
  Stmt q(db, "SELECT embedding FROM photos WHERE id = ?");
  for (size_t at = 0; at < ids.size(); at += kResyncBatch) {
    std::vector<int64_t> batch(ids.begin() + at, ids.begin() + std::min(ids.size(), at + kResyncBatch));
    std::vector<int64_t> have;
    std::vector<float> x;
    std::vector<float> row(d);
    for (int64_t id : batch) {
      q.bind(1, id);
      if (q.step() && !q.is_null(0)) {
        decode_embedding(q.col_blob(0), q.col_bytes(0), row.data(), d);
        have.push_back(id);
        x.insert(x.end(), row.begin(), row.end());
      }
      q.reset();
    }
    auto scalars = read_store_scalars(db, have);
    sem_->upsert(have.data(), x.data(), static_cast<int64_t>(have.size()), &scalars);
  }
}

int64_t LibraryImpl::resync_remote(sqlite3* db, const CatalogState& st) {
  if (!sem_ || sem_->dim() <= 0) return 0;
  std::vector<int64_t> catalog_ids;
  Stmt s(db, std::string("SELECT id FROM photos WHERE ") + kIndexableWhere + " ORDER BY id");
  while (s.step()) catalog_ids.push_back(s.col_int64(0));
  std::vector<int64_t> stored;
  sem_->scan(4096, [&](const int64_t* ids, const float*, int64_t n) { stored.insert(stored.end(), ids, ids + n); });
  std::sort(stored.begin(), stored.end());
  // Ids above any this library gave out were written by another (shard workers sharing the
  // collection): never remove them.
  const int64_t own_max = max_allocated_id(db);
  const auto foreign = std::upper_bound(stored.begin(), stored.end(), own_max);
  if (foreign != stored.end())
    throw_foreign_rows(sem_->describe(), stored.end() - foreign, parse_shard(meta_get(db, "shard")).second > 1);
  std::vector<int64_t> missing, extra;
  std::set_difference(catalog_ids.begin(), catalog_ids.end(), stored.begin(), stored.end(), std::back_inserter(missing));
  std::set_difference(stored.begin(), stored.end(), catalog_ids.begin(), catalog_ids.end(), std::back_inserter(extra));
  if (!extra.empty()) sem_->remove(extra);
  upsert_from_catalog(db, missing);
  (void)st;
  return static_cast<int64_t>(missing.size() + extra.size());
}

void LibraryImpl::clear_remote_semantic(sqlite3* db) {
  if (!sem_) sem_ = store::make_store(store_spec(db), 0, "", remote_options(db));
  sem_->clear();
  sem_.reset();
}

// A remote semantic store: connect (once per spec), and for a writer bring it in step with
// the catalog when the counts differ (a crash or a Milvus outage between catalog commit
// and upsert). index.faiss is not used: a stale one is removed so that it is never loaded.
void LibraryImpl::load_remote_semantic(sqlite3* db, const CatalogState& st, const std::string& spec, bool writer) {
  if (!sem_ || sem_->describe() != spec) sem_ = store::make_store(spec, st.dim, "", remote_options(db));
  // A reader library's catalog mirrors the collection (reader_mirror.cpp): the collection
  // is the source of truth there, so it is never "resynced" from that catalog.
  if (writer && !is_reader(db) && sem_->dim() > 0 && sem_->count() != st.sem_count && resync_remote(db, st) > 0) {
    Transaction t(wdb_.get());  // as after an index run: readers of the next seconds read Strong
    meta_set(wdb_.get(), "store_write_unix", std::to_string(static_cast<int64_t>(std::time(nullptr))));
    t.commit();
  }
  if (writer) {
    std::error_code ec;
    std::filesystem::remove(semantic_path(), ec);
    std::filesystem::remove(semantic_path() + ".stamp", ec);
  }
}

}  // namespace vf::detail
