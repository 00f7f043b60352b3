// Model input: the Hugging Face BitImageProcessor (dinov2) pipeline, reproduced bit-exactly
// from Pillow's C code (libImaging/Resample.c) so that our embeddings equal the reference
// Python ones for identical decoded pixels. See docs/ingestion.md and the golden README §7.
#include <cmath>
#include <algorithm>
#include <cstring>
#include <string>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include "image/image_internal.h"
#include "viewfinder/image.h"

namespace vf {
namespace image {
namespace {

// Pillow's bicubic kernel with a = -0.5, support 2.
double bicubic_filter(double x) {
  constexpr double a = -0.5;
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

// The resampling loops are integer multiply-adds that vectorise well with AVX2's 32-bit
// multiplies (SSE2 has none): an AVX2 clone is picked at run time where the CPU has it. The
// results are the same integers either way.
#if defined(__x86_64__) && defined(__GNUC__)
#define VF_AVX2_CLONE __attribute__((target_clones("avx2", "default")))
#else
#define VF_AVX2_CLONE
#endif

constexpr int kPrecisionBits = 32 - 8 - 2;  // Pillow's PRECISION_BITS for 8-bit images

struct Coeffs {
  int ksize = 0;
  std::vector<int> bounds;  // per output: xmin, count
  std::vector<int32_t> kk;  // per output: ksize fixed-point weights
};

// precompute_coeffs() + normalize_coeffs_8bpc() from Pillow, same operation order so that the
// double rounding (and hence the fixed-point weights) are identical.
// Only outputs [o_begin, o_end) are computed (the centre crop): each output's weights depend on
// its own index alone, so this is bit-identical to resizing everything and cropping, and a
// 1x60000 image does not make a 256x15-million intermediate.
Coeffs precompute_coeffs(int in_size, int out_size, int o_begin, int o_end) {
  const double support_base = 2.0;  // bicubic
  double scale = static_cast<double>(static_cast<float>(in_size) - 0.0f) / out_size;
  double filterscale = scale < 1.0 ? 1.0 : scale;
  const double support = support_base * filterscale;
  Coeffs c;
  c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  const int n_out = o_end - o_begin;
  c.bounds.resize(static_cast<size_t>(n_out) * 2);
  c.kk.assign(static_cast<size_t>(n_out) * c.ksize, 0);
  std::vector<double> k(c.ksize);
  for (int xx = o_begin; xx < o_end; ++xx) {
    const int slot = xx - o_begin;
    const double center = 0.0 + (xx + 0.5) * scale;
    double ww = 0.0;
    const double ss = 1.0 / filterscale;
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    for (int x = 0; x < xmax; ++x) {
      const double w = bicubic_filter((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (int x = 0; x < xmax; ++x) {
      if (ww != 0.0) k[x] /= ww;
    }
    for (int x = 0; x < xmax; ++x) {
      const double v = k[x] * (1 << kPrecisionBits);
      c.kk[static_cast<size_t>(slot) * c.ksize + x] =
          static_cast<int32_t>(k[x] < 0 ? -0.5 + v : 0.5 + v);
    }
    c.bounds[slot * 2] = xmin;
    c.bounds[slot * 2 + 1] = xmax;
  }
  return c;
}

inline uint8_t clip8(int32_t in) {
  if (in >= (1 << kPrecisionBits << 8)) return 255;
  if (in <= 0) return 0;
  return static_cast<uint8_t>(in >> kPrecisionBits);
}

// Pillow's horizontal loop: a pixel at a time, 3 channels, the output's taps.
void horizontal_rows_scalar(const RgbImage& in, const Coeffs& c, RgbImage& out) {
  const int out_w = out.width;
  for (int y = 0; y < in.height; ++y) {
    const uint8_t* row = in.pixels.data() + static_cast<size_t>(y) * in.width * 3;
    uint8_t* orow = out.pixels.data() + static_cast<size_t>(y) * out_w * 3;
    for (int xx = 0; xx < out_w; ++xx) {
      const int xmin = c.bounds[xx * 2], xmax = c.bounds[xx * 2 + 1];
      const int32_t* k = c.kk.data() + static_cast<size_t>(xx) * c.ksize;
      int32_t s0 = 1 << (kPrecisionBits - 1), s1 = s0, s2 = s0;
      for (int x = 0; x < xmax; ++x) {
        const uint8_t* p = row + (x + xmin) * 3;
        s0 += p[0] * k[x];
        s1 += p[1] * k[x];
        s2 += p[2] * k[x];
      }
      orow[xx * 3] = clip8(s0);
      orow[xx * 3 + 1] = clip8(s1);
      orow[xx * 3 + 2] = clip8(s2);
    }
  }
}

#if defined(__x86_64__) && defined(__GNUC__)
// The same sums with AVX2, two taps per instruction: the row widened to 4 bytes a pixel (RGB0),
// 8 bytes (two pixels) zero-extended to 8 int32 lanes and multiplied by their two weights, each
// repeated 4 times; the halves added at the end. The same integer products and sums in another
// order, so bit-identical with the scalar loop (it was ~25 % of a photo's decode CPU).
__attribute__((target("avx2"))) void horizontal_rows_avx2(const RgbImage& in, const Coeffs& c, RgbImage& out) {
  const int out_w = out.width;
  const int pairs = (c.ksize + 1) / 2;
  std::vector<int32_t> weights(static_cast<size_t>(out_w) * pairs * 8, 0);
  for (int xx = 0; xx < out_w; ++xx)
    for (int t = 0; t < c.ksize; ++t)
      for (int ch = 0; ch < 4; ++ch)
        weights[(static_cast<size_t>(xx) * pairs + t / 2) * 8 + (t % 2) * 4 + ch] =
            c.kk[static_cast<size_t>(xx) * c.ksize + t];
  // One pixel of zeros past the end: an odd tap count reads it, with a weight of 0.
  std::vector<uint8_t> rgb0(static_cast<size_t>(in.width + 2) * 4, 0);
  const __m128i half = _mm_set1_epi32(1 << (kPrecisionBits - 1));
  for (int y = 0; y < in.height; ++y) {
    const uint8_t* row = in.pixels.data() + static_cast<size_t>(y) * in.width * 3;
    for (int x = 0; x < in.width; ++x) std::memcpy(&rgb0[static_cast<size_t>(x) * 4], row + x * 3, 3);
    uint8_t* orow = out.pixels.data() + static_cast<size_t>(y) * out_w * 3;
    for (int xx = 0; xx < out_w; ++xx) {
      const int xmin = c.bounds[xx * 2], n_pairs = (c.bounds[xx * 2 + 1] + 1) / 2;
      const uint8_t* p = rgb0.data() + static_cast<size_t>(xmin) * 4;
      const int32_t* w = weights.data() + static_cast<size_t>(xx) * pairs * 8;
      __m256i acc = _mm256_setzero_si256();
      for (int q = 0; q < n_pairs; ++q) {
        const __m256i px = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + q * 8)));
        const __m256i wv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + q * 8));
        acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(px, wv));
      }
      const __m128i sum = _mm_add_epi32(_mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1)), half);
      alignas(16) int32_t v[4];
      _mm_store_si128(reinterpret_cast<__m128i*>(v), sum);
      orow[xx * 3] = clip8(v[0]);
      orow[xx * 3 + 1] = clip8(v[1]);
      orow[xx * 3 + 2] = clip8(v[2]);
    }
  }
}
#endif

