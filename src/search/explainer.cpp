// The Explainer: patch features from the engine (batched, cached per photo), query tokens for
// uploads, and region search (first stage through the Searcher, re-rank by patch matching).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <sstream>

#include "viewfinder/explain.h"

namespace vf {

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// The model input of a whole picture: resized (aspect kept) so that its long edge is
// max_side, each side rounded to a multiple of the patch size, then normalised. No centre
// crop, so the patch grid covers the picture as displayed.
struct ModelPicture {
  int height = 0, width = 0;
  std::vector<float> pixels;  // [3, height, width]
};

ModelPicture model_picture(const RgbImage& rgb, const ModelInfo& m, int max_side) {
  const int p = m.patch_size;
  double scale = double(max_side) / std::max(rgb.width, rgb.height);
  auto side = [&](int n) { return std::max(p, int(std::lround(n * scale / p)) * p); };
  ModelPicture out;
  out.width = side(rgb.width);
  out.height = side(rgb.height);
  RgbImage sized = (out.width == rgb.width && out.height == rgb.height)
                       ? rgb
                       : resize_rgb(rgb, out.width, out.height);
  const size_t plane = size_t(out.width) * out.height;
  out.pixels.resize(3 * plane);
  for (size_t i = 0; i < plane; ++i)
    for (int c = 0; c < 3; ++c)
      out.pixels[c * plane + i] = (sized.pixels[i * 3 + c] / 255.0f - m.image_mean[c]) / m.image_std[c];
  return out;
}

// Splits [batch, n, dim] patch tokens into L2-normalised grids.
std::vector<PatchGrid> split_grids(const Tensor& t, int rows, int cols) {
  const int batch = int(t.shape[0]), n = int(t.shape[1]), dim = int(t.shape[2]);
  std::vector<PatchGrid> out(batch);
  for (int b = 0; b < batch; ++b) {
    PatchGrid& g = out[b];
    g.rows = rows;
    g.cols = cols;
    g.dim = dim;
    g.tokens.assign(t.data.begin() + size_t(b) * n * dim, t.data.begin() + size_t(b + 1) * n * dim);
    for (int i = 0; i < n; ++i) {
      float* v = &g.tokens[size_t(i) * dim];
      double s = 0;
      for (int k = 0; k < dim; ++k) s += double(v[k]) * v[k];
      float inv = s > 0 ? float(1.0 / std::sqrt(s)) : 0.0f;
      for (int k = 0; k < dim; ++k) v[k] *= inv;
    }
  }
  return out;
}

int64_t grid_bytes(const PatchGrid& g) { return int64_t(g.tokens.size() * sizeof(float)) + 64; }

constexpr int kBatch = 8;  // forwards per engine call: bounds scratch memory

}  // namespace

Explainer::Explainer(const Library& library, EngineParams engine, ExplainParams params)
    : library_(library), engine_params_(std::move(engine)), params_(params) {}

Explainer::~Explainer() = default;

const Engine& Explainer::engine() {
  std::lock_guard<std::mutex> g(engine_mu_);
  if (!engine_) {
    EngineParams p = engine_params_;
    if (p.model_dir.empty()) p.model_dir = library_.model_dir();
    if (p.model_dir.empty())
      throw Error("library " + library_.dir() + " has no model recorded: index it first", ErrorCode::NotFound);
    engine_ = Engine::open(p);
  }
  return *engine_;
}

PatchGrid Explainer::picture_patches(const RgbImage& picture) {
  const Engine& e = engine();
  ModelPicture mp = model_picture(picture, e.info(), params_.max_side);
  ForwardRequest req;
  req.pooler = false;
  req.patch_tokens = true;
  auto out = e.forward(mp.pixels.data(), 1, mp.height, mp.width, req);
  const int p = e.info().patch_size;
  return split_grids(out.patch_tokens, mp.height / p, mp.width / p)[0];
}

std::vector<PatchGrid> Explainer::photo_patches(const std::vector<int64_t>& ids) {
  std::vector<PatchGrid> out(ids.size());
  std::vector<size_t> missing;
  {
    std::lock_guard<std::mutex> g(cache_mu_);
    for (size_t i = 0; i < ids.size(); ++i) {
      auto it = by_id_.find(ids[i]);
      if (it == by_id_.end()) {
        missing.push_back(i);
        continue;
      }
      lru_.splice(lru_.begin(), lru_, it->second);
      out[i] = it->second->second;
    }
  }
  if (missing.empty()) return out;
  const Engine& e = engine();
  const int p = e.info().patch_size;
  // Decode, then forward in batches of equal input shape (one engine call per shape).
  std::map<std::pair<int, int>, std::vector<std::pair<size_t, ModelPicture>>> by_shape;
  for (size_t i : missing) {
    auto rec = library_.photo(ids[i]);
    if (!rec) throw Error("no photo with id " + std::to_string(ids[i]), ErrorCode::NotFound);
    if (params_.may_read_file && !params_.may_read_file(*rec)) continue;  // stays empty, uncached
    ModelPicture mp = model_picture(load_display_picture(*rec, params_.max_side), e.info(), params_.max_side);
    by_shape[{mp.height, mp.width}].emplace_back(i, std::move(mp));
  }
  ForwardRequest req;
  req.pooler = false;
  req.patch_tokens = true;
  for (auto& [shape, items] : by_shape) {
    auto [h, w] = shape;
    const size_t plane = size_t(3) * h * w;
    for (size_t start = 0; start < items.size(); start += kBatch) {
      size_t n = std::min<size_t>(kBatch, items.size() - start);
      std::vector<float> batch(n * plane);
      for (size_t b = 0; b < n; ++b)
        std::copy(items[start + b].second.pixels.begin(), items[start + b].second.pixels.end(), batch.begin() + b * plane);
      auto grids = split_grids(e.forward(batch.data(), int(n), h, w, req).patch_tokens, h / p, w / p);
      for (size_t b = 0; b < n; ++b) out[items[start + b].first] = std::move(grids[b]);
    }
  }
  std::lock_guard<std::mutex> g(cache_mu_);
  for (size_t i : missing) {
    if (out[i].empty() || by_id_.count(ids[i])) continue;
    lru_.emplace_front(ids[i], out[i]);
    by_id_[ids[i]] = lru_.begin();
    cached_bytes_ += grid_bytes(out[i]);
  }
  while (cached_bytes_ > params_.cache_bytes && !lru_.empty()) {
    cached_bytes_ -= grid_bytes(lru_.back().second);
    by_id_.erase(lru_.back().first);
    lru_.pop_back();
  }
  return out;
}

