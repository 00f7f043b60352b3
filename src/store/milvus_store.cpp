// MilvusStore: VectorStore over the Milvus gRPC client (milvus_store.h says what each call
// guarantees). Compiled only with VF_MILVUS (vf_store then links vf_milvus).
#ifdef VF_HAVE_MILVUS
#include "store/milvus_store.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <limits>

#include "store/milvus/milvus_client.h"
#include "store/milvus/milvus_expr.h"
#include "viewfinder/error.h"

namespace vf::store {
namespace {

constexpr int kMaxTopK = 16384;            // Milvus's search/query window
constexpr size_t kMaxIdListFilter = 4096;  // allowed ids sent as `id in [...]` at most

std::string clip(const std::string& s, size_t max_bytes) { return s.size() <= max_bytes ? s : s.substr(0, max_bytes); }

milvus::PhotoFields to_fields(const PhotoScalars& p) {
  milvus::PhotoFields f;
  f.path = p.path;
  f.folder = p.folder.empty() ? std::filesystem::path(p.path).parent_path().string() : p.folder;
  f.format = clip(p.format, milvus::kMaxTextBytes);
  f.make = clip(p.make, milvus::kMaxTextBytes);
  f.model = clip(p.model, milvus::kMaxTextBytes);
  f.lens = clip(p.lens, milvus::kMaxTextBytes);
  f.width = p.width;
  f.height = p.height;
  f.has_capture = p.capture_unix.has_value();
  f.capture_unix = p.capture_unix.value_or(0);
  f.has_rating = p.rating.has_value();
  f.rating = p.rating.value_or(0);
  f.has_gps = p.gps_lat.has_value() && p.gps_lon.has_value();
  f.gps_lat = p.gps_lat.value_or(0);
  f.gps_lon = p.gps_lon.value_or(0);
  return f;
}

class MilvusStore final : public VectorStore {
 public:
  MilvusStore(std::string spec, MilvusAddress where, int dim, RemoteStoreOptions remote)
      : spec_(std::move(spec)), where_(std::move(where)), lookup_(std::move(remote.lookup)),
        id_lo_(remote.id_lo), id_hi_(remote.id_hi) {
    // Bounded staleness in Milvus 2.3 is 5 s (common.gracefulTime): within twice that of the
    // library's last write, searches wait for it (Strong).
    const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count();
    recent_write_ = remote.last_write_unix > 0 && now - remote.last_write_unix < 10;
    milvus::ClientOptions options;
    options.address = where_.address;
    // A server that just restarted answers its first reads only once its segments are
    // loaded again: minutes on a busy machine. A server that is down fails at once.
    options.call_timeout_ms = 120000;
    try {
      client_ = std::make_unique<milvus::Client>(options);
    } catch (const Error& e) {
      throw Error("vector store " + spec_ + ": " + e.what(), e.code());
    }
    if (client_->has_collection(where_.collection)) {
      dim_ = client_->collection_dim(where_.collection);
      if (dim > 0 && dim_ != dim)
        throw Error(spec_ + ": the collection holds vectors of " + std::to_string(dim_) + " floats, the library's model gives " +
                        std::to_string(dim) + " (drop it or choose another collection)",
                    ErrorCode::InvalidArgument);
      client_->load(where_.collection);  // a no-op when loaded; needed after a server restart
    } else if (dim > 0) {
      client_->create_collection(where_.collection, dim);
      client_->create_index(where_.collection, milvus::IndexSpec{});
      client_->load(where_.collection);
      dim_ = dim;
    }
  }

  std::string kind() const override { return "milvus"; }
  std::string describe() const override { return spec_; }
  int dim() const override { return dim_; }
  int64_t count() const override {
    if (dim_ <= 0) return 0;
    // The searcher asks for the count on every query: same consistency as search, so an
    // interactive search does not wait for Milvus's time tick (Strong costs ~200-400 ms).
    return client_->count_where(where_.collection, range_expr(id_lo_, id_hi_), read_consistency());
  }
  int64_t memory_bytes() const override { return 0; }

  void upsert(const int64_t* ids, const float* vectors, int64_t n, const std::vector<PhotoScalars>* scalars) override {
    if (n <= 0) return;
    if (dim_ <= 0)
      throw Error(spec_ + ": the collection does not exist and no dimension is known yet", ErrorCode::InvalidArgument);
    std::vector<milvus::PhotoRow> rows(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      rows[i].id = ids[i];
      rows[i].vector.assign(vectors + i * dim_, vectors + (i + 1) * dim_);
      if (scalars) rows[i].fields = to_fields((*scalars)[i]);
    }
    client_->upsert(where_.collection, rows);
    wrote_ = true;
  }

  bool remove(const std::vector<int64_t>& ids) override {
    if (ids.empty() || dim_ <= 0) return true;
    client_->remove(where_.collection, ids);
    wrote_ = true;
    return true;
  }

