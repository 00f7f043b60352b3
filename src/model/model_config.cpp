#include "model/model_config.h"

#include <cpuid.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "model/safetensors.h"
#include "viewfinder/error.h"

namespace vf {

const char* to_string(Precision p) {
  switch (p) {
    case Precision::Auto: return "auto";
    case Precision::FP32: return "fp32";
    case Precision::BF16: return "bf16";
    case Precision::INT8: return "int8";
  }
  return "?";
}

Precision parse_precision(const std::string& s) {
  if (s == "auto") return Precision::Auto;
  if (s == "fp32") return Precision::FP32;
  if (s == "bf16") return Precision::BF16;
  if (s == "int8") return Precision::INT8;
  throw Error("unknown precision '" + s + "' (expected auto, fp32, bf16 or int8)", ErrorCode::InvalidArgument);
}

const char* to_string(Pooling p) {
  switch (p) {
    case Pooling::CLS: return "cls";
    case Pooling::Mean: return "mean";
    case Pooling::PatchMean: return "patch-mean";
  }
  return "?";
}

Pooling parse_pooling(const std::string& s) {
  if (s == "cls") return Pooling::CLS;
  if (s == "mean") return Pooling::Mean;
  if (s == "patch-mean" || s == "patch_mean") return Pooling::PatchMean;
  throw Error("unknown pooling '" + s + "' (expected cls, mean or patch-mean)", ErrorCode::InvalidArgument);
}

namespace model {

namespace {

[[noreturn]] void bad(const std::string& file, const std::string& what) {
  throw Error(file + ": " + what, ErrorCode::BadModel);
}

nlohmann::json read_json(const std::string& file, bool required) {
  std::ifstream in(file);
  if (!in) {
    if (!required) return nlohmann::json();
    struct stat st {};
    bad(file, stat(file.c_str(), &st) == 0 ? "cannot read" : "missing (not a Hugging Face model directory?)");
  }
  try {
    return nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    bad(file, std::string("is not valid JSON (") + e.what() + ")");
  }
}

template <typename T>
T get_or(const nlohmann::json& j, const char* key, T fallback, const std::string& file) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  try {
    return j[key].get<T>();
  } catch (const std::exception&) {
    bad(file, std::string("field '") + key + "' has the wrong type");
  }
}

}  // namespace

std::string weights_path(const std::string& model_dir) { return model_dir + "/model.safetensors"; }

ModelInfo read_model_config(const std::string& model_dir) {
  struct stat st {};
  if (stat(model_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw Error(model_dir + ": model directory does not exist (run `viewfinder model download facebook/dinov2-base` "
                "or pass --model DIR)", ErrorCode::BadModel);
  ModelInfo info;
  info.model_dir = model_dir;
  const std::string cfg_file = model_dir + "/config.json";
  const nlohmann::json cfg = read_json(cfg_file, true);
  if (!cfg.is_object()) bad(cfg_file, "is not a JSON object");
  info.model_type = get_or<std::string>(cfg, "model_type", "", cfg_file);
  if (info.model_type != "dinov2" && info.model_type != "dinov2_with_registers")
    bad(cfg_file, "model_type '" + info.model_type + "' is not supported (expected dinov2 or dinov2_with_registers)");
  info.hidden_size = get_or<int>(cfg, "hidden_size", 768, cfg_file);
  info.num_layers = get_or<int>(cfg, "num_hidden_layers", 12, cfg_file);
  info.num_heads = get_or<int>(cfg, "num_attention_heads", 12, cfg_file);
  info.patch_size = get_or<int>(cfg, "patch_size", 14, cfg_file);
  info.image_size = get_or<int>(cfg, "image_size", 518, cfg_file);
  info.layer_norm_eps = get_or<double>(cfg, "layer_norm_eps", 1e-6, cfg_file);
  info.swiglu = get_or<bool>(cfg, "use_swiglu_ffn", false, cfg_file);
  info.num_registers =
      info.model_type == "dinov2_with_registers" ? get_or<int>(cfg, "num_register_tokens", 4, cfg_file) : 0;
  const double mlp_ratio = get_or<double>(cfg, "mlp_ratio", 4.0, cfg_file);
  const int channels = get_or<int>(cfg, "num_channels", 3, cfg_file);
  const std::string act = get_or<std::string>(cfg, "hidden_act", "gelu", cfg_file);
  if (channels != 3) bad(cfg_file, "num_channels " + std::to_string(channels) + " is not supported (expected 3)");
  if (info.hidden_size <= 0 || info.num_layers <= 0 || info.num_heads <= 0 || info.patch_size <= 0 ||
      info.image_size < info.patch_size || info.hidden_size % info.num_heads != 0 || info.num_registers < 0 ||
      !(mlp_ratio > 0) || info.hidden_size > 65536 || info.num_layers > 1000 || info.patch_size > 1024 ||
      info.image_size > 16384)
    bad(cfg_file, "inconsistent architecture (hidden_size " + std::to_string(info.hidden_size) + ", heads " +
                      std::to_string(info.num_heads) + ", layers " + std::to_string(info.num_layers) + ")");
  if (!info.swiglu && act != "gelu")
    bad(cfg_file, "hidden_act '" + act + "' is not supported (DINOv2 uses exact-erf 'gelu')");
  if (info.swiglu) {
    // HF Dinov2SwiGLUFFN: hidden = int(D * mlp_ratio); h = (int(hidden * 2 / 3) + 7) // 8 * 8.
    const int hidden = static_cast<int>(info.hidden_size * mlp_ratio);
    info.intermediate_size = (static_cast<int>(hidden * 2.0 / 3.0) + 7) / 8 * 8;
  } else {
    info.intermediate_size = static_cast<int>(info.hidden_size * mlp_ratio);
  }
  if (get_or<bool>(cfg, "qkv_bias", true, cfg_file) == false)
    bad(cfg_file, "qkv_bias=false is not supported (every DINOv2 checkpoint has query/key/value biases)");

  const std::string pp_file = model_dir + "/preprocessor_config.json";
  const nlohmann::json pp = read_json(pp_file, false);
  if (pp.is_object()) {
    try {
      if (pp.contains("size") && pp["size"].is_object() && pp["size"].contains("shortest_edge"))
        info.resize_shortest_edge = pp["size"]["shortest_edge"].get<int>();
      if (pp.contains("crop_size")) {
        if (pp["crop_size"].is_object() && pp["crop_size"].contains("height"))
          info.crop_size = pp["crop_size"]["height"].get<int>();
        else if (pp["crop_size"].is_number_integer())
          info.crop_size = pp["crop_size"].get<int>();
      }
      if (pp.contains("image_mean") && pp["image_mean"].is_array() && pp["image_mean"].size() == 3)
        for (int c = 0; c < 3; ++c) info.image_mean[c] = pp["image_mean"][c].get<float>();
      if (pp.contains("image_std") && pp["image_std"].is_array() && pp["image_std"].size() == 3)
        for (int c = 0; c < 3; ++c) info.image_std[c] = pp["image_std"][c].get<float>();
    } catch (const std::exception& e) {
      bad(pp_file, std::string("has a malformed field (") + e.what() + ")");
    }
    if (info.resize_shortest_edge <= 0 || info.crop_size <= 0 || info.crop_size > info.resize_shortest_edge * 4)
      bad(pp_file, "has an unusable size/crop_size");
    for (int c = 0; c < 3; ++c)
      if (!(info.image_std[c] > 0)) bad(pp_file, "has a non-positive image_std");
  }
  return info;
}

std::vector<ExpectedTensor> expected_tensors(const ModelInfo& info) {
  const int64_t D = info.hidden_size, P = info.patch_size, G = info.image_size / info.patch_size;
  const int64_t I = info.intermediate_size;
  std::vector<ExpectedTensor> t = {
      {"embeddings.cls_token", {1, 1, D}},
      {"embeddings.position_embeddings", {1, 1 + G * G, D}},
      {"embeddings.patch_embeddings.projection.weight", {D, 3, P, P}},
      {"embeddings.patch_embeddings.projection.bias", {D}},
  };
  if (info.num_registers > 0) t.push_back({"embeddings.register_tokens", {1, info.num_registers, D}});
  for (int l = 0; l < info.num_layers; ++l) {
    const std::string p = "encoder.layer." + std::to_string(l) + ".";
    for (const char* n : {"norm1", "norm2"}) {
      t.push_back({p + n + ".weight", {D}});
      t.push_back({p + n + ".bias", {D}});
    }
    for (const char* n : {"query", "key", "value"}) {
      t.push_back({p + "attention.attention." + n + ".weight", {D, D}});
      t.push_back({p + "attention.attention." + n + ".bias", {D}});
    }
    t.push_back({p + "attention.output.dense.weight", {D, D}});
    t.push_back({p + "attention.output.dense.bias", {D}});
    t.push_back({p + "layer_scale1.lambda1", {D}});
    t.push_back({p + "layer_scale2.lambda1", {D}});
    if (info.swiglu) {
      t.push_back({p + "mlp.weights_in.weight", {2 * I, D}});
      t.push_back({p + "mlp.weights_in.bias", {2 * I}});
      t.push_back({p + "mlp.weights_out.weight", {D, I}});
      t.push_back({p + "mlp.weights_out.bias", {D}});
    } else {
      t.push_back({p + "mlp.fc1.weight", {I, D}});
      t.push_back({p + "mlp.fc1.bias", {I}});
      t.push_back({p + "mlp.fc2.weight", {D, I}});
      t.push_back({p + "mlp.fc2.bias", {D}});
    }
  }
  t.push_back({"layernorm.weight", {D}});
  t.push_back({"layernorm.bias", {D}});
  return t;
}

std::string sha256_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw Error(path + ": cannot open", ErrorCode::BadModel);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  std::vector<unsigned char> buf(1 << 20);
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) EVP_DigestUpdate(ctx.get(), buf.data(), n);
  const bool err = std::ferror(f);
  std::fclose(f);
  if (err) throw Error(path + ": read error while hashing", ErrorCode::Io);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (unsigned i = 0; i < len; ++i) {
    s += hex[md[i] >> 4];
    s += hex[md[i] & 15];
  }
  return s;
}

bool cpu_has_avx512_bf16() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid_max(0, nullptr) < 7) return false;
  __cpuid_count(7, 1, a, b, c, d);
  return (a >> 5) & 1;  // CPUID.(EAX=7,ECX=1):EAX[5] = AVX512_BF16
}

