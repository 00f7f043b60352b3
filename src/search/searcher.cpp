// Search by example with hybrid colour fusion and metadata filters (docs/search.md).
//
// A query becomes up to two vectors: a semantic one (the combined example embeddings) and a
// colour one (a palette histogram, or the mean histogram of the examples). Candidates are the
// UNION of the semantic index's top-N and the colour index's top-N; every candidate is then
// rescored exactly from its stored embedding and histogram, so a photo found by only one list
// still gets its true score on the other (a missing score is never taken as zero).
// Filters become a set of catalog ids (SQL) that restricts the FAISS search itself; small sets
// are scored exhaustively. Either way the result list is never shrunk by filtering afterwards.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include <faiss/Index.h>
#include <faiss/IndexFlat.h>
#include <faiss/IndexIDMap.h>

#include "library/library_internal.h"
#include "search/catalog_sql.h"
#include "search/faiss_search.h"
#include "search/search_internal.h"
#include "viewfinder/search.h"

namespace vf {

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// Filtered sets up to this size are scored exhaustively from stored vectors: exact, and
// cheaper than a selector-guided scan of a large index.
constexpr size_t kBruteForceMax = 2048;
// Above this many allowed ids, an index without selector support is post-filtered rather than
// abandoned for an exhaustive scan.
constexpr size_t kPostFilterMin = 20000;
// From this many photos on, colour candidates come from the coarse in-memory index.
constexpr int64_t kCoarseColorMin = 20000;

struct Candidate {
  int64_t id;
  float semantic = 0, color = 0, score = 0;
};

}  // namespace

struct Searcher::Impl {
  const Library& library;
  const detail::LibraryInternal& lib;
  EngineParams engine_params;
  std::mutex engine_mutex;
  std::unique_ptr<Engine> engine;
  ModelInfo model;
  Pooling pooling = Pooling::CLS;

  Impl(const Library& l, EngineParams p)
      : library(l), lib(detail::internal(l)), engine_params(std::move(p)) {}

  void ensure_engine() {
    std::lock_guard<std::mutex> g(engine_mutex);
    if (engine) return;
    EngineParams p = engine_params;
    if (p.model_dir.empty()) p.model_dir = library.model_dir();
    if (p.model_dir.empty())
      throw Error("library " + library.dir() + " has no model recorded: index it first",
                  ErrorCode::NotFound);
    auto info = library.info();
    if (!info.pooling.empty()) pooling = parse_pooling(info.pooling);
    engine = Engine::open(p);
    model = engine->info();
  }

  // Colour features cost a pass over the decoded pixels: only computed when colour counts.
  IngestParams ingest_params(bool features) const {
    IngestParams ip = ingest_params_for(model);
    ip.thumb_size = 0;
    ip.preview_size = 0;
    ip.features = features;
    return ip;
  }

  // Embeds an ingested query photo; appends its embedding and histogram.
  void embed(const IngestedPhoto& photo, std::vector<float>& emb, std::vector<float>* hist,
             SearchTimings& t) {
    auto t0 = Clock::now();
    auto e = engine->embed(photo.model_input.data(), 1, model.crop_size, model.crop_size, pooling);
    t.embed_ms += ms_since(t0);
    if (static_cast<int>(e.size()) != lib.dim())
      throw Error("model " + model.model_dir + " gives " + std::to_string(e.size()) +
                      "-d embeddings but the library holds " + std::to_string(lib.dim()) +
                      "-d ones: search with the model the library was indexed with",
                  ErrorCode::BadModel);
    emb.insert(emb.end(), e.begin(), e.end());
    if (hist) hist->insert(hist->end(), photo.color_hist.begin(), photo.color_hist.end());
  }

  // Filters run as SQL on an in-memory copy of the catalog's filterable columns, refreshed
  // whenever the catalog's generation changes. The catalog rows carry the embedding and
  // histogram blobs (~3 KB each), so scanning them costs ~1 s per 100k photos; the copy holds
  // ~200 bytes a photo and answers the same WHERE clause in milliseconds.
  std::mutex filter_mutex;
  sqlite3* filter_db = nullptr;
  std::string filter_generation;

  ~Impl() {
    if (filter_db) sqlite3_close(filter_db);
  }

