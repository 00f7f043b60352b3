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
#include <optional>
#include <unordered_set>

#include "library/library_access.h"
#include "catalog/catalog_reader.h"
#include "catalog/schema.h"
#include "store/vector_store.h"
#include "search/search_internal.h"
#include "common/time_util.h"
#include "viewfinder/search.h"

namespace vf {

namespace {

using Clock = std::chrono::steady_clock;

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
      throw Error("library " + library.dir() + " has no model directory recorded (a library imported from HDF5 "
                  "keeps only the model's name, '" + library.info().model_id + "'): give the model that made its "
                  "features with --model DIR (serve: --model DIR), or index it once",
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

  // Filters run as SQL on an in-memory copy of the catalog's filterable columns (see
  // catalog::FilterIndex), refreshed whenever the catalog's generation changes.
  catalog::FilterIndex filter_index{lib.catalog()};

  // Colour candidates on large libraries. A 512-d colour scan costs ~70-120 ms per query at
  // 100k photos (fp32 or SQ8, one thread), so above kCoarseColorMin the candidates come from
  // an in-memory 64-bin (4x4x4) copy of the histograms (sqrt, inner product = Bhattacharyya
  // coefficient of the coarse histograms, ~7 ms at 100k), built once per catalog generation.
  // Every candidate is still rescored with the exact 512-bin intersection.
  std::mutex coarse_mutex;
  std::unique_ptr<store::VectorStore> coarse_color;
  std::string coarse_generation;

  const store::VectorStore* coarse_color_store() {
    std::lock_guard<std::mutex> g(coarse_mutex);
    std::string generation = lib.catalog().generation();
    if (coarse_color && generation == coarse_generation) return coarse_color.get();
    auto ids = lib.all_ids();
    auto hists = lib.color_hists(ids);
    std::vector<float> coarse(ids.size() * 64);
    for (size_t i = 0; i < ids.size(); ++i)
      search::coarse_color_vector(hists.data() + i * search::kHistBins, coarse.data() + i * 64);
    auto flat = store::make_store("faiss", 64, "Flat");
    flat->upsert(ids.data(), coarse.data(), static_cast<int64_t>(ids.size()), nullptr);
    coarse_color = std::move(flat);
    coarse_generation = generation;
    return coarse_color.get();
  }

  std::vector<int64_t> filter_ids(const Filters& f) { return filter_index.ids(f); }
  std::vector<int64_t> list_ids(const Filters& f, int k, int offset, int64_t& matched) {
    return filter_index.list(f, k, offset, matched);
  }

  SearchResults run(const SearchQuery& q);
  struct QueryVectors {
    std::vector<float> semantic, color;  // either may be empty, not both
    float alpha = 1.0f;
  };
  QueryVectors build_query(const SearchQuery& q, SearchResults& res, Clock::time_point& t_search);
  std::vector<int64_t> gather_candidates(const SearchQuery& q, const QueryVectors& qv,
                                         const std::optional<std::vector<int64_t>>& allowed, size_t need);
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

// The query vectors: embedded example files and uploads, stored example ids, the palette.
Searcher::Impl::QueryVectors Searcher::Impl::build_query(const SearchQuery& q, SearchResults& res,
                                                         Clock::time_point& t_search) {
  const int dim = lib.dim();
  QueryVectors qv;
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
  t_search = Clock::now();
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
    // A library with photos but no histograms (a reader whose photos' files it could not
    // read) would answer a palette search with nothing: say why instead.
    if (!lib.color_store() && lib.semantic_store())
      throw Error("this library holds no colour histograms (a reader makes them from the photos' files at each "
                  "sync: check that they are readable here, under --root, and sync again)",
                  ErrorCode::InvalidArgument);
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
  qv.alpha = sem_q.empty() ? 0.0f : (col_q.empty() ? 1.0f : q.alpha);
  qv.semantic = std::move(sem_q);
  qv.color = std::move(col_q);
  return qv;

}

// Candidates for exact scoring: the whole allowed set when small, else the union of the
// stores' top lists (exhaustive again when a store cannot honour the filter).
std::vector<int64_t> Searcher::Impl::gather_candidates(const SearchQuery& q, const QueryVectors& qv,
                                                      const std::optional<std::vector<int64_t>>& allowed,
                                                      size_t need) {
  std::vector<int64_t> ids;
  const std::vector<float>& sem_q = qv.semantic;
  const std::vector<float>& col_q = qv.color;
  const float alpha = qv.alpha;
  if (allowed && allowed->size() <= std::max(kBruteForceMax, need)) {
    ids = *allowed;  // exhaustive: every matching photo is scored exactly
  } else {
    // One list (alpha 0 or 1): its ranking is already by the exact score of that side, a small
    // margin covers fp16 rounding. Two lists: deeper, since the fused order can differ from both.
    const bool both = alpha > 0 && alpha < 1;
    // A compressed (PQ) index, FAISS's or Milvus's, only proposes candidates: re-rank at least
    // 100 exactly, which bench/run scale measured to keep recall@10 >= 0.99 at 1M (docs/scale.md).
    const store::VectorStore* sem_store = lib.semantic_store();
    const bool compressed = sem_store && sem_store->lossy_scores();
    const size_t floor = compressed ? 100 : 0;
    const int n_cand = static_cast<int>(std::max(floor, both ? std::max<size_t>(need * 4, 100) : need * 2 + 10));
    std::unordered_set<int64_t> seen;
    bool fallback = false;
    store::SearchFilter filter;
    filter.allowed_ids = allowed ? &*allowed : nullptr;
    filter.filters = allowed ? &q.filters : nullptr;
    auto gather = [&](const store::VectorStore* index, const std::vector<float>& v) {
      if (!index || v.empty() || fallback) return;
      if (index->dim() != static_cast<int>(v.size()))
        throw Error("index dimension " + std::to_string(index->dim()) + " does not match the query (" +
                        std::to_string(v.size()) + ")",
                    ErrorCode::Corrupt);
      auto r = index->search(v.data(), 1, n_cand, filter);
      if (!r) {
        // This index type takes no selector (HNSW). A small allowed set is scored exactly;
        // a large one is post-filtered from ever deeper unfiltered searches, which finds
        // n_cand matches quickly because a large set is a large share of the index.
        if (allowed->size() <= kPostFilterMin) {
          fallback = true;
          return;
        }
        std::vector<store::Neighbor> got;
        for (int64_t depth = n_cand * 4;; depth *= 4) {
          depth = std::min<int64_t>(depth, index->count());
          auto u = index->search(v.data(), 1, static_cast<int>(depth), {});
          got.clear();
          for (const auto& nb : (*u)[0])
            if (std::binary_search(allowed->begin(), allowed->end(), nb.id)) got.push_back(nb);
          if (static_cast<int64_t>(got.size()) >= n_cand || depth >= index->count()) break;
        }
        for (const auto& nb : got)
          if (seen.insert(nb.id).second) ids.push_back(nb.id);
        return;
      }
      // An approximate (IVF) index may return fewer than asked under a selective filter.
      size_t expect = std::min<size_t>(n_cand, allowed ? allowed->size() : index->count());
      if (allowed && (*r)[0].size() < expect) fallback = true;
      for (const auto& nb : (*r)[0])
        if (seen.insert(nb.id).second) ids.push_back(nb.id);
    };
    if (alpha > 0) gather(lib.semantic_store(), sem_q);
    // color.faiss holds sqrt(histogram): its inner product is the Bhattacharyya coefficient,
    // good for gathering candidates; they are rescored with histogram intersection below.
    if (alpha < 1 && !col_q.empty()) {
      const store::VectorStore* cindex = lib.color_store();
      if (cindex && cindex->count() >= kCoarseColorMin) {
        std::vector<float> cq(64);
        search::coarse_color_vector(col_q.data(), cq.data());
        gather(coarse_color_store(), cq);
      } else {
        gather(cindex, detail::color_index_query(col_q.data()));
      }
    }
    if (fallback) ids = allowed ? *allowed : lib.all_ids();
  }

  return ids;
}

SearchResults Searcher::Impl::run(const SearchQuery& q) {
  auto t_start = Clock::now();
  SearchResults res;
  if (q.k <= 0) throw Error("k must be at least 1", ErrorCode::InvalidArgument);
  if (q.offset < 0) throw Error("offset must not be negative", ErrorCode::InvalidArgument);
  if (q.alpha < 0 || q.alpha > 1)
    throw Error("alpha must be in [0, 1], got " + std::to_string(q.alpha), ErrorCode::InvalidArgument);
  Clock::time_point t_search;
  const QueryVectors qv = build_query(q, res, t_search);
  const std::vector<float>& sem_q = qv.semantic;
  const std::vector<float>& col_q = qv.color;
  const float alpha = qv.alpha;

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
  } else if (const auto* idx = lib.semantic_store()) {
    res.matched = idx->count();
  }
  const bool collapsing = q.collapse_duplicates || q.collapse_stacks;
  // Collapsed members take candidate slots: ask for more when collapsing.
  const size_t need = (static_cast<size_t>(q.offset) + q.k) * (collapsing ? 3 : 1) + excluded.size();

  std::vector<int64_t> ids = gather_candidates(q, qv, allowed, need);

  // With alpha 1 the colour score does not rank: it is computed for the returned hits only.
  auto scored = score_exact(ids, sem_q, alpha < 1 ? col_q : std::vector<float>{}, alpha);
  std::sort(scored.begin(), scored.end(), [](const Candidate& a, const Candidate& b) {
    return a.score != b.score ? a.score > b.score : a.id < b.id;
  });
  // The best-ranked member of a duplicate group or stack stands for it; the others are hidden.
  // Groups are found among the candidates that can still be shown (search::group_candidates).
  std::optional<search::CandidateGroupings> groupings;
  if (collapsing) {
    std::vector<int64_t> cand_ids;
    std::vector<PhotoRecord> cand_photos;
    for (const auto& c : scored) {
      if (cand_ids.size() >= need) break;
      if (c.score < q.min_score) break;
      auto p = library.photo(c.id);
      if (!p) continue;
      cand_ids.push_back(c.id);
      cand_photos.push_back(std::move(*p));
    }
    std::vector<float> cand_embs = lib.embeddings(cand_ids);
    groupings = search::group_candidates(cand_photos, cand_embs.data(), lib.dim());
  }
  std::unordered_set<size_t> seen_dupes, seen_stacks;
  auto collapsed_into = [&](int64_t id, bool use, const search::Grouping* grouping,
                            std::unordered_set<size_t>& seen, const std::vector<int64_t>** group) {
    if (!use || !grouping) return false;
    auto it = grouping->group_of.find(id);
    if (it == grouping->group_of.end()) return false;
    if (!seen.insert(it->second).second) return true;
    *group = &grouping->groups[it->second];
    return false;
  };
  int skipped = 0;
  // The examples are left out, and so are their copies and frames ("more like this").
  for (int64_t id : excluded) {
    const std::vector<int64_t>* ignored = nullptr;
    collapsed_into(id, q.collapse_duplicates, groupings ? &groupings->duplicates : nullptr, seen_dupes, &ignored);
    collapsed_into(id, q.collapse_stacks, groupings ? &groupings->stacks : nullptr, seen_stacks, &ignored);
  }
  for (const auto& c : scored) {
    if (excluded.count(c.id)) continue;
    if (c.score < q.min_score) break;  // sorted: the rest are lower
    const std::vector<int64_t>* dupes = nullptr;
    const std::vector<int64_t>* frames = nullptr;
    if (collapsed_into(c.id, q.collapse_duplicates, groupings ? &groupings->duplicates : nullptr, seen_dupes, &dupes))
      continue;
    if (collapsed_into(c.id, q.collapse_stacks, groupings ? &groupings->stacks : nullptr, seen_stacks, &frames))
      continue;
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
    for (const auto* group : {dupes, frames})
      if (group)
        for (int64_t other : *group)
          if (other != c.id) h.hidden_ids.push_back(other);
    h.copies = dupes ? static_cast<int>(dupes->size()) - 1 : 0;
    h.stacked = frames ? static_cast<int>(frames->size()) - 1 : 0;
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

// "No results" with filters says which filter did it: each one alone is counted.
void Searcher::explain_empty(const Filters& filters, SearchResults& res) {
  if (!res.hits.empty() || filters.empty()) return;
  for (auto& [name, one] : search::split_filters(filters)) {
    int64_t matched = 0;
    impl_->list_ids(one, 1, 0, matched);
    res.filter_matches.push_back({name, matched});
  }
}

SearchResults Searcher::search(const SearchQuery& query) {
  SearchResults res = impl_->run(query);
  explain_empty(query.filters, res);
  return res;
}

void Searcher::load_model() { impl_->ensure_engine(); }

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
  if (offset == 0) explain_empty(filters, res);
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
  for (const auto& [id, path] : lib.catalog().indexable_paths()) {
    std::string p = canonical_path(path);
    id_of[p] = id;
    path_of[id] = p;
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
    q.collapse_duplicates = q.collapse_stacks = false;  // every relevant photo counts
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
