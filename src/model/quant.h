// int8 kernels of the CPU engine's int8 mode (docs/engine.md, "int8"): per-token dynamic
// uint8 activation quantisation, optionally fused with the LayerNorm before it and with the
// SmoothQuant division of each input channel, the weight quantisation, the fp32 epilogues after
// the u8 x s8 GEMM (fused with GELU, LayerNorm and the next quantisation where they can be), and
// the calibration helpers that choose the SmoothQuant scales at load.
#pragma once

#include <cstdint>
#include <vector>

namespace vf::model {

// Per-row asymmetric uint8 quantisation (dynamic, per token) of x'[r, k] = x[r, k] * inv_smooth[k]
// (inv_smooth may be null: no smoothing): scale[r] = (max_k x' - min_k x') / 255 over a range
// that includes 0, zero[r] = round(-min / scale), q = clamp(round(x' / scale) + zero, 0, 255).
// Asymmetric, because a GELU output spans [-0.17, max]: a symmetric code would waste half of it.
void quantize_rows_u8(const float* x, int64_t rows, int K, const float* inv_smooth, uint8_t* q, float* scale,
                      int32_t* zero, int threads);
// The same from bf16 input (the attention output when attention runs in bf16).
void quantize_rows_u8(const uint16_t* x, int64_t rows, int K, const float* inv_smooth, uint8_t* q, float* scale,
                      int32_t* zero, int threads);

// LayerNorm of each row (w, b: gamma and beta, already divided by the SmoothQuant scales of the
// matmul this feeds), quantised as quantize_rows_s8 does, in one pass: the fp32 LayerNorm
// output is never written out.
void layer_norm_quantize_rows(const float* x, int64_t rows, int D, const float* w, const float* b, double eps,
                              uint8_t* q, float* scale, int32_t* zero, int threads);

// After a u8 x s8 GEMM with s32 result acc (the weights' per-column scale wscale and column sums
// wsum, the activations' per-row scale and zero point):
//   v = (acc[m,n] - zero[m] * wsum[n]) * row_scale[m] * wscale[n] + bias[n]   (exact in int32 first)
//   out[m,n] = v                      (lambda == nullptr)
//   out[m,n] += lambda[n] * v         (layer-scale + residual)
void int8_epilogue(const int32_t* acc, int64_t M, int N, const float* row_scale, const int32_t* zero,
                   const float* wscale, const int32_t* wsum, const float* bias, const float* lambda, float* out,
                   int threads);
// v as above, written as bf16 (round to nearest even): int8's Q, K and V for the bf16
// attention, without an fp32 copy of the whole [M, N] output.
void int8_epilogue_bf16(const int32_t* acc, int64_t M, int N, const float* row_scale, const int32_t* zero,
                        const float* wscale, const int32_t* wsum, const float* bias, uint16_t* out, int threads);

// fc1's epilogue fused with GELU (exact erf form) and the quantisation of fc2's input: per row,
// v = gelu(int8_epilogue value) * inv_smooth[n], then quantised to u8 into q, row_scale and
// row_zero (which hold fc1's input row scale and zero point on entry). The fp32 hidden
// activations [M, N] are never written out.
void int8_epilogue_gelu_quantize(const int32_t* acc, int64_t M, int N, float* row_scale, int32_t* row_zero,
                                 const float* wscale, const int32_t* wsum, const float* bias,
                                 const float* inv_smooth, uint8_t* q, int threads);

// The attention projection's epilogue (layer scale + residual into x) fused with the LayerNorm
// and quantisation of fc1's input (layer_norm_quantize_rows, with w and b): one pass per row
// while it is in L1. row_scale / row_zero hold the projection's input row scale and zero point
// on entry and fc1's on exit.
void int8_epilogue_residual_norm_quantize(const int32_t* acc, int64_t M, int D, float* row_scale,
                                          int32_t* row_zero, const float* wscale, const int32_t* wsum,
                                          const float* bias, const float* lambda, float* x, const float* w,
                                          const float* b, double eps, uint8_t* q, int threads);

// Symmetric per-output-channel int8 weights: for each row n of w [N, K] (out x in),
// wscale[n] = max_k |w[n, k]| / 127, q = round(w / wscale) in [-127, 127], wsum[n] = sum_k q[n, k].
void quantize_weights_s8(const float* w, int N, int K, int8_t* q, float* wscale, int32_t* wsum, int threads);

// amax[k] = max(amax[k], max_r |x[r, k]|): the calibration statistic of a matmul input.
void channel_absmax(const float* x, int64_t rows, int K, std::vector<float>& amax);

// SmoothQuant scales for a linear layer with weights w [N, K] (row-major, out x in) whose input
// channels reach act_amax[k] in calibration: s[k] = act_amax[k]^alpha / max_n |w[n, k]|^(1-alpha),
// normalised so that their geometric mean is 1 (only the ratios between channels matter; this
// keeps both sides in a tame range). A channel with no activation or no weight gets s = 1.
std::vector<float> smoothing_scales(const std::vector<float>& act_amax, const std::vector<float>& w, int N, int K,
                                    double alpha);

}  // namespace vf::model
