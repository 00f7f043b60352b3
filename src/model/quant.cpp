#include "model/quant.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "model/kernels.h"

namespace vf::model {
namespace {

inline float load_f32(float v) { return v; }
inline float load_f32(uint16_t bf16) {
  const uint32_t bits = static_cast<uint32_t>(bf16) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

template <typename In>
inline __attribute__((always_inline)) void quantize_row_impl(const In* x, int K, const float* inv_smooth, uint8_t* q,
                                                             float* scale, int32_t* zero) {
  float lo = 0, hi = 0;  // the range includes 0, so that the zero point is in [0, 255]
  // omp simd: a min/max reduction does not vectorise by itself without -ffast-math.
  if (inv_smooth) {
#pragma omp simd reduction(min : lo) reduction(max : hi)
    for (int k = 0; k < K; ++k) {
      lo = std::min(lo, load_f32(x[k]) * inv_smooth[k]);
      hi = std::max(hi, load_f32(x[k]) * inv_smooth[k]);
    }
  } else {
#pragma omp simd reduction(min : lo) reduction(max : hi)
    for (int k = 0; k < K; ++k) {
      lo = std::min(lo, load_f32(x[k]));
      hi = std::max(hi, load_f32(x[k]));
    }
  }
  const float s = hi > lo ? (hi - lo) / 255.0f : 1.0f;
  const float inv = 1.0f / s;
  const float z = std::nearbyint(-lo * inv);
  // Rounded by truncating v + 0.5 (v >= 0 after the clamp); plain compares instead of std::clamp
  // (whose references keep the loop from vectorising).
  const float zr = z + 0.5f;
  if (inv_smooth)
#pragma omp simd
    for (int k = 0; k < K; ++k) {
      float v = load_f32(x[k]) * inv_smooth[k] * inv + zr;
      v = v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v;
      q[k] = static_cast<uint8_t>(static_cast<int>(v));
    }
  else
#pragma omp simd
    for (int k = 0; k < K; ++k) {
      float v = load_f32(x[k]) * inv + zr;
      v = v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v;
      q[k] = static_cast<uint8_t>(static_cast<int>(v));
    }
  *scale = s;
  *zero = static_cast<int32_t>(z);
}

// Per-ISA clones of the row quantisation, for each input type (templates cannot be cloned).
VF_CLONES void quantize_row(const float* x, int K, const float* inv_smooth, uint8_t* q, float* scale, int32_t* zero) {
  quantize_row_impl(x, K, inv_smooth, q, scale, zero);
}
VF_CLONES void quantize_row(const uint16_t* x, int K, const float* inv_smooth, uint8_t* q, float* scale,
                            int32_t* zero) {
  quantize_row_impl(x, K, inv_smooth, q, scale, zero);
}

// erf as a rational function of x on [-4, 4] (Eigen's / XLA's float erf; |error| < 5e-7), and
// +-1 beyond: unlike std::erf it vectorises.
inline float erf_rational(float a) {
  const float x = a < -4.0f ? -4.0f : a > 4.0f ? 4.0f : a, x2 = x * x;
  float p = x2 * -2.72614225801306e-10f + 2.77068142495902e-08f;
  p = x2 * p - 2.10102402082508e-06f;
  p = x2 * p - 5.69250639462346e-05f;
  p = x2 * p - 7.34990630326855e-04f;
  p = x2 * p - 2.95459980854025e-03f;
  p = x2 * p - 1.60960333262415e-02f;
  float q = x2 * -1.45660718464996e-05f - 2.13374055278905e-04f;
  q = x2 * q - 1.68282697438203e-03f;
  q = x2 * q - 7.37332916720468e-03f;
  q = x2 * q - 1.42647390514189e-02f;
  return x * p / q;
}

VF_CLONES void epilogue_gelu_row(const int32_t* acc, int N, float rs, int32_t zero, const float* wscale,
                                 const int32_t* wsum, const float* bias, const float* inv_smooth, float* y) {
#pragma omp simd
  for (int n = 0; n < N; ++n) {
    const float v = static_cast<float>(acc[n] - zero * wsum[n]) * (rs * wscale[n]) + bias[n];
    y[n] = 0.5f * v * (1.0f + erf_rational(v * 0.70710678118654752f)) * inv_smooth[n];
  }
}

VF_CLONES void epilogue_row(const int32_t* acc, int N, float rs, int32_t zero, const float* wscale,
                            const int32_t* wsum, const float* bias, const float* lambda, float* out) {
  if (lambda) {
    for (int n = 0; n < N; ++n)
      out[n] += lambda[n] * (static_cast<float>(acc[n] - zero * wsum[n]) * (rs * wscale[n]) + bias[n]);
  } else {
    for (int n = 0; n < N; ++n) out[n] = static_cast<float>(acc[n] - zero * wsum[n]) * (rs * wscale[n]) + bias[n];
  }
}

VF_CLONES void quantize_weight_row(const float* w, int K, int8_t* q, float* wscale, int32_t* wsum) {
  float amax = 0;
#pragma omp simd reduction(max : amax)
  for (int k = 0; k < K; ++k) amax = std::max(amax, std::abs(w[k]));
  const float sc = amax > 0 ? amax / 127.0f : 1.0f, inv = 1.0f / sc;
  int32_t sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int k = 0; k < K; ++k) {
    const float v = w[k] * inv;  // |v| <= 127
    const int32_t r = static_cast<int32_t>(v + (v < 0 ? -0.5f : 0.5f));  // round half away from zero
    q[k] = static_cast<int8_t>(r);
    sum += r;
  }
  *wscale = sc;
  *wsum = sum;
}

VF_CLONES void absmax_row(const float* x, int K, float* amax) {
  for (int k = 0; k < K; ++k) amax[k] = std::max(amax[k], std::abs(x[k]));
}

}  // namespace

void quantize_rows_u8(const float* x, int64_t rows, int K, const float* inv_smooth, uint8_t* q, float* scale,
                      int32_t* zero, int threads) {
#pragma omp parallel for num_threads(threads) schedule(static) if (rows > 16)
  for (int64_t r = 0; r < rows; ++r) quantize_row(x + r * K, K, inv_smooth, q + r * K, scale + r, zero + r);
}

void quantize_rows_u8(const uint16_t* x, int64_t rows, int K, const float* inv_smooth, uint8_t* q, float* scale,
                      int32_t* zero, int threads) {
#pragma omp parallel for num_threads(threads) schedule(static) if (rows > 16)
  for (int64_t r = 0; r < rows; ++r) quantize_row(x + r * K, K, inv_smooth, q + r * K, scale + r, zero + r);
}

void int8_epilogue_gelu_quantize(const int32_t* acc, int64_t M, int N, float* row_scale, int32_t* row_zero,
                                 const float* wscale, const int32_t* wsum, const float* bias,
                                 const float* inv_smooth, uint8_t* q, int threads) {
#pragma omp parallel num_threads(threads) if (M > 16)
  {
    std::vector<float> y(N);  // one row of hidden activations, in L1/L2
#pragma omp for schedule(static)
    for (int64_t m = 0; m < M; ++m) {
      epilogue_gelu_row(acc + m * N, N, row_scale[m], row_zero[m], wscale, wsum, bias, inv_smooth, y.data());
      quantize_row(y.data(), N, nullptr, q + m * N, row_scale + m, row_zero + m);
    }
  }
}

void layer_norm_quantize_rows(const float* x, int64_t rows, int D, const float* w, const float* b, double eps,
                              uint8_t* q, float* scale, int32_t* zero, int threads) {
#pragma omp parallel num_threads(threads) if (rows > 16)
  {
    std::vector<float> y(D);  // one row of LayerNorm output, in L1
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      layer_norm_row_serial(x + r * D, D, w, b, eps, y.data(), nullptr);
      quantize_row(y.data(), D, nullptr, q + r * D, scale + r, zero + r);
    }
  }
}

