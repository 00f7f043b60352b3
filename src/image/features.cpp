// Derived features from decoded pixels: colour histogram, DCT perceptual hash, JPEG thumbnails.
#include <vips/vips8>

#include <algorithm>
#include <cmath>
#include <memory>

#include "image/image_internal.h"

namespace vf::image {
namespace {

// Area-average resampling weights along one axis: output cell i covers source interval
// [i*in/out, (i+1)*in/out); each source pixel contributes its overlap with that interval.
struct AreaWeights {
  std::vector<std::vector<std::pair<int, double>>> taps;
};
AreaWeights area_weights(int in, int out) {
  AreaWeights w;
  w.taps.resize(out);
  const double scale = static_cast<double>(in) / out;
  for (int i = 0; i < out; ++i) {
    const double a = i * scale, b = (i + 1) * scale;
    double total = 0;
    for (int j = static_cast<int>(std::floor(a)); j < std::min(in, static_cast<int>(std::ceil(b))); ++j) {
      const double overlap = std::min<double>(b, j + 1) - std::max<double>(a, j);
      if (overlap > 0) w.taps[i].push_back({j, overlap}), total += overlap;
    }
    for (auto& t : w.taps[i]) t.second /= total;
  }
  return w;
}

}  // namespace

std::array<float, 512> color_histogram(const RgbImage& rgb) {
  std::array<float, 512> hist{};
  std::vector<uint32_t> counts(512, 0);
  const size_t n = static_cast<size_t>(rgb.width) * rgb.height;
  const uint8_t* p = rgb.pixels.data();
  for (size_t i = 0; i < n; ++i, p += 3) ++counts[(p[0] >> 5) * 64 + (p[1] >> 5) * 8 + (p[2] >> 5)];
  if (n == 0) return hist;
  for (int i = 0; i < 512; ++i) hist[i] = static_cast<float>(static_cast<double>(counts[i]) / n);
  return hist;
}

uint64_t perceptual_hash(const RgbImage& rgb) {
  constexpr int N = 32;
  if (rgb.width <= 0 || rgb.height <= 0) return 0;
  // Luma (ITU-R 601, as Pillow's convert("L")), area-averaged to 32x32.
  const AreaWeights wx = area_weights(rgb.width, N), wy = area_weights(rgb.height, N);
  std::vector<double> rows(static_cast<size_t>(rgb.height) * N, 0.0);
  for (int y = 0; y < rgb.height; ++y) {
    const uint8_t* row = rgb.pixels.data() + static_cast<size_t>(y) * rgb.width * 3;
    for (int i = 0; i < N; ++i) {
      double s = 0;
      for (const auto& [j, w] : wx.taps[i])
        s += w * (0.299 * row[j * 3] + 0.587 * row[j * 3 + 1] + 0.114 * row[j * 3 + 2]);
      rows[static_cast<size_t>(y) * N + i] = s;
    }
  }
  double g[N][N] = {};
  for (int i = 0; i < N; ++i)
    for (int x = 0; x < N; ++x) {
      double s = 0;
      for (const auto& [j, w] : wy.taps[i]) s += w * rows[static_cast<size_t>(j) * N + x];
      g[i][x] = s;
    }
  // 2-D DCT-II, only the 8x8 lowest frequencies are needed.
  double cosines[8][N];
  for (int k = 0; k < 8; ++k)
    for (int n = 0; n < N; ++n) cosines[k][n] = std::cos(M_PI * k * (2 * n + 1) / (2.0 * N));
  double tmp[8][N];  // DCT along x
  for (int y = 0; y < N; ++y)
    for (int v = 0; v < 8; ++v) {
      double s = 0;
      for (int x = 0; x < N; ++x) s += g[y][x] * cosines[v][x];
      tmp[v][y] = s;
    }
  double coef[64];
  for (int u = 0; u < 8; ++u)
    for (int v = 0; v < 8; ++v) {
      double s = 0;
      for (int y = 0; y < N; ++y) s += tmp[v][y] * cosines[u][y];
      coef[u * 8 + v] = s;
    }
  // Median of the 63 AC coefficients (the DC term is the mean brightness and would skew it).
  double ac[63];
  std::copy(coef + 1, coef + 64, ac);
  std::nth_element(ac, ac + 31, ac + 63);
  const double median = ac[31];
  uint64_t hash = 0;
  for (int i = 0; i < 64; ++i)
    if (coef[i] > median) hash |= uint64_t{1} << (63 - i);  // row-major, first coefficient = MSB
  return hash;
}

namespace {

// Pillow's Image.reduce(f): each output pixel is the mean of an f x f block (blocks at the right
// and bottom edges are partial and averaged over what they hold).
RgbImage box_reduce(const RgbImage& in, int f) {
  RgbImage out;
  out.width = (in.width + f - 1) / f;
  out.height = (in.height + f - 1) / f;
  out.pixels.resize(static_cast<size_t>(out.width) * out.height * 3);
  std::vector<uint32_t> sums(static_cast<size_t>(out.width) * 3);
  for (int oy = 0; oy < out.height; ++oy) {
    std::fill(sums.begin(), sums.end(), 0u);
    const int y0 = oy * f, y1 = std::min(in.height, y0 + f);
    for (int y = y0; y < y1; ++y) {
      const uint8_t* row = in.pixels.data() + static_cast<size_t>(y) * in.width * 3;
      for (int x = 0; x < in.width; ++x) {
        uint32_t* s = &sums[static_cast<size_t>(x / f) * 3];
        s[0] += row[x * 3];
        s[1] += row[x * 3 + 1];
        s[2] += row[x * 3 + 2];
      }
    }
    uint8_t* orow = out.pixels.data() + static_cast<size_t>(oy) * out.width * 3;
    for (int ox = 0; ox < out.width; ++ox) {
      const uint32_t n = static_cast<uint32_t>((std::min(in.width, (ox + 1) * f) - ox * f) * (y1 - y0));
      for (int c = 0; c < 3; ++c) orow[ox * 3 + c] = static_cast<uint8_t>((sums[ox * 3 + c] + n / 2) / n);
    }
  }
  return out;
}

}  // namespace

// Pillow's thumbnail() recipe (reducing_gap 2): a box reduce by an integer factor while the
// image is still over twice the target, then the antialiased bicubic resize to the exact size.
// On 2 cores this matters: libvips' thumbnail_image (lanczos3) took ~24 ms CPU for a 1280 ->
// 256 px thumbnail, this ~3 ms, with the same look at thumbnail sizes.
RgbImage downsize(const RgbImage& rgb, int long_edge) {
  const int long_in = std::max(rgb.width, rgb.height);
  if (long_in <= long_edge || long_edge < 1) return rgb;
  const double scale = static_cast<double>(long_edge) / long_in;
  const int out_w = std::max(1, static_cast<int>(std::lround(rgb.width * scale)));
  const int out_h = std::max(1, static_cast<int>(std::lround(rgb.height * scale)));
  const int factor = static_cast<int>(static_cast<double>(long_in) / long_edge / 2.0);
  if (factor >= 2) return resize_bicubic_pillow(box_reduce(rgb, factor), out_w, out_h);
  return resize_bicubic_pillow(rgb, out_w, out_h);
}

std::vector<uint8_t> encode_thumbnail(const RgbImage& rgb, int long_edge, int quality) {
  ensure_initialised();
  const RgbImage small = downsize(rgb, long_edge);
  vips::VImage img = vips::VImage::new_from_memory(const_cast<uint8_t*>(small.pixels.data()),
                                                   small.pixels.size(), small.width, small.height, 3,
                                                   VIPS_FORMAT_UCHAR);
  VipsBlob* blob = img.jpegsave_buffer(vips::VImage::option()
                                           ->set("Q", quality)
                                           ->set("strip", true)
                                           ->set("optimize_coding", true));
  std::unique_ptr<VipsBlob, void (*)(VipsBlob*)> guard(blob, [](VipsBlob* b) { vips_area_unref(VIPS_AREA(b)); });
  size_t len = 0;
  const void* data = vips_blob_get(blob, &len);
  return std::vector<uint8_t>(static_cast<const uint8_t*>(data), static_cast<const uint8_t*>(data) + len);
}

}  // namespace vf::image
