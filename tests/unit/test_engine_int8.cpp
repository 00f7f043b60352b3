// int8 on weights with ViT-like activation outliers: real DINOv2 checkpoints have a few
// channels 50-100x the rest at the matmul inputs, which per-token int8 cannot represent (it
// gave cosine 0.86 to fp32 on such a ViT-B before SmoothQuant, docs/engine.md). The test writes
// an outlier copy of the golden ViT-S (`small`), the construction of
// bench/make_random_model.py --outliers: 4 LayerNorm channels x60 with the matching Q/K/V/fc1
// input columns /60, and 4 MLP hidden units x60 (fc1 rows and bias) with the fc2 columns /60,
// in every block. The function barely changes; the activations get the outliers.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "common/npy.h"
#include "viewfinder/engine.h"

namespace fs = std::filesystem;

namespace {

const fs::path kGolden = fs::path(VF_SHARED_DIR) / "golden";
constexpr float kFactor = 60.0f;
constexpr int kLnChannels[] = {7, 101, 202, 333};    // of D = 384
constexpr int kHiddenUnits[] = {5, 400, 901, 1400};  // of I = 1536

// A safetensors file held in memory, F16 tensors edited in place.
struct Safetensors {
  std::string bytes;
  nlohmann::json header;
  size_t data_start = 0;

  explicit Safetensors(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
    uint64_t n = 0;
    std::memcpy(&n, bytes.data(), 8);
    header = nlohmann::json::parse(bytes.substr(8, n));
    data_start = 8 + n;
  }
  // Multiplies element [r, c] of the 2-D (or 1-D, c = 0) F16 tensor `name` by f, for the rows
  // (or columns) listed.
  void scale(const std::string& name, const int* idx, size_t count, bool columns, float f) {
    const auto& t = header.at(name);
    EXPECT_EQ(t["dtype"], "F16") << name;
    const auto shape = t["shape"].get<std::vector<int64_t>>();
    const int64_t rows = shape[0], cols = shape.size() > 1 ? shape[1] : 1;
    auto* v = reinterpret_cast<_Float16*>(&bytes[data_start + t["data_offsets"][0].get<size_t>()]);
    for (size_t i = 0; i < count; ++i)
      for (int64_t j = 0; j < (columns ? rows : cols); ++j) {
        _Float16& e = columns ? v[j * cols + idx[i]] : v[idx[i] * cols + j];
        e = static_cast<_Float16>(static_cast<float>(e) * f);
      }
  }
};

class Int8Outliers : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("vf_int8_outliers_" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    const fs::path src = kGolden / "models/small";
    for (const char* f : {"config.json", "preprocessor_config.json"}) fs::copy_file(src / f, dir_ / f);
    Safetensors st(src / "model.safetensors");
    const auto config = nlohmann::json::parse(std::ifstream(src / "config.json"));
    for (int l = 0; l < config["num_hidden_layers"].get<int>(); ++l) {
      const std::string p = "encoder.layer." + std::to_string(l) + ".";
      for (const char* n : {"norm1.weight", "norm2.weight"}) st.scale(p + n, kLnChannels, 4, false, kFactor);
      for (const char* n : {"attention.attention.query.weight", "attention.attention.key.weight",
                            "attention.attention.value.weight", "mlp.fc1.weight"})
        st.scale(p + n, kLnChannels, 4, true, 1 / kFactor);
      st.scale(p + "mlp.fc1.weight", kHiddenUnits, 4, false, kFactor);
      st.scale(p + "mlp.fc1.bias", kHiddenUnits, 4, false, kFactor);
      st.scale(p + "mlp.fc2.weight", kHiddenUnits, 4, true, 1 / kFactor);
    }
    std::ofstream(dir_ / "model.safetensors", std::ios::binary) << st.bytes;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<vf::Engine> open(vf::Precision precision) {
    vf::EngineParams p;
    p.model_dir = dir_.string();
    p.precision = precision;
    auto engine = vf::Engine::open(p);
    EXPECT_EQ(engine->precision(), precision);
    return engine;
  }

  fs::path dir_;
};

double min_cosine(const std::vector<float>& a, const std::vector<float>& b, int D) {
  double worst = 1;
  for (size_t r = 0; r * D < a.size(); ++r) {
    double ab = 0, aa = 0, bb = 0;
    for (int d = 0; d < D; ++d) {
      ab += double(a[r * D + d]) * b[r * D + d];
      aa += double(a[r * D + d]) * a[r * D + d];
      bb += double(b[r * D + d]) * b[r * D + d];
    }
    worst = std::min(worst, ab / std::sqrt(aa * bb));
  }
  return worst;
}

TEST_F(Int8Outliers, SmoothQuantKeepsCosineToFp32) {
  auto fp32_engine = open(vf::Precision::FP32), int8_engine = open(vf::Precision::INT8);
  // The pooler and the mean of every image.
  auto pooled = [](vf::Engine& e, const std::vector<float>& px, int batch, int h, int w) {
    vf::ForwardRequest req;
    req.mean_all = true;
    auto out = e.forward(px.data(), batch, h, w, req);
    std::vector<float> v = out.pooler.data;
    v.insert(v.end(), out.mean_all.data.begin(), out.mean_all.data.end());
    return v;
  };
  for (const char* input : {"rand_2x3x224x224.npy", "rand_1x3x196x280.npy"}) {
    SCOPED_TRACE(input);
    const auto npy = vf::read_npy((kGolden / "cases/inputs" / input).string());
    const int B = static_cast<int>(npy.shape[0]), H = static_cast<int>(npy.shape[2]),
              W = static_cast<int>(npy.shape[3]);
    const auto px = npy.as_float();
    const double cos = min_cosine(pooled(*int8_engine, px, B, H, W), pooled(*fp32_engine, px, B, H, W), 384);
    std::printf("int8 vs fp32 on the outlier ViT-S, %s: worst pooled cosine %.6f\n", input, cos);
    EXPECT_GE(cos, 0.999);
  }
}

}  // namespace