std::string Explainer::remember_query(std::vector<uint8_t> bytes) {
  static std::mt19937_64 rng{std::random_device{}()};
  std::lock_guard<std::mutex> g(cache_mu_);
  std::ostringstream t;
  t << std::hex << rng() << "-" << ++token_counter_;
  queries_.push_front({t.str(), std::move(bytes), {}});
  int64_t total = 0;
  for (auto it = queries_.begin(); it != queries_.end();) {
    total += int64_t(it->bytes.size() + it->grid.tokens.size() * sizeof(float));
    bool keep = it == queries_.begin() ||
                (total <= params_.query_bytes && std::distance(queries_.begin(), it) < params_.query_tokens);
    it = keep ? std::next(it) : queries_.erase(it);
  }
  return t.str();
}

std::optional<PatchGrid> Explainer::recall_query(const std::string& token) {
  std::vector<uint8_t> bytes;
  {
    std::lock_guard<std::mutex> g(cache_mu_);
    auto it = std::find_if(queries_.begin(), queries_.end(), [&](const KeptQuery& q) { return q.token == token; });
    if (it == queries_.end()) return std::nullopt;
    queries_.splice(queries_.begin(), queries_, it);
    if (!it->grid.empty()) return it->grid;
    bytes = it->bytes;
  }
  PatchGrid grid = picture_patches(decode_picture_bytes(bytes, "query upload"));
  std::lock_guard<std::mutex> g(cache_mu_);
  for (auto& q : queries_)
    if (q.token == token) {
      q.grid = grid;
      q.bytes.clear();
      q.bytes.shrink_to_fit();
    }
  return grid;
}

SearchResults Explainer::region_search(Searcher& searcher, const SearchQuery& base, const RgbImage& picture,
                                       const Region& region, std::optional<int64_t> exclude_id,
                                       RegionSearchTimings* timings) {
  validate_region(region);
  RegionSearchTimings t;
  auto t0 = Clock::now();
  RgbImage crop = crop_region(picture, region);
  SearchQuery first = base;
  first.positive_ids.clear();
  first.positive_files.clear();
  first.positive_bytes = {encode_png(crop)};
  first.k = std::max(params_.rerank, base.k + base.offset + 1);
  first.offset = 0;
  first.min_score = -2.0f;
  first.load_photos = true;
  t.crop_ms = ms_since(t0);

  auto t1 = Clock::now();
  SearchResults res = searcher.search(first);
  t.first_stage_ms = ms_since(t1);

  auto t2 = Clock::now();
  std::vector<int64_t> ids;
  for (auto& h : res.hits) ids.push_back(h.id);
  bool rerank = params_.patch_weight > 0;
  PatchGrid region_grid;
  if (rerank) region_grid = params_.region_from_crop ? picture_patches(crop) : picture_patches(picture).sub_grid(region);
  auto grids = rerank ? photo_patches(ids) : std::vector<PatchGrid>(ids.size());
  t.features_ms = ms_since(t2);

  auto t3 = Clock::now();
  std::vector<SearchHit> hits;
  for (size_t i = 0; i < res.hits.size(); ++i) {
    SearchHit h = std::move(res.hits[i]);
    if (exclude_id && h.id == *exclude_id) continue;
    float w = params_.patch_weight;
    if (rerank && !grids[i].empty()) h.semantic = w * region_containment(region_grid, grids[i]) + (1 - w) * h.semantic;
    h.score = base.colors.empty() && base.alpha >= 1.0f ? h.semantic
                                                        : base.alpha * h.semantic + (1 - base.alpha) * h.color;
    if (h.score < base.min_score) continue;
    hits.push_back(std::move(h));
  }
  std::stable_sort(hits.begin(), hits.end(), [](const SearchHit& a, const SearchHit& b) { return a.score > b.score; });
  size_t from = std::min<size_t>(base.offset, hits.size());
  size_t to = std::min<size_t>(from + base.k, hits.size());
  res.hits.assign(std::make_move_iterator(hits.begin() + from), std::make_move_iterator(hits.begin() + to));
  t.rerank_ms = ms_since(t3);
  t.total_ms = ms_since(t0);
  res.timings.total_ms = t.total_ms;
  if (timings) *timings = t;
  return res;
}

}  // namespace vf
