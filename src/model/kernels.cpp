#include "model/kernels.h"

#include <algorithm>
#include <bit>
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include <cmath>
#include <cstring>

namespace vf::model {

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

// exp(x) for x <= 0 (Cephes expf: range reduction by ln 2, degree-6 polynomial, relative
// error ~1e-7); below -87 it flushes to ~1e-38.
constexpr float kExpP[6] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                            4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};
constexpr float kLog2e = 1.44269504088896341f, kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;

inline float exp_nonpositive(float x) {
  x = std::max(x, -87.0f);
  const float n = std::floor(x * kLog2e + 0.5f);
  const float r = x - n * kLn2Hi - n * kLn2Lo;
  float p = kExpP[0];
  for (int i = 1; i < 6; ++i) p = p * r + kExpP[i];
  return (p * r * r + r + 1.0f) * std::bit_cast<float>(static_cast<int32_t>(n + 127.0f) << 23);
}

// One softmax row; x keeps the exponentials, the normalised row goes to x (fp32) or y16.
void softmax_row_scalar(float* x, int n, uint16_t* y16) {
  float m = x[0];
  for (int i = 1; i < n; ++i) m = std::max(m, x[i]);
  float total = 0;
  for (int i = 0; i < n; ++i) total += x[i] = exp_nonpositive(x[i] - m);
  const float inv = 1.0f / total;
  for (int i = 0; i < n; ++i)
    if (y16)
      y16[i] = bf16_rne(x[i] * inv);
    else
      x[i] *= inv;
}

#if defined(__x86_64__) && defined(__GNUC__)
#define VF_HAVE_AVX512_SOFTMAX 1  // AVX-512F/BW/VL, chosen at run time (softmax_rows)
__attribute__((target("avx512f"))) inline __m512 exp_nonpositive16(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-87.0f));
  const __m512 n = _mm512_roundscale_ps(_mm512_fmadd_ps(x, _mm512_set1_ps(kLog2e), _mm512_set1_ps(0.5f)),
                                        _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Hi), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Lo), r);
  __m512 p = _mm512_set1_ps(kExpP[0]);
  for (int i = 1; i < 6; ++i) p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kExpP[i]));
  const __m512 e = _mm512_add_ps(_mm512_fmadd_ps(_mm512_mul_ps(p, r), r, r), _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(e, n);
}

// bf16 round-to-nearest-even of 16 finite floats.
__attribute__((target("avx512f"))) inline __m256i bf16_rne16(__m512 v) {
  const __m512i x = _mm512_castps_si512(v);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(x, 16), _mm512_set1_epi32(1));
  const __m512i r = _mm512_add_epi32(_mm512_add_epi32(x, _mm512_set1_epi32(0x7fff)), lsb);
  return _mm512_cvtepi32_epi16(_mm512_srli_epi32(r, 16));
}

__attribute__((target("avx512f,avx512bw,avx512vl"))) void softmax_row_avx512(float* x, int n, uint16_t* y16) {
  const int full = n & ~15;
  const __mmask16 tail = static_cast<__mmask16>((1u << (n - full)) - 1);
  const __m512 lowest = _mm512_set1_ps(-3.0e38f);
  __m512 vm = lowest;
  for (int i = 0; i < full; i += 16) vm = _mm512_max_ps(vm, _mm512_loadu_ps(x + i));
  vm = _mm512_max_ps(vm, _mm512_mask_loadu_ps(lowest, tail, x + full));
  const __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(vm));
  __m512 sum = _mm512_setzero_ps();
  for (int i = 0; i < full; i += 16) {
    const __m512 e = exp_nonpositive16(_mm512_sub_ps(_mm512_loadu_ps(x + i), m));
    _mm512_storeu_ps(x + i, e);
    sum = _mm512_add_ps(sum, e);
  }
  if (tail) {
    const __m512 e = exp_nonpositive16(_mm512_sub_ps(_mm512_mask_loadu_ps(m, tail, x + full), m));
    _mm512_mask_storeu_ps(x + full, tail, e);
    sum = _mm512_add_ps(sum, _mm512_maskz_mov_ps(tail, e));
  }
  const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sum));
  for (int i = 0; i < n; i += 16) {
    const __mmask16 k = i < full ? static_cast<__mmask16>(0xffff) : tail;
    const __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(k, x + i), inv);
    if (y16)
      _mm256_mask_storeu_epi16(y16 + i, k, bf16_rne16(v));
    else
      _mm512_mask_storeu_ps(x + i, k, v);
  }
}
#endif

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

void layer_norm_row_serial(const float* x, int D, const float* w, const float* b, double eps, float* y_f32,
                           uint16_t* y_bf16) {
  layer_norm_row(x, D, w, b, eps, y_f32, y_bf16);
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

void softmax_rows(float* x, int64_t rows, int n, uint16_t* y_bf16, int threads) {
#ifdef VF_HAVE_AVX512_SOFTMAX
  static const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                             __builtin_cpu_supports("avx512vl");
#endif
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1 && rows > 16)
  for (int64_t r = 0; r < rows; ++r) {
    uint16_t* y = y_bf16 ? y_bf16 + r * n : nullptr;
#ifdef VF_HAVE_AVX512_SOFTMAX
    if (avx512) {
      softmax_row_avx512(x + r * n, n, y);
      continue;
    }
#endif
    softmax_row_scalar(x + r * n, n, y);
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
