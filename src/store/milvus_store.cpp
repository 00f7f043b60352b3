// MilvusStore: VectorStore over the Milvus gRPC client (milvus_store.h says what each call
// guarantees). Compiled only with VF_MILVUS (vf_store then links vf_milvus).
#ifdef VF_HAVE_MILVUS
#include "store/milvus_store.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <limits>
#include <nlohmann/json.hpp>

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
  f.has_file_time = p.file_time_unix.has_value();
  f.file_time_unix = p.file_time_unix.value_or(0);
  f.has_rating = p.rating.has_value();
  f.rating = p.rating.value_or(0);
  f.has_gps = p.gps_lat.has_value() && p.gps_lon.has_value();
  f.gps_lat = p.gps_lat.value_or(0);
  f.gps_lon = p.gps_lon.value_or(0);
  f.content_hash = clip(p.content_hash, milvus::kMaxHashBytes);
  f.file_size = p.file_size;
  f.mtime_ns = p.mtime_ns;
  return f;
}

PhotoScalars from_fields(const milvus::PhotoFields& f) {
  PhotoScalars p;
  p.path = f.path;
  p.folder = f.folder;
  p.format = f.format;
  p.make = f.make;
  p.model = f.model;
  p.lens = f.lens;
  p.width = static_cast<int>(f.width);
  p.height = static_cast<int>(f.height);
  if (f.has_capture) p.capture_unix = f.capture_unix;
  if (f.has_file_time) p.file_time_unix = f.file_time_unix;
  if (f.has_rating) p.rating = static_cast<int>(f.rating);
  if (f.has_gps) {
    p.gps_lat = f.gps_lat;
    p.gps_lon = f.gps_lon;
  }
  p.content_hash = f.content_hash;
  p.file_size = f.file_size;
  p.mtime_ns = f.mtime_ns;
  return p;
}