bool cpu_has_avx512_vnni() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid_max(0, nullptr) < 7) return false;
  __cpuid_count(7, 0, a, b, c, d);
  return (c >> 11) & 1;  // CPUID.(EAX=7,ECX=0):ECX[11] = AVX512_VNNI
}

}  // namespace model

ModelInfo inspect_model(const std::string& model_dir_in, bool compute_sha256) {
  std::string model_dir = model_dir_in;
  while (model_dir.size() > 1 && model_dir.back() == '/') model_dir.pop_back();
  ModelInfo info = model::read_model_config(model_dir);
  const std::string wfile = model::weights_path(model_dir);
  model::SafetensorsFile st(wfile);
  for (const auto& e : model::expected_tensors(info)) {
    const model::TensorEntry* t = st.find(e.name);
    if (!t) throw Error(wfile + ": missing tensor '" + e.name + "' (does it match config.json?)", ErrorCode::BadModel);
    if (t->shape != e.shape)
      throw Error(wfile + ": tensor '" + e.name + "' has shape " + model::shape_to_string(t->shape) +
                      " but config.json implies " + model::shape_to_string(e.shape),
                  ErrorCode::BadModel);
    if (t->dtype != "F32" && t->dtype != "F16" && t->dtype != "BF16")
      throw Error(wfile + ": tensor '" + e.name + "' has unsupported dtype " + t->dtype, ErrorCode::BadModel);
  }
  info.num_parameters = st.total_numel();
  info.dtype = st.dtype_summary();
  std::string name = model_dir;
  if (char* real = ::realpath(model_dir.c_str(), nullptr)) {
    name = real;
    std::free(real);
  }
  const auto slash = name.find_last_of('/');
  if (slash != std::string::npos) name = name.substr(slash + 1);
  if (name.empty() || name == ".") name = info.model_type;
  if (compute_sha256) {
    info.sha256 = model::sha256_file_cached(wfile);
    info.model_id = name + "@" + info.sha256.substr(0, 12);
  } else {
    info.model_id = name;
  }
  return info;
}

}  // namespace vf