  // Colour candidates on large libraries. A 512-d colour scan costs ~70-120 ms per query at
  // 100k photos (fp32 or SQ8, one thread), so above kCoarseColorMin the candidates come from
  // an in-memory 64-bin (4x4x4) copy of the histograms (sqrt, inner product = Bhattacharyya
  // coefficient of the coarse histograms, ~7 ms at 100k), built once per catalog generation.
  // Every candidate is still rescored with the exact 512-bin intersection.
  std::mutex coarse_mutex;
  std::unique_ptr<faiss::Index> coarse_color;
  std::string coarse_generation;

  std::string catalog_generation() const {
    auto lock = lib.lock();
    search::Statement g(lib.db(), "SELECT value FROM meta WHERE key = 'generation'");
    return g.step() ? g.text(0) : "";
  }

  const faiss::Index* coarse_color_index() {
    std::lock_guard<std::mutex> g(coarse_mutex);
    std::string generation = catalog_generation();
    if (coarse_color && generation == coarse_generation) return coarse_color.get();
    auto ids = lib.all_ids();
    auto hists = lib.color_hists(ids);
    std::vector<float> coarse(ids.size() * 64);
    for (size_t i = 0; i < ids.size(); ++i)
      search::coarse_color_vector(hists.data() + i * search::kHistBins, coarse.data() + i * 64);
    auto flat = new faiss::IndexFlatIP(64);
    auto map = std::make_unique<faiss::IndexIDMap>(flat);
    map->own_fields = true;
    std::vector<faiss::Index::idx_t> fids(ids.begin(), ids.end());
    map->add_with_ids(static_cast<faiss::Index::idx_t>(ids.size()), coarse.data(), fids.data());
    coarse_color = std::move(map);
    coarse_generation = generation;
    return coarse_color.get();
  }

  static constexpr const char* kFilterColumns =
      "id, path, folder, format, width, height, capture_unix, make, model, lens, gps_lat, gps_lon, rating";

  // Call with filter_mutex held.
  void refresh_filter_db() {
    std::string generation;
    {
      auto lock = lib.lock();
      search::Statement g(lib.db(), "SELECT value FROM meta WHERE key = 'generation'");
      if (g.step()) generation = g.text(0);
    }
    if (filter_db && generation == filter_generation) return;
    if (!filter_db && sqlite3_open(":memory:", &filter_db) != SQLITE_OK)
      throw Error("cannot open an in-memory database for filters", ErrorCode::Io);
    search::exec_sql(filter_db,
                     "DROP TABLE IF EXISTS photos; CREATE TABLE photos (id INTEGER PRIMARY KEY, path TEXT,"
                     " folder TEXT, format TEXT, width INTEGER, height INTEGER, capture_unix INTEGER, make TEXT,"
                     " model TEXT, lens TEXT, gps_lat REAL, gps_lon REAL, rating INTEGER);"
                     " CREATE INDEX photos_capture ON photos(capture_unix); BEGIN");
    search::Statement ins(filter_db, std::string("INSERT INTO photos VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"));
    {
      auto lock = lib.lock();
      search::Statement st(lib.db(), std::string("SELECT ") + kFilterColumns + " FROM photos WHERE " +
                                         search::kIndexableSql);
      while (st.step()) {
        sqlite3_reset(ins.get());
        for (int c = 0; c < 13; ++c) {
          int type = sqlite3_column_type(st.get(), c);
          if (type == SQLITE_NULL)
            sqlite3_bind_null(ins.get(), c + 1);
          else if (type == SQLITE_INTEGER)
            ins.bind(c + 1, st.int64(c));
          else if (type == SQLITE_FLOAT)
            ins.bind(c + 1, st.real(c));
          else
            ins.bind(c + 1, st.text(c));
        }
        ins.step();
      }
    }
    search::exec_sql(filter_db, "COMMIT");
    filter_generation = generation;
    last_filter_key.clear();
  }

  // The last filter's matching ids: paging through results, or "more like this" inside the
  // same filters, repeats a filter many times.
  std::string last_filter_key;
  std::vector<int64_t> last_filter_ids;