// The model recorded in a collection's description (a JSON object with model_id), or null.
nlohmann::json recorded_model(const std::string& description) {
  auto j = nlohmann::json::parse(description, nullptr, false);
  return j.is_object() && j.contains("model_id") ? j : nlohmann::json();
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
    try {
      if (client_->has_collection(where_.collection)) {
        open_existing(dim, remote.model_identity);
        open_index();
        client_->load(where_.collection);  // a no-op when loaded; needed after a server restart
      } else if (dim > 0) {
        // Checked before anything is created: a bad index leaves no collection behind.
        const milvus::IndexSpec index = milvus::resolved_for_dim(where_.index, dim);
        index_ = milvus::with_search_settings(index, where_.index);
        client_->create_collection(where_.collection, dim, 1, remote.model_identity);
        client_->create_index(where_.collection, index);
        client_->load(where_.collection);
        dim_ = dim;
        identity_ = remote.model_identity;
      }
    } catch (const Error& e) {
      if (e.code() != ErrorCode::InvalidArgument || std::string(e.what()).find(spec_) != std::string::npos) throw;
      throw Error("vector store " + spec_ + ": " + e.what(), e.code());
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
  bool lossy_scores() const override { return index_.type == "IVF_PQ"; }

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

  void clear() override {
    if (!client_->has_collection(where_.collection)) return;
    const int64_t all = client_->count_where(where_.collection, "", milvus::Consistency::Strong);
    const int64_t own = client_->count_where(where_.collection, range_expr(id_lo_, id_hi_), milvus::Consistency::Strong);
    if (all > own)
      throw Error(spec_ + ": the collection also holds " + std::to_string(all - own) +
                      " vectors of other libraries (shard workers), embedded with the previous model, and one "
                      "collection must not mix two models: index every worker with the new model into a new "
                      "collection (--store milvus://HOST:PORT/NEW_NAME), or keep the previous model",
                  ErrorCode::InvalidArgument);
    client_->drop_collection(where_.collection);
    dim_ = 0;
  }

  std::optional<NeighborLists> search(const float* queries, int nq, int k, const SearchFilter& filter) const override {
    // Milvus 2.3.5's IVF_PQ answers a filtered search with allowed ids carrying the scores of
    // rows the filter excluded (tests/milvus/test_milvus_index.cpp shows it; docs/scale.md):
    // its filtered results are not used. The searcher then scores the allowed ids exactly or
    // post-filters deeper unfiltered searches, as for FAISS HNSW.
    const bool filter_broken = index_.type == "IVF_PQ";
    std::string expr;
    if (filter.filters) {
      if (filter_broken) return std::nullopt;
      try {
        expr = milvus::filters_to_expr(*filter.filters, lookup_);
      } catch (const Error&) {
        return std::nullopt;  // not expressible in Milvus 2.3 (e.g. '%' in a path prefix)
      }
    } else if (filter.allowed_ids) {
      if (filter.allowed_ids->size() > kMaxIdListFilter || filter_broken) return std::nullopt;
      expr = id_list_expr(*filter.allowed_ids);
    }
    const bool own_range_only = id_lo_ > 0 && filter_broken;  // post-filtered below instead
    if (id_lo_ > 0 && !filter_broken) {  // a shard worker's library knows only its own ids
      const std::string own = range_expr(id_lo_, id_hi_);
      expr = expr.empty() ? own : "(" + expr + ") && " + own;
    }
    NeighborLists out(static_cast<size_t>(std::max(nq, 0)));
    if (dim_ <= 0 || k <= 0) return out;
    milvus::SearchRequest req;
    req.k = std::min(k, kMaxTopK);
    req.expr = expr;
    req.consistency = read_consistency();
    // The index's search breadth; wider under a filter (milvus_index.h says by how much).
    const milvus::SearchBreadth breadth = milvus::search_breadth(index_, !expr.empty());
    req.hnsw_ef = breadth.ef;
    req.ivf_nprobe = breadth.nprobe;
    for (int q = 0; q < nq; ++q) {
      req.query.assign(queries + static_cast<size_t>(q) * dim_, queries + static_cast<size_t>(q + 1) * dim_);
      if (own_range_only) {
        out[q] = search_own_range(req);
        continue;
      }
      for (const auto& hit : client_->search(where_.collection, req)) out[q].push_back({hit.id, hit.score});
    }
    return out;
  }

  void scan(int64_t batch, const BatchFn& fn) const override {
    if (dim_ <= 0) return;
    batch = std::clamp<int64_t>(batch, 1, kMaxTopK);
    scan_range(id_lo_, id_hi_, batch, ScanSink{&fn, nullptr, true});
  }

  bool save(const std::string&, const std::string&) const override { return false; }

  void scan_rows(int64_t batch, const RowBatchFn& fn, bool vectors) const override {
    if (dim_ <= 0) return;
    batch = std::clamp<int64_t>(batch, 1, kMaxTopK);
    scan_range(id_lo_, id_hi_, batch, ScanSink{nullptr, &fn, vectors});
  }

  // By id lists of kFetchBatch (an `id in [...]` expression of ~15 bytes per id). Eventually,
  // like the scan after its first count: the caller has just seen these rows.
  void fetch_vectors(const std::vector<int64_t>& wanted, const BatchFn& fn) const override {
    if (dim_ <= 0) return;
    constexpr size_t kFetchBatch = 1024;
    for (size_t at = 0; at < wanted.size(); at += kFetchBatch) {
      const std::vector<int64_t> part(wanted.begin() + at, wanted.begin() + std::min(wanted.size(), at + kFetchBatch));
      auto rows = client_->query(where_.collection, id_list_expr(part), {milvus::kVectorField},
                                 static_cast<int64_t>(part.size()), milvus::Consistency::Eventually);
      std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
      std::vector<int64_t> ids;
      std::vector<float> x;
      for (const auto& r : rows) {
        if (static_cast<int>(r.vector.size()) != dim_) continue;
        ids.push_back(r.id);
        x.insert(x.end(), r.vector.begin(), r.vector.end());
      }
      fn(ids.data(), x.data(), static_cast<int64_t>(ids.size()));
    }
  }

  std::string model_identity() const override { return identity_; }

 private:
  // An existing collection: the library's dimension and model must be the ones it holds,
  // and it must have every field this version writes.
  void open_existing(int dim, const std::string& identity) {
    const auto info = client_->describe_collection(where_.collection);
    dim_ = info.dim;
    if (dim > 0 && dim_ != dim)
      throw Error(spec_ + ": the collection holds vectors of " + std::to_string(dim_) + " floats, the library's model gives " +
                      std::to_string(dim) + " (drop it or choose another collection)",
                  ErrorCode::InvalidArgument);
    for (const auto& field : milvus::scalar_field_names())
      if (std::find(info.fields.begin(), info.fields.end(), field) == info.fields.end())
        throw Error(spec_ + ": the collection has no \"" + field + "\" field (made by an older Viewfinder, or not " +
                        "Viewfinder's; Milvus 2.3 cannot add fields): move the library into a new collection with " +
                        "`viewfinder migrate --to milvus://" + where_.address + "/NEW_NAME` (no re-embedding)",
                    ErrorCode::InvalidArgument);
    const auto have = recorded_model(info.description), want = recorded_model(identity);
    if (!have.is_null() && !want.is_null() &&
        (!same_model_id(have.value("model_id", ""), want.value("model_id", "")) ||
         have.value("pooling", "") != want.value("pooling", "")))
      throw Error(spec_ + ": the collection holds vectors of model " + have["model_id"].get<std::string>() + " (" +
                      have.value("pooling", "") + " pooling), this library's are from " +
                      want["model_id"].get<std::string>() + " (" + want.value("pooling", "") +
                      "): one collection holds one model's vectors; choose another collection",
                  ErrorCode::InvalidArgument);
    if (!have.is_null() && !want.is_null()) refuse_another_split(have.value("shards", 0), want.value("shards", 0));
    if (!have.is_null()) identity_ = info.description;
  }

  // A library without --shard and worker 0 of a split both number photos from 1, so the ids
  // cannot tell their rows apart: the split the collection was made with decides. (0: made
  // before collections recorded it.)
  void refuse_another_split(int have, int want) const {
    if (have <= 0 || want <= 0 || have == want) return;
    const std::string reader = "; to search it, make a reader: viewfinder mirror --library NEW_DIR --store " + spec_ +
                               "; or give this library a collection of its own (milvus://" + where_.address +
                               "/NEW_NAME)";
    if (have > 1)
      throw Error(spec_ + " holds the photos of shard workers that split them " + std::to_string(have) +
                      " ways, which this library did not write" +
                      (want > 1 ? " (it splits them " + std::to_string(want) + " ways)" : " (it has no --shard)") +
                      ": indexing into it would overwrite them and its resync would remove them, so nothing was "
                      "changed. To add photos to that collection, index as a worker of its own: a new library with "
                      "--shard I/" + std::to_string(have) + reader,
                  ErrorCode::InvalidArgument);
    throw Error(spec_ + " holds the photos of a library without --shard, which this worker did not write: its ids "
                    "would collide with them, so nothing was changed. Shard workers need a collection of their own "
                    "(milvus://" + where_.address + "/NEW_NAME)",
                ErrorCode::InvalidArgument);
  }

  // The collection's index: kept when the URL names none (its search keys tune it), built
  // when missing, rebuilt when the URL names another one (milvus_store.h).
  void open_index() {
    const auto built = client_->describe_index(where_.collection);
    if (built && !where_.index.named) {
      index_ = milvus::with_search_settings(*built, where_.index);
      return;
    }
    const milvus::IndexSpec want = milvus::resolved_for_dim(where_.index, dim_);
    index_ = milvus::with_search_settings(want, where_.index);
    if (built && milvus::same_build(*built, want)) return;
    if (built) {
      std::cerr << "viewfinder: " << spec_ << ": rebuilding the collection's index (" << milvus::describe_build(*built)
                << " -> " << milvus::describe_build(want)
                << "); no re-embedding; until Milvus has built it, searches use its temporary index\n";
      client_->release(where_.collection);  // Milvus 2.3 drops an index of a released collection only
      client_->drop_index(where_.collection);
    }
    client_->create_index(where_.collection, want);
  }

  // A shard worker's top k among its own ids, from ever deeper unfiltered searches (for an
  // index whose filtered search cannot be used).
  std::vector<Neighbor> search_own_range(milvus::SearchRequest req) const {
    const int k = req.k;
    std::vector<Neighbor> own;
    for (int depth = k * 4;; depth *= 4) {
      req.k = std::min(depth, kMaxTopK);
      const auto hits = client_->search(where_.collection, req);
      own.clear();
      for (const auto& hit : hits)
        if (hit.id >= id_lo_ && hit.id < id_hi_ && static_cast<int>(own.size()) < k) own.push_back({hit.id, hit.score});
      if (static_cast<int>(own.size()) >= k || static_cast<int>(hits.size()) < req.k || req.k >= kMaxTopK) return own;
    }
  }

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

  // Where scan_range sends its rows: to `fn` (ids, vectors), or with the scalar fields to
  // `rows_fn`, which may do without the vectors.
  struct ScanSink {
    const BatchFn* fn;
    const RowBatchFn* rows_fn;
    bool vectors;
  };

  // Milvus 2.3 returns a limited query's rows in no defined order, so the id space is split
  // in halves until each part holds at most `batch` rows (counted inside Milvus).
  // Only the first count is Strong: it makes the query node catch up with every write made
  // before the scan, and its later reads (Eventually: no wait) see at least that state, since
  // a node's serviceable time only moves forward. A Strong read waits for the next time tick
  // (~0.2 s), and a scan of 6,800 rows made ~100 of them (22 s for a reader's sync).
  void scan_range(int64_t lo, int64_t hi, int64_t batch, const ScanSink& sink,
                  milvus::Consistency level = milvus::Consistency::Strong) const {
    const std::string expr = range_expr(lo, hi);
    const int64_t n = client_->count_where(where_.collection, expr, level);
    if (n == 0) return;
    constexpr auto kAfterFirst = milvus::Consistency::Eventually;
    if (n > batch && hi - lo > 1) {
      const int64_t mid = lo + (hi - lo) / 2;
      scan_range(lo, mid, batch, sink, kAfterFirst);
      scan_range(mid, hi, batch, sink, kAfterFirst);
      return;
    }
    std::vector<std::string> fields;
    if (sink.vectors) fields.push_back(milvus::kVectorField);
    if (sink.rows_fn) fields.insert(fields.end(), milvus::scalar_field_names().begin(), milvus::scalar_field_names().end());
    auto rows = client_->query(where_.collection, expr, fields, n, kAfterFirst);
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    std::vector<int64_t> ids;
    std::vector<float> x;
    std::vector<PhotoScalars> scalars;
    ids.reserve(rows.size());
    x.reserve(rows.size() * dim_);
    for (const auto& r : rows) {
      if (sink.vectors && static_cast<int>(r.vector.size()) != dim_) continue;
      ids.push_back(r.id);
      x.insert(x.end(), r.vector.begin(), r.vector.end());
      if (sink.rows_fn) scalars.push_back(from_fields(r.fields));
    }
    const float* vectors = sink.vectors ? x.data() : nullptr;
    if (sink.rows_fn) (*sink.rows_fn)(ids.data(), vectors, scalars.data(), static_cast<int64_t>(ids.size()));
    else (*sink.fn)(ids.data(), vectors, static_cast<int64_t>(ids.size()));
  }

  std::string spec_;
  MilvusAddress where_;
  TextValueLookup lookup_;
  int64_t id_lo_, id_hi_;  // the ids count() and scan() see (a shard worker's own)
  std::unique_ptr<milvus::Client> client_;  // gRPC stubs are thread-safe: const calls share it
  int dim_ = 0;
  std::string identity_;       // the model recorded with the collection ("" = none)
  milvus::IndexSpec index_;    // the collection's index and the URL's search breadth
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
  const size_t question = rest.find('?');
  const std::string query = question == std::string::npos ? "" : rest.substr(question + 1);
  rest = rest.substr(0, question);
  size_t slash = rest.find('/');
  if (slash == std::string::npos) throw bad("no collection");
  MilvusAddress a{rest.substr(0, slash), rest.substr(slash + 1), {}};
  size_t colon = a.address.rfind(':');
  if (a.address.empty() || colon == std::string::npos || colon == 0 || colon + 1 == a.address.size())
    throw bad("no HOST:PORT");
  for (size_t i = colon + 1; i < a.address.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(a.address[i]))) throw bad("the port is not a number");
  if (a.collection.empty() || std::isdigit(static_cast<unsigned char>(a.collection[0]))) throw bad("bad collection name");
  for (char c : a.collection)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_')
      throw bad("a collection name has only letters, digits and '_'");
  try {
    a.index = milvus::parse_index_query(query);
  } catch (const Error& e) {
    throw Error("bad vector store '" + spec + "': " + e.what() +
                    " (expected milvus://HOST:PORT/COLLECTION?index=HNSW|IVF_FLAT|IVF_SQ8|IVF_PQ|FLAT&KEY=VALUE..., "
                    "see docs/scale.md)",
                ErrorCode::InvalidArgument);
  }
  return a;
}

std::unique_ptr<VectorStore> make_milvus_store(const std::string& spec, int dim, RemoteStoreOptions remote) {
  return std::make_unique<MilvusStore>(spec, parse_milvus_spec(spec), dim, std::move(remote));
}

}  // namespace vf::store
#endif  // VF_HAVE_MILVUS