  std::optional<NeighborLists> search(const float* queries, int nq, int k, const SearchFilter& filter) const override {
    std::string expr;
    if (filter.filters) {
      try {
        expr = milvus::filters_to_expr(*filter.filters, lookup_);
      } catch (const Error&) {
        return std::nullopt;  // not expressible in Milvus 2.3 (e.g. '%' in a path prefix)
      }
    } else if (filter.allowed_ids) {
      if (filter.allowed_ids->size() > kMaxIdListFilter) return std::nullopt;
      expr = id_list_expr(*filter.allowed_ids);
    }
    if (id_lo_ > 0) {  // a shard worker's library knows only its own ids
      const std::string own = range_expr(id_lo_, id_hi_);
      expr = expr.empty() ? own : "(" + expr + ") && " + own;
    }
    NeighborLists out(static_cast<size_t>(std::max(nq, 0)));
    if (dim_ <= 0 || k <= 0) return out;
    milvus::SearchRequest req;
    req.k = std::min(k, kMaxTopK);
    req.expr = expr;
    req.consistency = read_consistency();
    for (int q = 0; q < nq; ++q) {
      req.query.assign(queries + static_cast<size_t>(q) * dim_, queries + static_cast<size_t>(q + 1) * dim_);
      for (const auto& hit : client_->search(where_.collection, req)) out[q].push_back({hit.id, hit.score});
    }
    return out;
  }

  void scan(int64_t batch, const BatchFn& fn) const override {
    if (dim_ <= 0) return;
    batch = std::clamp<int64_t>(batch, 1, kMaxTopK);
    scan_range(id_lo_, id_hi_, batch, fn);
  }

  bool save(const std::string&, const std::string&) const override { return false; }

 private:
  milvus::Consistency read_consistency() const {
    return wrote_ ? milvus::Consistency::Session
           : recent_write_ ? milvus::Consistency::Strong
                           : milvus::Consistency::Bounded;
  }
  static std::string range_expr(int64_t lo, int64_t hi) {
    return std::string(milvus::kIdField) + " >= " + std::to_string(lo) + " && " + milvus::kIdField + " < " +
           std::to_string(hi);
  }
  static std::string id_list_expr(const std::vector<int64_t>& ids) {
    std::string e = std::string(milvus::kIdField) + " in [";
    for (size_t i = 0; i < ids.size(); ++i) e += (i ? "," : "") + std::to_string(ids[i]);
    return e + "]";
  }

  // Milvus 2.3 returns a limited query's rows in no defined order, so the id space is split
  // in halves until each part holds at most `batch` rows (counted inside Milvus).
  void scan_range(int64_t lo, int64_t hi, int64_t batch, const BatchFn& fn) const {
    const std::string expr = range_expr(lo, hi);
    const int64_t n = client_->count_where(where_.collection, expr, milvus::Consistency::Strong);
    if (n == 0) return;
    if (n > batch && hi - lo > 1) {
      const int64_t mid = lo + (hi - lo) / 2;
      scan_range(lo, mid, batch, fn);
      scan_range(mid, hi, batch, fn);
      return;
    }
    auto rows = client_->query(where_.collection, expr, {milvus::kVectorField}, n, milvus::Consistency::Strong);
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    std::vector<int64_t> ids;
    std::vector<float> x;
    ids.reserve(rows.size());
    x.reserve(rows.size() * dim_);
    for (const auto& r : rows) {
      if (static_cast<int>(r.vector.size()) != dim_) continue;
      ids.push_back(r.id);
      x.insert(x.end(), r.vector.begin(), r.vector.end());
    }
    fn(ids.data(), x.data(), static_cast<int64_t>(ids.size()));
  }

  std::string spec_;
  MilvusAddress where_;
  TextValueLookup lookup_;
  int64_t id_lo_, id_hi_;  // the ids count() and scan() see (a shard worker's own)
  std::unique_ptr<milvus::Client> client_;  // gRPC stubs are thread-safe: const calls share it
  int dim_ = 0;
  bool wrote_ = false;         // this process wrote: Session reads see it
  bool recent_write_ = false;  // the library wrote within the last 10 s: Strong reads
};

}  // namespace

MilvusAddress parse_milvus_spec(const std::string& spec) {
  const std::string scheme = "milvus://";
  auto bad = [&](const std::string& why) {
    return Error("bad vector store '" + spec + "': " + why + " (expected milvus://HOST:PORT/COLLECTION)",
                 ErrorCode::InvalidArgument);
  };
  if (spec.rfind(scheme, 0) != 0) throw bad("not a milvus:// address");
  std::string rest = spec.substr(scheme.size());
  size_t slash = rest.find('/');
  if (slash == std::string::npos) throw bad("no collection");
  MilvusAddress a{rest.substr(0, slash), rest.substr(slash + 1)};
  size_t colon = a.address.rfind(':');
  if (a.address.empty() || colon == std::string::npos || colon == 0 || colon + 1 == a.address.size())
    throw bad("no HOST:PORT");
  for (size_t i = colon + 1; i < a.address.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(a.address[i]))) throw bad("the port is not a number");
  if (a.collection.empty() || std::isdigit(static_cast<unsigned char>(a.collection[0]))) throw bad("bad collection name");
  for (char c : a.collection)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_')
      throw bad("a collection name has only letters, digits and '_'");
  return a;
}

std::unique_ptr<VectorStore> make_milvus_store(const std::string& spec, int dim, RemoteStoreOptions remote) {
  return std::make_unique<MilvusStore>(spec, parse_milvus_spec(spec), dim, std::move(remote));
}

}  // namespace vf::store
#endif  // VF_HAVE_MILVUS