  std::vector<int64_t> filter_ids(const Filters& f) {
    auto where = search::build_filter_sql(f, "1");
    std::string key = where.clause;
    for (const auto& b : where.binds)
      std::visit([&](const auto& v) {
        std::ostringstream o;
        o << v;
        key += "\x1f" + o.str();
      }, b);
    std::lock_guard<std::mutex> g(filter_mutex);
    refresh_filter_db();
    if (key == last_filter_key) return last_filter_ids;
    search::Statement st(filter_db, "SELECT id FROM photos WHERE " + where.clause + " ORDER BY id");
    st.bind_all(where.binds);
    std::vector<int64_t> ids;
    while (st.step()) ids.push_back(st.int64(0));
    last_filter_key = key;
    last_filter_ids = ids;
    return ids;
  }

  // Filters alone: newest first, photos without a capture time last.
  std::vector<int64_t> list_ids(const Filters& f, int k, int offset, int64_t& matched) {
    auto where = search::build_filter_sql(f, "1");
    std::lock_guard<std::mutex> g(filter_mutex);
    refresh_filter_db();
    search::Statement count(filter_db, "SELECT count(*) FROM photos WHERE " + where.clause);
    count.bind_all(where.binds);
    if (count.step()) matched = count.int64(0);
    search::Statement st(filter_db, "SELECT id FROM photos WHERE " + where.clause +
                                        " ORDER BY capture_unix IS NULL, capture_unix DESC, id DESC"
                                        " LIMIT ? OFFSET ?");
    int next = st.bind_all(where.binds);
    st.bind(next, static_cast<int64_t>(k));
    st.bind(next + 1, static_cast<int64_t>(std::max(offset, 0)));
    std::vector<int64_t> ids;
    while (st.step()) ids.push_back(st.int64(0));
    return ids;
  }

  SearchResults run(const SearchQuery& q);
  std::vector<Candidate> score_exact(const std::vector<int64_t>& ids, const std::vector<float>& sem_q,
                                     const std::vector<float>& col_q, float alpha) const;
};

std::vector<Candidate> Searcher::Impl::score_exact(const std::vector<int64_t>& ids,
                                                   const std::vector<float>& sem_q,
                                                   const std::vector<float>& col_q,
                                                   float alpha) const {
  std::vector<Candidate> out(ids.size());
  std::vector<float> embs, hists;
  if (!sem_q.empty()) embs = lib.embeddings(ids);
  if (!col_q.empty()) hists = lib.color_hists(ids);
  const int dim = lib.dim();
  for (size_t i = 0; i < ids.size(); ++i) {
    auto& c = out[i];
    c.id = ids[i];
    if (!sem_q.empty()) c.semantic = search::dot(embs.data() + i * dim, sem_q.data(), dim);
    if (!col_q.empty())
      c.color = search::histogram_intersection(hists.data() + i * search::kHistBins, col_q.data());
    c.score = search::fuse(alpha, c.semantic, c.color);
  }
  return out;
}