void int8_epilogue_residual_norm_quantize(const int32_t* acc, int64_t M, int D, float* row_scale,
                                          int32_t* row_zero, const float* wscale, const int32_t* wsum,
                                          const float* bias, const float* lambda, float* x, const float* w,
                                          const float* b, double eps, uint8_t* q, int threads) {
#pragma omp parallel num_threads(threads) if (M > 16)
  {
    std::vector<float> y(D);
#pragma omp for schedule(static)
    for (int64_t m = 0; m < M; ++m) {
      epilogue_row(acc + m * D, D, row_scale[m], row_zero[m], wscale, wsum, bias, lambda, x + m * D);
      layer_norm_row_serial(x + m * D, D, w, b, eps, y.data(), nullptr);
      quantize_row(y.data(), D, nullptr, q + m * D, row_scale + m, row_zero + m);
    }
  }
}

void int8_epilogue(const int32_t* acc, int64_t M, int N, const float* row_scale, const int32_t* zero,
                   const float* wscale, const int32_t* wsum, const float* bias, const float* lambda, float* out,
                   int threads) {
#pragma omp parallel for num_threads(threads) schedule(static) if (M > 16)
  for (int64_t m = 0; m < M; ++m)
    epilogue_row(acc + m * N, N, row_scale[m], zero[m], wscale, wsum, bias, lambda, out + m * N);
}

