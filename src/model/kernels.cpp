#include "model/kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace vf::model {

// The library is built for the baseline x86-64 ISA; these clones let the same loops use
// AVX-512 / AVX2 where the CPU has them (the dispatch happens once, through an ifunc).
// Not under ThreadSanitizer: ifunc resolvers run during relocation, before the TSan runtime
// is up, and the instrumented resolver crashes the program at start (-DVF_TSAN=ON).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_THREAD__)
#define VF_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define VF_CLONES
#endif

namespace {

inline uint16_t bf16_rne(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  x += 0x7fffu + ((x >> 16) & 1u);  // finite inputs only (activations are finite)
  return static_cast<uint16_t>(x >> 16);
}

VF_CLONES void layer_norm_row(const float* x, int D, const float* w, const float* b, double eps, float* y32,
                              uint16_t* y16) {
  // Statistics in double with 8 independent lanes: exact enough to be order-insensitive and
  // vectorisable without -ffast-math.
  double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int i = 0;
  for (; i + 8 <= D; i += 8)
    for (int l = 0; l < 8; ++l) s[l] += x[i + l];
  double sum = 0;
  for (; i < D; ++i) sum += x[i];
  for (int l = 0; l < 8; ++l) sum += s[l];
  const double mean = sum / D;
  double q[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  i = 0;
  for (; i + 8 <= D; i += 8)
    for (int l = 0; l < 8; ++l) {
      const double d = x[i + l] - mean;
      q[l] += d * d;
    }
  double var = 0;
  for (; i < D; ++i) var += (x[i] - mean) * (x[i] - mean);
  for (int l = 0; l < 8; ++l) var += q[l];
  var /= D;
  const float rstd = static_cast<float>(1.0 / std::sqrt(var + eps));
  const float meanf = static_cast<float>(mean);
  if (y32)
    for (int j = 0; j < D; ++j) y32[j] = (x[j] - meanf) * rstd * w[j] + b[j];
  if (y16)
    for (int j = 0; j < D; ++j) y16[j] = bf16_rne((x[j] - meanf) * rstd * w[j] + b[j]);
}

VF_CLONES void to_bf16_span(const float* x, uint16_t* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = bf16_rne(x[i]);
}

void swiglu_row(const float* u, int h, float* o32, uint16_t* o16) {
  for (int j = 0; j < h; ++j) {
    const float g = u[j];
    const float v = (g / (1.0f + std::exp(-g))) * u[h + j];
    if (o32) o32[j] = v;
    if (o16) o16[j] = bf16_rne(v);
  }
}

// PyTorch's cubic convolution kernel (upsample_bicubic2d), A = -0.75.
double cubic1(double x, double A) { return ((A + 2) * x - (A + 3)) * x * x + 1; }
double cubic2(double x, double A) { return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A; }

// Pillow / _upsample_bicubic2d_aa filter, a = -0.5.
double aa_filter(double x) {
  const double a = -0.5;
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

// One axis of the interpolation: taps (source index, weight) per output index.
struct Taps {
  std::vector<std::vector<std::pair<int, float>>> per_out;
};

Taps make_taps(int in, int out, PosInterp mode) {
  Taps t;
  t.per_out.resize(out);
  if (mode == PosInterp::AntialiasA05) {
    const double scale = static_cast<double>(in) / out;
    const double support = 2.0 * std::max(scale, 1.0);
    const double inv = 1.0 / std::max(scale, 1.0);
    for (int o = 0; o < out; ++o) {
      const double center = scale * (o + 0.5);
      const int xmin = std::max(static_cast<int>(center - support + 0.5), 0);
      const int xmax = std::min(static_cast<int>(center + support + 0.5), in);
      std::vector<double> w;
      double total = 0;
      for (int j = xmin; j < xmax; ++j) {
        w.push_back(aa_filter((j - center + 0.5) * inv));
        total += w.back();
      }
      for (int j = xmin; j < xmax; ++j)
        t.per_out[o].push_back({j, static_cast<float>(total != 0 ? w[j - xmin] / total : 0)});
    }
    return t;
  }
  // upsample_bicubic2d, align_corners=False: the source coordinate is not clamped, the four
  // taps' indices are. Legacy: scale_factor=(h+0.1)/M was passed, and PyTorch maps
  // coordinates with 1/scale_factor instead of in/out.
  const double A = -0.75;
  const double scale =
      mode == PosInterp::BicubicLegacy ? 1.0 / ((out + 0.1) / in) : static_cast<double>(in) / out;
  for (int o = 0; o < out; ++o) {
    const double s = scale * (o + 0.5) - 0.5;
    const double fl = std::floor(s);
    const int i = static_cast<int>(fl);
    const double f = s - fl;
    const double w[4] = {cubic2(f + 1, A), cubic1(f, A), cubic1(1 - f, A), cubic2(2 - f, A)};
    for (int k = 0; k < 4; ++k) {
      const int idx = std::clamp(i - 1 + k, 0, in - 1);
      t.per_out[o].push_back({idx, static_cast<float>(w[k])});
    }
  }
  return t;
}

}  // namespace

void layer_norm_rows(const float* x, int64_t rows, int D, const float* w, const float* b, double eps,
                     float* y_f32, uint16_t* y_bf16, int threads) {
#pragma omp parallel for num_threads(threads) schedule(static) if (rows > 16)
  for (int64_t r = 0; r < rows; ++r)
    layer_norm_row(x + r * D, D, w, b, eps, y_f32 ? y_f32 + r * D : nullptr, y_bf16 ? y_bf16 + r * D : nullptr);
}

void to_bf16_serial(const float* x, uint16_t* y, int64_t n) { to_bf16_span(x, y, n); }

void to_bf16(const float* x, uint16_t* y, int64_t n, int threads) {
  const int64_t chunk = 1 << 16;
  const int64_t chunks = (n + chunk - 1) / chunk;
#pragma omp parallel for num_threads(threads) schedule(static) if (chunks > 1)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t begin = c * chunk;
    to_bf16_span(x + begin, y + begin, std::min(chunk, n - begin));
  }
}

void swiglu_gate(const float* u, int64_t rows, int h, float* out_f32, uint16_t* out_bf16, int threads) {
#pragma omp parallel for num_threads(threads) schedule(static) if (rows > 16)
  for (int64_t r = 0; r < rows; ++r)
    swiglu_row(u + r * 2 * h, h, out_f32 ? out_f32 + r * h : nullptr, out_bf16 ? out_bf16 + r * h : nullptr);
}

std::vector<float> interpolate_pos_grid(const float* src, int M, int D, int oh, int ow, PosInterp mode) {
  // Separable: along W for every source row, then along H; fp32 accumulation like PyTorch's
  // fp32 interpolation of the (upcast) position grid.
  const Taps tx = make_taps(M, ow, mode), ty = make_taps(M, oh, mode);
  std::vector<float> tmp(static_cast<size_t>(M) * ow * D, 0.0f);
  for (int y = 0; y < M; ++y)
    for (int ox = 0; ox < ow; ++ox) {
      float* dst = tmp.data() + (static_cast<size_t>(y) * ow + ox) * D;
      for (const auto& [ix, wt] : tx.per_out[ox]) {
        const float* s = src + (static_cast<size_t>(y) * M + ix) * D;
        for (int d = 0; d < D; ++d) dst[d] += wt * s[d];
      }
    }
  std::vector<float> out(static_cast<size_t>(oh) * ow * D, 0.0f);
  for (int oy = 0; oy < oh; ++oy)
    for (int ox = 0; ox < ow; ++ox) {
      float* dst = out.data() + (static_cast<size_t>(oy) * ow + ox) * D;
      for (const auto& [iy, wt] : ty.per_out[oy]) {
        const float* s = tmp.data() + (static_cast<size_t>(iy) * ow + ox) * D;
        for (int d = 0; d < D; ++d) dst[d] += wt * s[d];
      }
    }
  return out;
}

}  // namespace vf::model

