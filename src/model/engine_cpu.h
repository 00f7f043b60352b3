// The CPU engine's class and the pieces its source files share (engine_cpu.cpp: loading,
// blocks, forward; engine_cpu_linear.cpp: packed linear layers). Private to src/model.
#pragma once

#include <omp.h>
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <shared_mutex>
#include <unordered_map>
#include "model/attention.h"
#include "model/kernels.h"
#include "model/model_config.h"
#include "model/packed_cache.h"
#include "model/profile.h"
#include "model/safetensors.h"
#include "viewfinder/engine.h"
#include "viewfinder/error.h"

namespace vf::model::cpu {

using dnnl::memory;
using dt = memory::data_type;
using tag = memory::format_tag;

// A linear layer y = x W^T + b, with W stored in oneDNN's preferred blocked layout.
struct PackedLinear {
  std::string name;
  int K = 0, N = 0;               // in, out features
  std::vector<float> bias;        // [N]
  std::vector<float> scale;       // layer-scale lambda [N], for residual layers; else empty
  dt wdt = dt::f32;               // packed weight type
  std::vector<float> wscale;      // int8: per-output-channel weight scale (max|W[n,:]|/127)
  std::vector<int32_t> wsum;      // int8: sum over k of the quantised W[n, k] (zero-point term)
  std::vector<float> smooth_inv;  // int8: 1/s per input channel (SmoothQuant), applied where the
                                  // input is quantised; empty when folded into the LayerNorm before
  memory::desc wdesc;             // packed layout
  memory weights;                 // packed data
};

enum class Epilogue { None, Gelu, ScaleAddResidual };

// Activations of one encoder block for a chunk of `rows` tokens; reused by every chunk and layer.
struct BlockBuffers {
  std::vector<float> ln32, qkv, attn32, hid32, swi, qscale;
  std::vector<uint16_t> ln16, attn16, hid16, qkv16;  // qkv16: int8's QKV for bf16 attention
  std::vector<uint8_t> q8;
  std::vector<int32_t> acc, qzero;  // int8: the s32 GEMM result; the u8 zero point of each row
  BlockBuffers(int64_t rows, int64_t D, int64_t I, memory::data_type act, bool swiglu) : qkv(rows * 3 * D) {
    if (act == memory::data_type::bf16) {
      ln16.resize(rows * D);
      attn16.resize(rows * D);
      hid16.resize(rows * I);
    } else {
      ln32.resize(rows * D);
      attn32.resize(rows * D);
      hid32.resize(rows * std::max(I, D));
    }
    if (act == memory::data_type::s8) {
      attn16.resize(rows * D);  // bf16 attention: its input and output
      qkv16.resize(rows * 3 * D);
      q8.resize(rows * std::max(I, D));
      qscale.resize(rows);
      qzero.resize(rows);
      acc.resize(rows * std::max({3 * D, I, swiglu ? 2 * I : 0}));
    }
    if (swiglu) swi.resize(rows * 2 * I);
  }
};

// Images per chunk of the encoder loop: about VF_ENGINE_CHUNK_ROWS tokens (default 520, two
// 224 px images), at least one whole image (attention needs all of an image's tokens).
inline int64_t images_per_chunk(int batch, int64_t T) {
  static const int64_t target = [] {
    const char* v = std::getenv("VF_ENGINE_CHUNK_ROWS");
    return v && std::atoll(v) > 0 ? std::atoll(v) : int64_t{520};
  }();
  return std::clamp<int64_t>(target / T, 1, batch);
}

// Rows of the whole forward pass, the key of the per-op profile (so batch 1 and 8 differ).
inline thread_local int64_t profile_rows = 0;

struct Layer {
  std::vector<float> ln1_w, ln1_b, ln2_w, ln2_b;
  PackedLinear qkv, proj, fc1, fc2;  // fc1/fc2 are weights_in/weights_out for SwiGLU
  // int8: the LayerNorm parameters divided by the SmoothQuant scales of the matmul they feed.
  std::vector<float> ln1_wq, ln1_bq, ln2_wq, ln2_bq;
};

// One encoder block's weights as read from the file (fp32, [out, in] row-major), before packing.
// A weight matrix [N, K] (out, in), read from the model file only when called: the
// packed-weights cache usually makes reading it unnecessary.
using WeightSource = std::function<std::vector<float>()>;

// One encoder layer as the model file holds it: the small tensors read, the four weight
// matrices as sources (valid while the SafetensorsFile lives).
struct RawLayer {
  std::vector<float> ln1_w, ln1_b, ln2_w, ln2_b;
  std::vector<float> b_qkv, b_proj, lambda1, b_fc1, b_fc2, lambda2;
  WeightSource w_qkv, w_proj, w_fc1, w_fc2;
};

// Prefix of layer l's tensors in the model file, and of its entries in the packed-weights cache.
inline std::string layer_prefix(int l) { return "encoder.layer." + std::to_string(l) + "."; }

// int8: the precision part of the packed-weights cache file name. What int8 caches depends on
// the SmoothQuant strength and on the calibration, so both are in it (engine_cpu_int8.cpp).
std::string int8_cache_tag();
// int8: layer l's results of quantisation and calibration that are not weight matrices (scales,
// sums, smoothed LayerNorms), as cache entries pointing into `L`.
void append_int8_cache_entries(int l, const Layer& L, std::vector<PackedWeightsCache::Entry>& out);

// The matmul inputs of a block, for the int8 calibration.
enum class Int8Slot { QKV, Proj, Fc1, Fc2 };
// Called during the int8 calibration with a matmul's fp32 input, before it is quantised.
using Int8Fit = std::function<void(Int8Slot, const float* input, int64_t rows)>;

// The int8 calibration's activations: synthetic images run through the blocks packed so far.
struct Int8Calibration {
  std::vector<float> x;  // [nimg * T, D]
  int nimg = 0;
  int64_t T = 0;
  std::unique_ptr<BlockBuffers> buf;
};

struct MatmulEntry {
  dnnl::matmul::primitive_desc pd;
  dnnl::matmul prim;
  bool reorder_weights = false;  // the packed layout was not accepted for this shape
  // oneDNN has no fast kernel for the fused layer-scale + residual epilogue here (bf16 on a
  // CPU without AVX512-BF16 falls back to its reference kernel): run the GEMM alone and do
  // the epilogue in our own loop.
  bool unfused_residual = false;
};

class CpuEngine final : public Engine {
 public:
  explicit CpuEngine(const EngineParams& params);