RgbImage resample_horizontal(const RgbImage& in, int out_full_w, int x0, int x1) {
  const Coeffs c = precompute_coeffs(in.width, out_full_w, x0, x1);
  RgbImage out;
  out.width = x1 - x0;
  out.height = in.height;
  out.pixels.resize(static_cast<size_t>(out.width) * in.height * 3);
#if defined(__x86_64__) && defined(__GNUC__)
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (avx2) {
    horizontal_rows_avx2(in, c, out);
    return out;
  }
#endif
  horizontal_rows_scalar(in, c, out);
  return out;
}

VF_AVX2_CLONE
RgbImage resample_vertical(const RgbImage& in, int out_full_h, int y0, int y1) {
  const Coeffs c = precompute_coeffs(in.height, out_full_h, y0, y1);
  const int out_h = y1 - y0;
  RgbImage out;
  out.width = in.width;
  out.height = out_h;
  out.pixels.resize(static_cast<size_t>(in.width) * out_h * 3);
  const size_t stride = static_cast<size_t>(in.width) * 3;
  // Whole source rows at a time into a row of sums (contiguous, so the compiler vectorises it;
  // a column at a time walked memory with a stride). Integer sums: the order changes nothing.
  std::vector<int32_t> sums(stride);
  for (int yy = 0; yy < out_h; ++yy) {
    const int ymin = c.bounds[yy * 2], ymax = c.bounds[yy * 2 + 1];
    const int32_t* k = c.kk.data() + static_cast<size_t>(yy) * c.ksize;
    std::fill(sums.begin(), sums.end(), int32_t{1} << (kPrecisionBits - 1));
    for (int y = 0; y < ymax; ++y) {
      const uint8_t* src = in.pixels.data() + static_cast<size_t>(y + ymin) * stride;
      const int32_t w = k[y];
      int32_t* acc = sums.data();
      for (size_t xb = 0; xb < stride; ++xb) acc[xb] += src[xb] * w;
    }
    uint8_t* orow = out.pixels.data() + yy * stride;
    for (size_t xb = 0; xb < stride; ++xb) orow[xb] = clip8(sums[xb]);
  }
  return out;
}

}  // namespace

RgbImage crop_rgb(const RgbImage& in, int x0, int y0, int w, int h) {
  RgbImage out;
  out.width = w;
  out.height = h;
  out.pixels.resize(static_cast<size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y)
    std::memcpy(&out.pixels[static_cast<size_t>(y) * w * 3],
                &in.pixels[(static_cast<size_t>(y0 + y) * in.width + x0) * 3], static_cast<size_t>(w) * 3);
  return out;
}