namespace vf::model {

namespace {

VF_CLONES void quantize_row(const float* x, int K, int8_t* q, float* scale) {
  float amax = 0;
  for (int k = 0; k < K; ++k) amax = std::max(amax, std::abs(x[k]));
  const float s = amax > 0 ? amax / 127.0f : 1.0f;
  const float inv = 1.0f / s;
  for (int k = 0; k < K; ++k) q[k] = static_cast<int8_t>(std::nearbyint(x[k] * inv));
  *scale = s;
}

VF_CLONES void epilogue_row(const float* acc, int N, float rs, const float* bias, const float* lambda, float* out) {
  if (lambda) {
    for (int n = 0; n < N; ++n) out[n] += lambda[n] * (acc[n] * rs + bias[n]);
  } else {
    for (int n = 0; n < N; ++n) out[n] = acc[n] * rs + bias[n];
  }
}

}  // namespace

void quantize_rows_s8(const float* x, int64_t rows, int K, int8_t* q, float* scale, int threads) {
#pragma omp parallel for num_threads(threads) schedule(static) if (rows > 16)
  for (int64_t r = 0; r < rows; ++r) quantize_row(x + r * K, K, q + r * K, scale + r);
}

void int8_epilogue(const float* acc, int64_t M, int N, const float* row_scale, const float* bias,
                   const float* lambda, float* out, int threads) {
#pragma omp parallel for num_threads(threads) schedule(static) if (M > 16)
  for (int64_t m = 0; m < M; ++m) epilogue_row(acc + m * N, N, row_scale[m], bias, lambda, out + m * N);
}

}  // namespace vf::model
