// Element-wise and row-wise kernels of the DINOv2 forward pass that oneDNN does not fuse:
// LayerNorm, bf16 conversion, SwiGLU gating, position-embedding interpolation. All fp32
// arithmetic (statistics in double), vectorised by the compiler with per-ISA clones.
#pragma once

#include <cstdint>
#include <vector>

// The library is built for the baseline x86-64 ISA; these clones let the same loops use
// AVX-512 / AVX2 where the CPU has them (the dispatch happens once, through an ifunc).
// Not under ThreadSanitizer: ifunc resolvers run during relocation, before the TSan runtime
// is up, and the instrumented resolver crashes the program at start (-DVF_TSAN=ON).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_THREAD__)
#define VF_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define VF_CLONES
#endif

namespace vf::model {

// y[r] = (x[r] - mean) / sqrt(var + eps) * w + b for `rows` rows of length D (biased variance).
// Writes fp32 to y_f32 when non-null, bf16 (round-to-nearest-even) to y_bf16 when non-null.
void layer_norm_rows(const float* x, int64_t rows, int D, const float* w, const float* b, double eps,
                     float* y_f32, uint16_t* y_bf16, int threads);
// One row of the same on the calling thread (for fused kernels inside their own parallel loop).
void layer_norm_row_serial(const float* x, int D, const float* w, const float* b, double eps, float* y_f32,
                           uint16_t* y_bf16);

// fp32 -> bf16, round to nearest even.
void to_bf16(const float* x, uint16_t* y, int64_t n, int threads);
// The same on the calling thread only, for short spans inside a parallel loop (no OpenMP
// region: even an inactive one costs microseconds).
void to_bf16_serial(const float* x, uint16_t* y, int64_t n);

// Softmax over each of `rows` rows of length n, in fp32: in place, or (y_bf16 non-null) written
// as bf16 to y_bf16 with x left holding the unnormalised exponentials.
void softmax_rows(float* x, int64_t rows, int n, uint16_t* y_bf16, int threads);

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