// Pillow's resize to out_width x out_height, returning only the window [x0,x0+w) x [y0,y0+h).
RgbImage resize_bicubic_pillow_window(const RgbImage& in, int out_width, int out_height, int x0,
                                      int y0, int w, int h) {
  if (in.width <= 0 || in.height <= 0 || out_width <= 0 || out_height <= 0)
    throw Error("resize: empty image or target size", ErrorCode::InvalidArgument);
  // Pillow: horizontal pass first (uint8 intermediate), each pass skipped if its size is
  // unchanged; an identical size is a plain copy.
  RgbImage cur = out_width != in.width ? resample_horizontal(in, out_width, x0, x0 + w)
                                       : crop_rgb(in, x0, 0, w, in.height);
  cur = out_height != in.height ? resample_vertical(cur, out_height, y0, y0 + h)
                                : crop_rgb(cur, 0, y0, w, h);
  return cur;
}

RgbImage resize_bicubic_pillow(const RgbImage& in, int out_width, int out_height) {
  return resize_bicubic_pillow_window(in, out_width, out_height, 0, 0, out_width, out_height);
}

RgbImage apply_orientation(const RgbImage& in, int orientation) {
  if (orientation < 2 || orientation > 8) return in;
  const int W = in.width, H = in.height;
  const bool swap = orientation >= 5;
  RgbImage out;
  out.width = swap ? H : W;
  out.height = swap ? W : H;
  out.pixels.resize(in.pixels.size());
  for (int y = 0; y < out.height; ++y) {
    for (int x = 0; x < out.width; ++x) {
      int sx = x, sy = y;
      switch (orientation) {
        case 2: sx = W - 1 - x; sy = y; break;          // mirror horizontal
        case 3: sx = W - 1 - x; sy = H - 1 - y; break;  // rotate 180
        case 4: sx = x; sy = H - 1 - y; break;          // mirror vertical
        case 5: sx = y; sy = x; break;                  // transpose
        case 6: sx = y; sy = H - 1 - x; break;          // rotate 90 CW to display
        case 7: sx = W - 1 - y; sy = H - 1 - x; break;  // transverse
        case 8: sx = W - 1 - y; sy = x; break;          // rotate 90 CCW to display
      }
      std::memcpy(&out.pixels[(static_cast<size_t>(y) * out.width + x) * 3],
                  &in.pixels[(static_cast<size_t>(sy) * W + sx) * 3], 3);
    }
  }
  return out;
}

}  // namespace image

namespace image {
RgbImage resize_and_crop_for_model(const RgbImage& rgb, int shortest_edge, int crop) {
  if (rgb.width <= 0 || rgb.height <= 0 ||
      rgb.pixels.size() != static_cast<size_t>(rgb.width) * rgb.height * 3)
    throw Error("preprocess_for_model: empty or inconsistent image", ErrorCode::InvalidArgument);
  if (shortest_edge <= 0 || crop <= 0 || crop > shortest_edge)
    throw Error("preprocess_for_model: need 0 < crop <= shortest_edge",
                ErrorCode::InvalidArgument);
  // HF get_resize_output_image_size(default_to_square=False): the long side is
  // int(size * long / short) in Python float arithmetic, i.e. truncated.
  const int w = rgb.width, h = rgb.height;
  const int short_side = std::min(w, h), long_side = std::max(w, h);
  const double new_long_d =
      static_cast<double>(static_cast<int64_t>(shortest_edge) * long_side) / static_cast<double>(short_side);
  if (new_long_d > 1e9)
    throw Error("preprocess_for_model: aspect ratio " + std::to_string(long_side) + ":" +
                    std::to_string(short_side) + " is too extreme", ErrorCode::BadImage);
  const int new_long = static_cast<int>(new_long_d);
  const int out_w = w <= h ? shortest_edge : new_long;
  const int out_h = w <= h ? new_long : shortest_edge;
  // HF center_crop: top = (H - crop) // 2, left = (W - crop) // 2.
  const int top = (out_h - crop) / 2, left = (out_w - crop) / 2;
  return resize_bicubic_pillow_window(rgb, out_w, out_h, left, top, crop, crop);
}
}  // namespace image

std::vector<float> preprocess_for_model(const RgbImage& rgb, int shortest_edge, int crop,
                                        const float mean[3], const float std[3]) {
  const RgbImage cropped = image::resize_and_crop_for_model(rgb, shortest_edge, crop);
  // x = u8/255.0f (bit-identical to HF's float64 rescale then float32), then float32
  // (x - mean) / std, as a 768-entry table.
  float lut[3][256];
  for (int c = 0; c < 3; ++c)
    for (int v = 0; v < 256; ++v) lut[c][v] = (static_cast<float>(v) / 255.0f - mean[c]) / std[c];
  std::vector<float> out(static_cast<size_t>(3) * crop * crop);
  const size_t plane = static_cast<size_t>(crop) * crop;
  for (size_t i = 0; i < plane; ++i)
    for (int c = 0; c < 3; ++c) out[c * plane + i] = lut[c][cropped.pixels[i * 3 + c]];
  return out;
}

}  // namespace vf
