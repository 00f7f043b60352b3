// Viewfinder public API: why a result matched (patch similarity heatmaps) and search by a
// region of a picture. Both work on DINOv2 patch tokens computed on demand from the cached
// thumbnails (no index-time storage; docs/search.md, "Why it matched", has the measurements
// and the storage design that was weighed against it).
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "viewfinder/engine.h"
#include "viewfinder/image.h"
#include "viewfinder/library.h"
#include "viewfinder/search.h"

namespace vf {

// A box on a picture as displayed (EXIF orientation applied): fractions 0..1, origin top-left.
struct Region {
  double x = 0, y = 0, w = 1, h = 1;
};
// "x,y,w,h" -> Region, validated (w, h >= 0.02, x + w <= 1, y + h <= 1). Throws vf::Error
// (InvalidArgument) naming the problem.
Region parse_region(const std::string& text);
void validate_region(const Region& region);

// L2-normalised patch tokens of one picture, row-major over a rows x cols grid that covers
// the whole picture as displayed (the picture is resized, aspect kept, to fit the model's
// crop size, each side a multiple of the patch size; no centre crop).
struct PatchGrid {
  int rows = 0, cols = 0, dim = 0;
  std::vector<float> tokens;  // rows*cols*dim
  bool empty() const { return tokens.empty(); }
  // The patches whose centres lie inside `region` (at least one patch: the nearest).
  PatchGrid sub_grid(const Region& region) const;
  // Their rows [row0, row1] and columns [col0, col1], inclusive.
  void region_cells(const Region& region, int& row0, int& row1, int& col0, int& col1) const;
};

// Per-patch best cosine of each side against the other side's patches.
struct Heatmaps {
  int query_rows = 0, query_cols = 0, photo_rows = 0, photo_cols = 0;
  std::vector<float> query_map, photo_map;  // row-major, top-left first
};
Heatmaps match_heatmaps(const PatchGrid& query, const PatchGrid& photo);
// Only `region` of the query is matched: the photo map is against the region's patches, and
// the query map keeps the query's whole grid (so it lies over the whole picture) with the
// patches outside the region at the lowest value of either map.
Heatmaps match_region_heatmaps(const PatchGrid& query, const Region& region, const PatchGrid& photo);

// How well `region` (a query's patches) is contained in `photo`: for each region patch its
// best cosine over the photo's patches, averaged. In [-1, 1].
float region_containment(const PatchGrid& region, const PatchGrid& photo);

// The picture of a library photo as displayed, at least `min_long_edge` long where the
// original allows: the cached thumbnail, else the cached preview, else the original.
RgbImage load_display_picture(const PhotoRecord& photo, int min_long_edge);
// Decodes image bytes (an upload) with orientation applied. Throws vf::Error.
RgbImage decode_picture_bytes(const std::vector<uint8_t>& bytes, const std::string& name);
// The region of a picture, in pixels (at least 1x1).
RgbImage crop_region(const RgbImage& picture, const Region& region);
// The picture resized to width x height (bicubic, as the model input is).
RgbImage resize_picture(const RgbImage& picture, int width, int height);
// The picture with `map` (rows x cols, stretched from its min to its max) drawn over it as a
// heatmap (blue -> red), blended half and half.
RgbImage heatmap_overlay(const RgbImage& picture, const std::vector<float>& map, int rows, int cols);

struct ExplainParams {
  int max_side = 224;             // long edge of the model input for patch features
  int64_t cache_bytes = 64 << 20; // LRU of photos' patch features (by photo id)
  int query_tokens = 64;          // uploaded queries kept for explain (by token)
  int64_t query_bytes = 64 << 20; // their bytes, at most
  int rerank = 60;                // region search: candidates re-ranked by patch matching
  // Region search: semantic = patch_weight * containment + (1 - patch_weight) * the first
  // stage's cosine (0: no re-rank, the crop's global search alone).
  float patch_weight = 0.5f;  // measured best of 0, 0.5, 1 (docs/search.md)
  // Region search: the region's patches from the whole query picture's grid (same scale as
  // the candidates' patches), or from a forward of the crop alone (finer, out of context).
  bool region_from_crop = false;
  // Whether a library photo's file may be read for its patch features (the server: only files
  // that resolve inside the library roots). A photo it refuses keeps its first-stage score in a
  // region search; empty: every file may be read.
  std::function<bool(const PhotoRecord&)> may_read_file;
};

struct RegionSearchTimings {
  double crop_ms = 0, first_stage_ms = 0, features_ms = 0, rerank_ms = 0, total_ms = 0;
};

// Opens the engine lazily (the library's model unless EngineParams says otherwise), keeps an
// LRU of patch features, and remembers uploaded queries for explain. Thread-safe.
class Explainer {
 public:
  explicit Explainer(const Library& library, EngineParams engine = {}, ExplainParams params = {});
  ~Explainer();
  Explainer(const Explainer&) = delete;
  Explainer& operator=(const Explainer&) = delete;

  const ExplainParams& params() const { return params_; }
  // Changes the knobs between calls (benchmarks); not while other threads use the Explainer.
  void set_params(const ExplainParams& params) { params_ = params; }

  // Patch features of a picture (one forward).
  PatchGrid picture_patches(const RgbImage& picture);
  // Patch features of library photos, cached; the uncached ones are computed in batches of
  // equal grid shape. Throws vf::Error (NotFound) for an unknown id. A photo that
  // params.may_read_file refuses gets an empty grid (not cached).
  std::vector<PatchGrid> photo_patches(const std::vector<int64_t>& ids);

  // An opaque token under which an uploaded query is kept (LRU of params.query_tokens, at
  // most query_bytes in all): its bytes until the first recall, which decodes them, computes
  // the patch features and keeps those instead. nullopt once the token has been evicted.
  std::string remember_query(std::vector<uint8_t> bytes);
  std::optional<PatchGrid> recall_query(const std::string& token);

  // Region search: the first stage is `base` with the crop of `picture` as its only example
  // (so filters, alpha and colours apply to the region), asking for params.rerank
  // candidates; the candidates are then re-ranked by
  //   alpha * region_containment(crop patches, candidate) + (1 - alpha) * colour
  // and cut to base.k after base.offset. `exclude_id` (the query's own photo) is dropped.
  SearchResults region_search(Searcher& searcher, const SearchQuery& base, const RgbImage& picture,
                              const Region& region, std::optional<int64_t> exclude_id,
                              RegionSearchTimings* timings = nullptr);

 private:
  const Engine& engine();
  PatchGrid forward_one(const std::vector<float>& pixels, int height, int width);

  const Library& library_;
  EngineParams engine_params_;
  ExplainParams params_;
  std::mutex engine_mu_;
  std::unique_ptr<Engine> engine_;

  std::mutex cache_mu_;
  std::list<std::pair<int64_t, PatchGrid>> lru_;  // most recent first
  std::map<int64_t, std::list<std::pair<int64_t, PatchGrid>>::iterator> by_id_;
  int64_t cached_bytes_ = 0;
  struct KeptQuery {
    std::string token;
    std::vector<uint8_t> bytes;  // until the first recall
    PatchGrid grid;              // after it
  };
  std::list<KeptQuery> queries_;  // most recent first
  uint64_t token_counter_ = 0;
};

}  // namespace vf
