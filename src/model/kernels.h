// Element-wise and row-wise kernels of the DINOv2 forward pass that oneDNN does not fuse:
// LayerNorm, bf16 conversion, SwiGLU gating, position-embedding interpolation. All fp32
// arithmetic (statistics in double), vectorised by the compiler with per-ISA clones.
#pragma once

#include <cstdint>
#include <vector>

namespace vf::model {

// y[r] = (x[r] - mean) / sqrt(var + eps) * w + b for `rows` rows of length D (biased variance).
// Writes fp32 to y_f32 when non-null, bf16 (round-to-nearest-even) to y_bf16 when non-null.
void layer_norm_rows(const float* x, int64_t rows, int D, const float* w, const float* b, double eps,
                     float* y_f32, uint16_t* y_bf16, int threads);

// fp32 -> bf16, round to nearest even.
void to_bf16(const float* x, uint16_t* y, int64_t n, int threads);
// The same on the calling thread only, for short spans inside a parallel loop (no OpenMP
// region: even an inactive one costs microseconds).
void to_bf16_serial(const float* x, uint16_t* y, int64_t n);

// SwiGLU gate: out[r, j] = silu(u[r, j]) * u[r, h + j] for u of shape [rows, 2h].
void swiglu_gate(const float* u, int64_t rows, int h, float* out_f32, uint16_t* out_bf16, int threads);

// Interpolation of a position-embedding grid `src` [M*M, D] (token-major) to [oh*ow, D].
enum class PosInterp {
  BicubicA075,     // dinov2 since HF v4.45: upsample_bicubic2d, align_corners=False, size=(oh,ow)
  BicubicLegacy,   // dinov2 before v4.45 / Meta hub: same kernel, coordinate scale 37/(h+0.1)
  AntialiasA05,    // dinov2_with_registers: _upsample_bicubic2d_aa (Pillow weights, a=-0.5)
};
std::vector<float> interpolate_pos_grid(const float* src, int M, int D, int oh, int ow, PosInterp mode);

}  // namespace vf::model

namespace vf::model {

// Per-row symmetric int8 quantisation (dynamic, per token): scale[r] = max|x[r]| / 127,
// q = round(x / scale) in [-127, 127].
void quantize_rows_s8(const float* x, int64_t rows, int K, int8_t* q, float* scale, int threads);

// After an int8 GEMM whose fp32 result already carries the per-column weight scale:
//   v = acc[m,n] * row_scale[m] + bias[n]
//   out[m,n] = v                      (lambda == nullptr)
//   out[m,n] += lambda[n] * v         (layer-scale + residual)
void int8_epilogue(const float* acc, int64_t M, int N, const float* row_scale, const float* bias,
                   const float* lambda, float* out, int threads);

}  // namespace vf::model
