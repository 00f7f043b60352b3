// The library's remote vector store (milvus://...): which store the library uses (catalog
// meta "vector_store"), the photo fields Milvus filters on, and the resync that replaces
// FAISS's rebuild-from-catalog: compare the counts, then remove the ids the catalog no
// longer has and re-upsert the ones Milvus lacks, in batches. Upserts are by catalog id, so
// redoing one after a crash never duplicates a photo.
#include <algorithm>
#include <ctime>
#include <filesystem>

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
  const auto [shard, shards] = parse_shard(meta_get(db, "shard"));
  if (shards > 1) {
    o.id_lo = shard_first_id(shard);
    o.id_hi = shard_first_id(shard + 1);
  }
  return o;
}

std::unique_ptr<store::VectorStore> LibraryImpl::new_semantic_store(sqlite3* db, int dim, const std::string& faiss_factory) {
  return store::make_store(store_spec(db), dim, faiss_factory, remote_options(db));
}

std::vector<store::PhotoScalars> read_store_scalars(sqlite3* db, const std::vector<int64_t>& ids) {
  std::vector<store::PhotoScalars> out(ids.size());
  Stmt s(db, "SELECT path, folder, format, make, model, lens, width, height, capture_unix, gps_lat, gps_lon, rating "
             "FROM photos WHERE id = ?");
  for (size_t i = 0; i < ids.size(); ++i) {
    s.bind(1, ids[i]);
    if (s.step()) {
      store::PhotoScalars& p = out[i];
      p.path = s.col_text(0);
      p.folder = s.col_text(1);
      p.format = s.col_text(2);
      p.make = s.col_text(3);
      p.model = s.col_text(4);
      p.lens = s.col_text(5);
      p.width = static_cast<int>(s.col_int64(6));
      p.height = static_cast<int>(s.col_int64(7));
      if (!s.is_null(8)) p.capture_unix = s.col_int64(8);
      if (!s.is_null(9) && !s.is_null(10)) {
        p.gps_lat = s.col_double(9);
        p.gps_lon = s.col_double(10);
      }
      if (!s.is_null(11)) p.rating = static_cast<int>(s.col_int64(11));
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
  std::vector<int64_t> missing, extra;
  std::set_difference(catalog_ids.begin(), catalog_ids.end(), stored.begin(), stored.end(), std::back_inserter(missing));
  std::set_difference(stored.begin(), stored.end(), catalog_ids.begin(), catalog_ids.end(), std::back_inserter(extra));
  if (!extra.empty()) sem_->remove(extra);
  upsert_from_catalog(db, missing);
  (void)st;
  return static_cast<int64_t>(missing.size() + extra.size());
}

// A remote semantic store: connect (once per spec), and for a writer bring it in step with
// the catalog when the counts differ (a crash or a Milvus outage between catalog commit
// and upsert). index.faiss is not used: a stale one is removed so that it is never loaded.
void LibraryImpl::load_remote_semantic(sqlite3* db, const CatalogState& st, const std::string& spec, bool writer) {
  if (!sem_ || sem_->describe() != spec) sem_ = store::make_store(spec, st.dim, "", remote_options(db));
  if (writer && sem_->dim() > 0 && sem_->count() != st.sem_count && resync_remote(db, st) > 0) {
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
