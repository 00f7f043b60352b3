// Viewfinder public API: the DINOv2 inference engine.
//
// An Engine owns one model's weights, loaded once from a Hugging Face model directory
// (config.json + model.safetensors [+ preprocessor_config.json]). Every method is const and
// thread-safe: many callers (indexer threads, server requests) share one Engine, each
// forward pass using its own scratch memory.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "viewfinder/error.h"
#include "viewfinder/system.h"  // physical_core_count(): the default engine thread count

namespace vf {

// Numeric mode of the matrix products. Auto picks the fastest mode that this CPU runs and
// that meets the accuracy bar (cosine >= 0.999 against fp32): bf16 where AVX512-BF16 exists
// (CPUID), fp32 otherwise (emulated bf16 is slower than fp32). INT8 (per-token dynamic int8
// activations, per-channel int8 weights, fp32 attention/LayerNorm/GELU/residuals; fast with
// AVX512-VNNI) is opt-in only: it meets the bar on the golden ViT-S with little margin
// (pooler 1-cos <= 9e-4), and on a ViT-B with activation outliers (channels 60x the rest, as
// real checkpoints have) its cosine to fp32 falls to 0.86 (docs/engine.md).
enum class Precision { Auto, FP32, BF16, INT8 };
const char* to_string(Precision p);
Precision parse_precision(const std::string& s);  // "auto" | "fp32" | "bf16" | "int8"; throws vf::Error

// Which vector represents an image in search.
//   CLS       : the CLS token after the final layernorm (HF pooler_output). The default: it is
//               what DINOv2 was trained to make a global descriptor of (the DINO/iBOT image-level
//               loss acts on CLS), and the DINOv2 paper's retrieval numbers use it.
//   Mean      : mean over ALL tokens, CLS and registers included. The spec's
//               `last_hidden_state.mean(dim=1)`.
//   PatchMean : mean over patch tokens only (HF Dinov2ForImageClassification's second half).
enum class Pooling { CLS, Mean, PatchMean };
const char* to_string(Pooling p);
Pooling parse_pooling(const std::string& s);  // "cls" | "mean" | "patch-mean"; throws vf::Error

struct EngineParams {
  std::string model_dir;                   // HF model directory
  Precision precision = Precision::Auto;
  int threads = 0;                         // 0: number of physical cores
  bool legacy_interpolate_offset = false;  // pre-v4.45 HF / Meta hub `+0.1` pos-embed interpolation
  std::string backend = "cpu";             // "cpu" | "cuda" (when built with CUDA and a GPU exists)
};

struct ModelInfo {
  std::string model_dir;
  std::string model_type;  // "dinov2" | "dinov2_with_registers"
  std::string model_id;    // stable identity used to stamp embeddings: "<name>@<sha256[:12]>"
  int hidden_size = 0;
  int num_layers = 0;
  int num_heads = 0;
  int intermediate_size = 0;  // MLP hidden, or SwiGLU hidden h
  int patch_size = 14;
  int image_size = 518;       // size of the stored position grid, in pixels
  int num_registers = 0;
  bool swiglu = false;
  double layer_norm_eps = 1e-6;
  int64_t num_parameters = 0;
  std::string dtype;          // storage dtype of the safetensors file: F32 | F16 | BF16
  std::string sha256;         // of model.safetensors
  // From preprocessor_config.json (defaults are facebook/dinov2-base's).
  int resize_shortest_edge = 256;
  int crop_size = 224;
  float image_mean[3] = {0.485f, 0.456f, 0.406f};
  float image_std[3] = {0.229f, 0.224f, 0.225f};
};

// Reads and validates a model directory without building an engine (for `model info`).
// Throws vf::Error naming the file and the problem.
ModelInfo inspect_model(const std::string& model_dir, bool compute_sha256 = true);

// A dense float tensor, row-major.
struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> data;
  int64_t numel() const;
};

// What a forward pass should return; unrequested outputs stay empty.
struct ForwardRequest {
  bool last_hidden_state = false;  // [B, T, D]
  bool pooler = true;              // [B, D] CLS after final layernorm
  bool mean_all = false;           // [B, D]
  bool mean_patch = false;         // [B, D]
  bool patch_tokens = false;       // [B, h*w, D]
  bool embeddings_output = false;  // [B, T, D] hidden_states[0] (debug / tests)
  bool block0_output = false;      // [B, T, D] hidden_states[1] (debug / tests)
};

struct ForwardOutputs {
  Tensor last_hidden_state, pooler, mean_all, mean_patch, patch_tokens;
  Tensor embeddings_output, block0_output;
};

class Engine {
 public:
  static std::unique_ptr<Engine> open(const EngineParams& params);
  virtual ~Engine() = default;

  virtual const ModelInfo& info() const = 0;
  virtual Precision precision() const = 0;  // the resolved mode (never Auto)
  virtual int threads() const = 0;
  virtual int dim() const = 0;              // embedding dimension (hidden_size)

  // pixels: NCHW float32, already normalised, `batch` images of H x W (any size >= patch).
  virtual ForwardOutputs forward(const float* pixels, int batch, int height, int width,
                                 const ForwardRequest& request) const = 0;

  // Pooled, L2-normalised embeddings for a batch of preprocessed inputs: [batch, dim].
  virtual std::vector<float> embed(const float* pixels, int batch, int height, int width,
                                   Pooling pooling) const = 0;
};

}  // namespace vf
