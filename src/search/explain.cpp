// Patch-level similarity: regions, heatmaps, region containment, and the pictures they are
// drawn on (display picture, crop, overlay, PNG). The engine side is in explainer.cpp.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "viewfinder/explain.h"

namespace vf {

namespace {

// Best cosine of each patch of `a` against `b`'s patches and of each patch of `b` against
// `a`'s, from one pass over the similarity matrix (both L2-normalised, n x dim).
void best_matches(const PatchGrid& a, const PatchGrid& b, std::vector<float>& best_a, std::vector<float>& best_b) {
  const int na = a.rows * a.cols, nb = b.rows * b.cols, d = a.dim;
  best_a.assign(na, -1.0f);
  best_b.assign(nb, -1.0f);
  for (int i = 0; i < na; ++i) {
    const float* ai = &a.tokens[size_t(i) * d];
    float m = -1.0f;
    for (int j = 0; j < nb; ++j) {
      const float* bj = &b.tokens[size_t(j) * d];
      float s = 0;
#pragma omp simd reduction(+ : s)
      for (int k = 0; k < d; ++k) s += ai[k] * bj[k];
      m = std::max(m, s);
      best_b[j] = std::max(best_b[j], s);
    }
    best_a[i] = m;
  }
}

void check_same_dim(const PatchGrid& a, const PatchGrid& b) {
  if (a.empty() || b.empty() || a.dim != b.dim)
    throw Error("patch features are missing or come from different models", ErrorCode::InvalidArgument);
}

// A blue -> cyan -> yellow -> red ramp for t in [0, 1].
void heat_colour(float t, float rgb[3]) {
  t = std::clamp(t, 0.0f, 1.0f);
  rgb[0] = 255.0f * std::clamp(2.0f * t - 0.5f, 0.0f, 1.0f);
  rgb[1] = 255.0f * std::clamp(t < 0.5f ? 2.0f * t : 2.0f - 2.0f * t + 0.5f, 0.0f, 1.0f);
  rgb[2] = 255.0f * std::clamp(1.0f - 2.0f * t, 0.0f, 1.0f);
}

}  // namespace

void validate_region(const Region& r) {
  auto bad = [](const std::string& why) {
    return Error("bad region: " + why + " (give x,y,w,h as fractions 0..1 of the picture, w and h >= 0.02)",
                 ErrorCode::InvalidArgument);
  };
  for (double v : {r.x, r.y, r.w, r.h})
    if (!std::isfinite(v)) throw bad("not a number");
  if (r.x < 0 || r.y < 0) throw bad("x and y must be >= 0");
  if (r.w < 0.02 || r.h < 0.02) throw bad("w and h must be >= 0.02");
  if (r.x + r.w > 1.0 + 1e-6 || r.y + r.h > 1.0 + 1e-6) throw bad("the box must end inside the picture (x + w <= 1, y + h <= 1)");
}

Region parse_region(const std::string& text) {
  std::vector<double> v;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, ',')) {
    try {
      size_t pos = 0;
      v.push_back(std::stod(part, &pos));
      if (pos != part.size()) throw std::invalid_argument(part);
    } catch (const std::exception&) {
      throw Error("bad region '" + text + "': '" + part + "' is not a number", ErrorCode::InvalidArgument);
    }
  }
  if (v.size() != 4) throw Error("bad region '" + text + "': give four numbers x,y,w,h", ErrorCode::InvalidArgument);
  Region r{v[0], v[1], v[2], v[3]};
  validate_region(r);
  return r;
}

void PatchGrid::region_cells(const Region& region, int& r0, int& r1, int& c0, int& c1) const {
  // Patch index range whose centres fall in the box; at least the patch under its centre.
  auto range = [](double start, double len, int n, int& lo, int& hi) {
    lo = int(std::ceil(start * n - 0.5));
    hi = int(std::floor((start + len) * n - 0.5));
    if (hi < lo) lo = hi = std::clamp(int((start + len / 2) * n), 0, n - 1);
    lo = std::clamp(lo, 0, n - 1);
    hi = std::clamp(hi, 0, n - 1);
  };
  range(region.y, region.h, rows, r0, r1);
  range(region.x, region.w, cols, c0, c1);
}

PatchGrid PatchGrid::sub_grid(const Region& region) const {
  PatchGrid out;
  out.dim = dim;
  int r0, r1, c0, c1;
  region_cells(region, r0, r1, c0, c1);
  out.rows = r1 - r0 + 1;
  out.cols = c1 - c0 + 1;
  for (int r = r0; r <= r1; ++r)
    out.tokens.insert(out.tokens.end(), tokens.begin() + (size_t(r) * cols + c0) * dim,
                      tokens.begin() + (size_t(r) * cols + c1 + 1) * dim);
  return out;
}