void int8_epilogue_bf16(const int32_t* acc, int64_t M, int N, const float* row_scale, const int32_t* zero,
                        const float* wscale, const int32_t* wsum, const float* bias, uint16_t* out, int threads) {
#pragma omp parallel num_threads(threads) if (M > 16)
  {
    std::vector<float> row(N);  // one row in fp32, in this thread's cache
#pragma omp for schedule(static)
    for (int64_t m = 0; m < M; ++m) {
      epilogue_row(acc + m * N, N, row_scale[m], zero[m], wscale, wsum, bias, nullptr, row.data());
      to_bf16_serial(row.data(), out + m * N, N);
    }
  }
}

void quantize_weights_s8(const float* w, int N, int K, int8_t* q, float* wscale, int32_t* wsum, int threads) {
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int n = 0; n < N; ++n)
    quantize_weight_row(w + static_cast<size_t>(n) * K, K, q + static_cast<size_t>(n) * K, wscale + n, wsum + n);
}

void channel_absmax(const float* x, int64_t rows, int K, std::vector<float>& amax) {
  amax.resize(K, 0.0f);
  for (int64_t r = 0; r < rows; ++r) absmax_row(x + r * K, K, amax.data());
}

std::vector<float> smoothing_scales(const std::vector<float>& act_amax, const std::vector<float>& w, int N, int K,
                                    double alpha) {
  std::vector<float> wmax(K, 0.0f);
  for (int n = 0; n < N; ++n) absmax_row(w.data() + static_cast<size_t>(n) * K, K, wmax.data());
  std::vector<double> s(K, 1.0);
  double log_sum = 0;
  int counted = 0;
  for (int k = 0; k < K; ++k) {
    if (act_amax[k] > 0 && wmax[k] > 0) {
      s[k] = std::pow(static_cast<double>(act_amax[k]), alpha) / std::pow(static_cast<double>(wmax[k]), 1 - alpha);
      log_sum += std::log(s[k]);
      ++counted;
    }
  }
  const double norm = counted ? std::exp(-log_sum / counted) : 1.0;
  std::vector<float> out(K);
  for (int k = 0; k < K; ++k) out[k] = act_amax[k] > 0 && wmax[k] > 0 ? static_cast<float>(s[k] * norm) : 1.0f;
  return out;
}

}  // namespace vf::model