  const ModelInfo& info() const override { return info_; }
  Precision precision() const override { return precision_; }
  int threads() const override { return threads_; }
  int dim() const override { return info_.hidden_size; }

  ForwardOutputs forward(const float* pixels, int batch, int height, int width,
                         const ForwardRequest& request) const override;
  std::vector<float> embed(const float* pixels, int batch, int height, int width,
                           Pooling pooling) const override;

 private:
  PackedLinear pack_linear(const std::string& name, const WeightSource& weights, int K, int N,
                           std::vector<float> bias, dt wdt);
  // Weights already in memory (int8: rewritten by the smoothing); not looked up in the cache
  // here (int8 layers are, whole, by load_layer_int8).
  PackedLinear pack_linear(const std::string& name, std::vector<float>&& weights, int K, int N,
                           std::vector<float> bias, dt wdt) {
    return pack_linear(name, WeightSource([&weights] { return std::move(weights); }), K, N, std::move(bias), wdt);
  }
  // The packed layout oneDNN chooses for a [K, N] weight of type wdt (tag::any).
  memory::desc packed_weights_desc(int K, int N, dt wdt) const;
  void save_packed_cache(const std::string& path) const;
  const MatmulEntry& linear_prim(const PackedLinear& L, int64_t M, dt src_dt, dt dst_dt, Epilogue ep) const;
  void run_linear(dnnl::stream& s, const PackedLinear& L, int64_t M, const void* src, dt src_dt, void* dst,
                  dt dst_dt, Epilogue ep) const;
  // int8: src rows quantised per token to u8 (q, row_scale, row_zero); the fp32 result is
  // v = (acc - row_zero * wsum) * row_scale * wscale + bias, then out = v (None) or
  // out += lambda * v (ScaleAddResidual).
  // acc: scratch for the GEMM result [M, N].
  void run_linear_int8(dnnl::stream& s, const PackedLinear& L, int64_t M, const uint8_t* q, const float* row_scale,
                       const int32_t* row_zero, int32_t* acc, float* out, Epilogue ep) const;
  void gelu_inplace(dnnl::stream& s, float* x, int64_t n) const;
  // One encoder block on `nimg` whole images (rows x[0 .. nimg*T)), in place.
  void run_block(dnnl::stream& s, const Layer& L, float* x, int nimg, int64_t T, BlockBuffers& b) const;
  // fit: the calibration hook (load time only), null at run time.
  void run_block_int8(dnnl::stream& s, const Layer& L, float* x, int nimg, int64_t T, BlockBuffers& b,
                      const Int8Fit* fit = nullptr) const;
  RawLayer read_layer(const SafetensorsFile& st, int l) const;
  Layer pack_layer(RawLayer raw, int l, dt wdt);  // fp32/bf16
  // int8: packs `L` (in place, at its final address: primitives are cached by it) with
  // SmoothQuant scales measured on the calibration images, which it then advances by one block.
  void pack_layer_int8(RawLayer raw, int l, Layer& L, Int8Calibration& cal);
  // int8: every layer from the packed-weights cache when it holds all of them, else from the
  // weights and a calibration pass (engine_cpu_int8_cache.cpp).
  void pack_layers_int8(const SafetensorsFile& st);
  // int8: layer l from the cache (no weight read, no calibration); false on any miss.
  bool load_layer_int8(RawLayer raw, int l, Layer& L) const;
  bool load_linear_int8(const std::string& name, int K, int N, bool smoothed_input, std::vector<float> bias,
                        PackedLinear& L) const;
  Int8Calibration start_int8_calibration() const;
  // Patch embedding, CLS, positions and registers: the encoder input [batch * T, D].
  std::vector<float> embed_tokens(dnnl::stream& s, const float* pixels, int batch, int height, int width) const;
  // The whole batch through the encoder: per-thread images where the batch allows (block0:
  // layer 0's output, which needs the layer-by-layer path).
  void encode_batch(dnnl::stream& s, float* x, int batch, int64_t T, Tensor* block0) const;
  // Images [first, first + count) of x through all the encoder layers (block0: layer 0's output).
  void encode_images(dnnl::stream& s, float* x, int64_t first, int64_t count, int64_t T,
                     Tensor* block0 = nullptr) const;
  ForwardOutputs forward_impl(const float* pixels, int batch, int height, int width,
                              const ForwardRequest& request) const;
  std::shared_ptr<const std::vector<float>> pos_embed_for(int h, int w, int height, int width) const;