SearchResults Searcher::Impl::run(const SearchQuery& q) {
  auto t_start = Clock::now();
  SearchResults res;
  if (q.k <= 0) throw Error("k must be at least 1", ErrorCode::InvalidArgument);
  if (q.offset < 0) throw Error("offset must not be negative", ErrorCode::InvalidArgument);
  if (q.alpha < 0 || q.alpha > 1)
    throw Error("alpha must be in [0, 1], got " + std::to_string(q.alpha), ErrorCode::InvalidArgument);
  const int dim = lib.dim();

  // ---- the query vectors ----
  std::vector<float> pos_emb, neg_emb, pos_hist;
  bool need_engine = !q.positive_files.empty() || !q.negative_files.empty() || !q.positive_bytes.empty();
  if (need_engine) ensure_engine();
  const bool want_color = q.alpha < 1.0f && q.colors.empty();
  for (const auto& f : q.positive_files) {
    auto t0 = Clock::now();
    auto photo = ingest_file(f, ingest_params(want_color));
    res.timings.decode_ms += ms_since(t0);
    embed(photo, pos_emb, want_color ? &pos_hist : nullptr, res.timings);
  }
  for (size_t i = 0; i < q.positive_bytes.size(); ++i) {
    auto t0 = Clock::now();
    const auto& b = q.positive_bytes[i];
    auto photo = ingest_bytes(b.data(), b.size(), "upload " + std::to_string(i + 1), ingest_params(want_color));
    res.timings.decode_ms += ms_since(t0);
    embed(photo, pos_emb, want_color ? &pos_hist : nullptr, res.timings);
  }
  for (const auto& f : q.negative_files) {
    auto t0 = Clock::now();
    auto photo = ingest_file(f, ingest_params(want_color));
    res.timings.decode_ms += ms_since(t0);
    embed(photo, neg_emb, nullptr, res.timings);
  }
  auto t_search = Clock::now();
  auto check_ids = [&](const std::vector<int64_t>& ids) {
    auto embs = lib.embeddings(ids);
    for (size_t i = 0; i < ids.size(); ++i) {
      bool any = false;
      for (int j = 0; j < dim && !any; ++j) any = embs[i * dim + j] != 0.0f;
      if (!any)
        throw Error("photo id " + std::to_string(ids[i]) + " is not in the library (or has no embedding)",
                    ErrorCode::NotFound);
    }
    return embs;
  };
  if (!q.positive_ids.empty()) {
    auto e = check_ids(q.positive_ids);
    pos_emb.insert(pos_emb.end(), e.begin(), e.end());
    auto h = lib.color_hists(q.positive_ids);
    pos_hist.insert(pos_hist.end(), h.begin(), h.end());
  }
  if (!q.negative_ids.empty()) {
    auto e = check_ids(q.negative_ids);
    neg_emb.insert(neg_emb.end(), e.begin(), e.end());
  }
  bool has_examples = !pos_emb.empty() || !neg_emb.empty();
  if (!neg_emb.empty() && pos_emb.empty())
    throw Error("a query needs at least one positive example besides negatives",
                ErrorCode::InvalidArgument);
  std::vector<float> sem_q;
  if (has_examples) {
    sem_q = search::combine_examples(pos_emb, neg_emb, dim, q.negative_weight);
    if (sem_q.empty())
      throw Error("the positive and negative examples cancel out", ErrorCode::InvalidArgument);
  }
  // Colour target: an explicit palette wins; otherwise the examples' mean histogram.
  std::vector<float> col_q;
  if (!q.colors.empty()) {
    std::vector<std::array<uint8_t, 3>> rgb;
    for (const auto& c : q.colors) rgb.push_back(search::parse_hex_color(c));
    auto h = search::palette_histogram(rgb);
    col_q.assign(h.begin(), h.end());
  } else if (!pos_hist.empty()) {
    size_t n = pos_hist.size() / search::kHistBins;
    col_q.assign(search::kHistBins, 0.0f);
    for (size_t r = 0; r < n; ++r)
      for (int i = 0; i < search::kHistBins; ++i) col_q[i] += pos_hist[r * search::kHistBins + i] / n;
  }
  if (sem_q.empty() && col_q.empty())
    throw Error("empty query: give example photos, photo ids or colours", ErrorCode::InvalidArgument);
  // Alpha only means something when both sides exist.
  float alpha = sem_q.empty() ? 0.0f : (col_q.empty() ? 1.0f : q.alpha);

  // ---- the allowed ids ----
  std::unordered_set<int64_t> excluded;
  if (q.exclude_query_ids) {
    excluded.insert(q.positive_ids.begin(), q.positive_ids.end());
    excluded.insert(q.negative_ids.begin(), q.negative_ids.end());
  }
  std::optional<std::vector<int64_t>> allowed;
  if (!q.filters.empty()) {
    allowed = filter_ids(q.filters);
    res.matched = static_cast<int64_t>(allowed->size());
  } else if (const auto* idx = lib.semantic_index()) {
    res.matched = idx->ntotal;
  }
  const size_t need = static_cast<size_t>(q.offset) + q.k + excluded.size();

  // ---- candidates ----
  std::vector<int64_t> ids;
  if (allowed && allowed->size() <= std::max(kBruteForceMax, need)) {
    ids = *allowed;  // exhaustive: every matching photo is scored exactly
  } else {
    // One list (alpha 0 or 1): its ranking is already by the exact score of that side, a small
    // margin covers fp16 rounding. Two lists: deeper, since the fused order can differ from both.
    const bool both = alpha > 0 && alpha < 1;
    const int n_cand = static_cast<int>(both ? std::max<size_t>(need * 4, 100) : need * 2 + 10);
    std::unordered_set<int64_t> seen;
    bool fallback = false;
    auto gather = [&](const faiss::Index* index, const std::vector<float>& v) {
      if (!index || v.empty() || fallback) return;
      if (index->d != static_cast<int>(v.size()))
        throw Error("index dimension " + std::to_string(index->d) + " does not match the query (" +
                        std::to_string(v.size()) + ")",
                    ErrorCode::Corrupt);
      auto r = search::index_search(*index, v.data(), 1, n_cand, allowed ? &*allowed : nullptr);
      if (!r) {
        // This index type takes no selector (HNSW). A small allowed set is scored exactly;
        // a large one is post-filtered from ever deeper unfiltered searches, which finds
        // n_cand matches quickly because a large set is a large share of the index.
        if (allowed->size() <= kPostFilterMin) {
          fallback = true;
          return;
        }
        std::vector<search::Neighbor> got;
        for (int64_t depth = n_cand * 4;; depth *= 4) {
          depth = std::min<int64_t>(depth, index->ntotal);
          auto u = search::index_search(*index, v.data(), 1, static_cast<int>(depth), nullptr);
          got.clear();
          for (const auto& nb : (*u)[0])
            if (std::binary_search(allowed->begin(), allowed->end(), nb.id)) got.push_back(nb);
          if (static_cast<int64_t>(got.size()) >= n_cand || depth >= index->ntotal) break;
        }
        for (const auto& nb : got)
          if (seen.insert(nb.id).second) ids.push_back(nb.id);
        return;
      }
      // An approximate (IVF) index may return fewer than asked under a selective filter.
      size_t expect = std::min<size_t>(n_cand, allowed ? allowed->size() : index->ntotal);
      if (allowed && (*r)[0].size() < expect) fallback = true;
      for (const auto& nb : (*r)[0])
        if (seen.insert(nb.id).second) ids.push_back(nb.id);
    };
    if (alpha > 0) gather(lib.semantic_index(), sem_q);
    // color.faiss holds sqrt(histogram): its inner product is the Bhattacharyya coefficient,
    // good for gathering candidates; they are rescored with histogram intersection below.
    if (alpha < 1 && !col_q.empty()) {
      const faiss::Index* cindex = lib.color_index();
      if (cindex && cindex->ntotal >= kCoarseColorMin) {
        std::vector<float> cq(64);
        search::coarse_color_vector(col_q.data(), cq.data());
        gather(coarse_color_index(), cq);
      } else {
        gather(cindex, detail::color_index_query(col_q.data()));
      }
    }
    if (fallback) ids = allowed ? *allowed : lib.all_ids();
  }

  // With alpha 1 the colour score does not rank: it is computed for the returned hits only.
  auto scored = score_exact(ids, sem_q, alpha < 1 ? col_q : std::vector<float>{}, alpha);
  std::sort(scored.begin(), scored.end(), [](const Candidate& a, const Candidate& b) {
    return a.score != b.score ? a.score > b.score : a.id < b.id;
  });
  int skipped = 0;
  for (const auto& c : scored) {
    if (excluded.count(c.id)) continue;
    if (c.score < q.min_score) break;  // sorted: the rest are lower
    if (skipped < q.offset) {
      ++skipped;
      continue;
    }
    if (static_cast<int>(res.hits.size()) >= q.k) break;
    SearchHit h;
    h.id = c.id;
    h.score = c.score;
    h.semantic = c.semantic;
    h.color = c.color;
    if (q.load_photos)
      if (auto p = library.photo(c.id)) h.photo = std::move(*p);
    res.hits.push_back(std::move(h));
  }
  if (alpha >= 1 && !col_q.empty() && !res.hits.empty()) {
    std::vector<int64_t> hit_ids;
    for (const auto& h : res.hits) hit_ids.push_back(h.id);
    auto hists = lib.color_hists(hit_ids);
    for (size_t i = 0; i < res.hits.size(); ++i)
      res.hits[i].color = search::histogram_intersection(hists.data() + i * search::kHistBins, col_q.data());
  }
  res.timings.search_ms = ms_since(t_search);
  res.timings.total_ms = ms_since(t_start);
  return res;
}