Heatmaps match_region_heatmaps(const PatchGrid& query, const Region& region, const PatchGrid& photo) {
  Heatmaps h = match_heatmaps(query.sub_grid(region), photo);
  int r0, r1, c0, c1;
  query.region_cells(region, r0, r1, c0, c1);
  // Outside the region: the lowest value of either map, so that a viewer stretching the map
  // from its minimum shows it cold.
  float lo = std::min(*std::min_element(h.query_map.begin(), h.query_map.end()),
                      *std::min_element(h.photo_map.begin(), h.photo_map.end()));
  std::vector<float> full(size_t(query.rows) * query.cols, lo);
  for (int r = r0; r <= r1; ++r)
    for (int c = c0; c <= c1; ++c) full[size_t(r) * query.cols + c] = h.query_map[size_t(r - r0) * h.query_cols + (c - c0)];
  h.query_map = std::move(full);
  h.query_rows = query.rows;
  h.query_cols = query.cols;
  return h;
}

Heatmaps match_heatmaps(const PatchGrid& query, const PatchGrid& photo) {
  check_same_dim(query, photo);
  Heatmaps h;
  h.query_rows = query.rows;
  h.query_cols = query.cols;
  h.photo_rows = photo.rows;
  h.photo_cols = photo.cols;
  best_matches(query, photo, h.query_map, h.photo_map);
  return h;
}

float region_containment(const PatchGrid& region, const PatchGrid& photo) {
  check_same_dim(region, photo);
  std::vector<float> best, unused;
  best_matches(region, photo, best, unused);
  double sum = 0;
  for (float b : best) sum += b;
  return best.empty() ? 0.0f : float(sum / best.size());
}

RgbImage load_display_picture(const PhotoRecord& photo, int min_long_edge) {
  auto long_edge_ok = [&](const std::string& path, int edge) {
    return !path.empty() && edge >= min_long_edge;
  };
  int full_long = std::max(photo.meta.width, photo.meta.height);
  // Cached thumbnails are already oriented; their long edge is the ingest size or the
  // original's when that is smaller.
  for (const auto& [path, edge] : {std::pair{photo.thumb_path, 256}, std::pair{photo.preview_path, 1280}}) {
    int real = std::min(edge, full_long > 0 ? full_long : edge);
    if (long_edge_ok(path, real) || (!path.empty() && real >= full_long && full_long > 0)) {
      try {
        return decode_rgb(path);
      } catch (const Error&) {
        // A missing or damaged cache file: fall through to the original.
      }
    }
  }
  return decode_rgb(photo.path, std::max(1, min_long_edge * 3 / 4));
}

RgbImage decode_picture_bytes(const std::vector<uint8_t>& bytes, const std::string& name) {
  // Shrink on load: a region needs detail, not 24 MP.
  return decode_rgb_bytes(bytes.data(), bytes.size(), name, 1280);
}

RgbImage crop_region(const RgbImage& picture, const Region& region) {
  int x0 = std::clamp(int(std::floor(region.x * picture.width)), 0, picture.width - 1);
  int y0 = std::clamp(int(std::floor(region.y * picture.height)), 0, picture.height - 1);
  int x1 = std::clamp(int(std::ceil((region.x + region.w) * picture.width)), x0 + 1, picture.width);
  int y1 = std::clamp(int(std::ceil((region.y + region.h) * picture.height)), y0 + 1, picture.height);
  RgbImage out;
  out.width = x1 - x0;
  out.height = y1 - y0;
  out.pixels.resize(size_t(out.width) * out.height * 3);
  for (int y = 0; y < out.height; ++y)
    std::copy_n(&picture.pixels[(size_t(y0 + y) * picture.width + x0) * 3], size_t(out.width) * 3,
                &out.pixels[size_t(y) * out.width * 3]);
  return out;
}

RgbImage resize_picture(const RgbImage& picture, int width, int height) {
  return resize_rgb(picture, width, height);
}

RgbImage heatmap_overlay(const RgbImage& picture, const std::vector<float>& map, int rows, int cols) {
  if (rows <= 0 || cols <= 0 || map.size() != size_t(rows) * cols)
    throw Error("heatmap size does not match its grid", ErrorCode::InvalidArgument);
  auto [lo_it, hi_it] = std::minmax_element(map.begin(), map.end());
  float lo = *lo_it, span = std::max(*hi_it - lo, 1e-6f);
  RgbImage out = picture;
  for (int y = 0; y < picture.height; ++y) {
    // Bilinear over patch centres.
    float gy = std::clamp((y + 0.5f) * rows / picture.height - 0.5f, 0.0f, float(rows - 1));
    int y0 = int(gy), y1 = std::min(y0 + 1, rows - 1);
    float fy = gy - y0;
    for (int x = 0; x < picture.width; ++x) {
      float gx = std::clamp((x + 0.5f) * cols / picture.width - 0.5f, 0.0f, float(cols - 1));
      int x0 = int(gx), x1 = std::min(x0 + 1, cols - 1);
      float fx = gx - x0;
      float v = (1 - fy) * ((1 - fx) * map[y0 * cols + x0] + fx * map[y0 * cols + x1]) +
                fy * ((1 - fx) * map[y1 * cols + x0] + fx * map[y1 * cols + x1]);
      float rgb[3];
      heat_colour((v - lo) / span, rgb);
      uint8_t* p = &out.pixels[(size_t(y) * picture.width + x) * 3];
      for (int c = 0; c < 3; ++c) p[c] = uint8_t(std::lround(0.5f * p[c] + 0.5f * rgb[c]));
    }
  }
  return out;
}

}  // namespace vf