  ModelInfo info_;
  Precision precision_ = Precision::FP32;
  int threads_ = 1;
  bool legacy_offset_ = false;
  dnnl::engine eng_{dnnl::engine::kind::cpu, 0};
  dt act_dt_ = dt::f32;  // type of the matmul inputs (fp32, or bf16 in BF16 mode)

  // Mapped packed weights of an earlier load (packed_cache.h); the layers below point into it.
  std::unique_ptr<PackedWeightsCache> packed_cache_;
  bool packed_cache_missed_ = false;
  std::vector<float> cls_, pos_, registers_;  // [D], [(1+G*G), D], [R, D]
  PackedLinear patch_;                          // [D, 3*P*P], always fp32
  std::vector<Layer> layers_;
  std::vector<float> final_w_, final_b_;
  std::unique_ptr<Attention> attention_;

  mutable std::shared_mutex cache_mu_;
  mutable std::unordered_map<std::string, std::unique_ptr<MatmulEntry>> matmuls_;
  mutable std::map<std::pair<int, int>, std::shared_ptr<const std::vector<float>>> pos_cache_;
  mutable std::unordered_map<std::string, dnnl::eltwise_forward::primitive_desc> eltwises_;
};

// Restores the calling thread's OpenMP thread count on scope exit: oneDNN (OpenMP build in
// Debian) uses omp_get_max_threads() of the calling thread, so we set it per call.
struct OmpThreadsScope {
  int prev;
  explicit OmpThreadsScope(int n) : prev(omp_get_max_threads()) { omp_set_num_threads(n); }
  ~OmpThreadsScope() { omp_set_num_threads(prev); }
};

inline dnnl::primitive_attr base_attr() {
  dnnl::primitive_attr a;
  // Per-call scratchpads keep concurrent forward() calls on one primitive independent.
  a.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return a;
}

// A cache key for a primitive: its kind and shape.
inline std::string key_of(const char* kind, std::initializer_list<int64_t> v) {
  std::string k = kind;
  for (auto x : v) k += ":" + std::to_string(x);
  return k;
}


}  // namespace vf::model::cpu