Searcher::Searcher(const Library& library, EngineParams engine)
    : impl_(std::make_unique<Impl>(library, std::move(engine))) {}
Searcher::~Searcher() = default;

SearchResults Searcher::search(const SearchQuery& query) { return impl_->run(query); }

SearchResults Searcher::list(const Filters& filters, int k, int offset) {
  auto t0 = Clock::now();
  if (k <= 0) throw Error("k must be at least 1", ErrorCode::InvalidArgument);
  SearchResults res;
  std::vector<int64_t> ids = impl_->list_ids(filters, k, offset, res.matched);
  for (int64_t id : ids) {
    SearchHit h;
    h.id = id;
    h.score = h.semantic = h.color = 0;
    if (auto p = impl_->library.photo(id)) h.photo = std::move(*p);
    res.hits.push_back(std::move(h));
  }
  res.timings.search_ms = res.timings.total_ms = ms_since(t0);
  return res;
}

// ---- evaluation ------------------------------------------------------------------------------
namespace {
std::string canonical_path(const std::string& p) {
  std::error_code ec;
  auto c = std::filesystem::weakly_canonical(p, ec);
  return ec ? p : c.string();
}
}  // namespace

EvalReport evaluate(const Library& library, const GroundTruth& truth, const EvalParams& params) {
  if (params.ks.empty()) throw Error("no k values to evaluate", ErrorCode::InvalidArgument);
  for (int k : params.ks)
    if (k <= 0) throw Error("k values must be positive", ErrorCode::InvalidArgument);
  const auto& lib = detail::internal(library);
  std::unordered_map<std::string, int64_t> id_of;
  std::unordered_map<int64_t, std::string> path_of;
  {
    auto lock = lib.lock();
    search::Statement st(lib.db(), std::string("SELECT id, path FROM photos WHERE ") + search::kIndexableSql);
    while (st.step()) {
      std::string p = canonical_path(st.text(1));
      id_of[p] = st.int64(0);
      path_of[st.int64(0)] = p;
    }
  }
  EvalReport report;
  // AP is computed over the ranking of the whole library up to this depth (exact for
  // libraries up to 10,000 photos, truncated AP beyond).
  report.ranked_depth = std::min<int64_t>(static_cast<int64_t>(id_of.size()), 10000);
  if (report.ranked_depth == 0) throw Error("the library has no indexed photos", ErrorCode::NotFound);
  Searcher searcher(library);
  double sum_ap = 0;
  std::map<int, double> sum_p, sum_r;
  for (const auto& [query, relevant_raw] : truth.queries) {
    auto it = id_of.find(canonical_path(query));
    if (it == id_of.end()) {
      ++report.missing_queries;
      continue;
    }
    std::vector<std::string> relevant;
    for (const auto& r : relevant_raw) {
      std::string c = canonical_path(r);
      if (!id_of.count(c)) ++report.missing_relevant;
      relevant.push_back(c);
    }
    if (relevant.empty()) continue;  // nothing to find: the query says nothing about quality
    SearchQuery q;
    q.positive_ids = {it->second};
    q.alpha = params.alpha;
    q.k = static_cast<int>(report.ranked_depth);
    q.load_photos = false;
    auto res = searcher.search(q);
    std::vector<std::string> ranked;
    ranked.reserve(res.hits.size());
    for (const auto& h : res.hits) ranked.push_back(path_of[h.id]);
    ++report.queries;
    sum_ap += average_precision(ranked, relevant);
    for (int k : params.ks) {
      sum_p[k] += precision_at_k(ranked, relevant, k);
      sum_r[k] += recall_at_k(ranked, relevant, k);
    }
  }
  if (report.queries > 0) {
    report.mean_average_precision = sum_ap / report.queries;
    for (int k : params.ks) {
      report.precision_at[k] = sum_p[k] / report.queries;
      report.recall_at[k] = sum_r[k] / report.queries;
    }
  }
  return report;
}

}  // namespace vf
