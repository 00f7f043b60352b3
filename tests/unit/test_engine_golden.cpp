// Golden tests of the DINOv2 engine: every case in /work/shared/golden/manifest.json
// ("model_cases"), fp32 against the reference outputs at the strict tolerance, plus the
// bf16 mode against fp32 on the `small` model.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <thread>
#include <memory>
#include <nlohmann/json.hpp>

#include "common/npy.h"
#include "viewfinder/engine.h"

namespace {

const std::string kGolden = std::string(VF_SHARED_DIR) + "/golden";

nlohmann::json manifest() {
  std::ifstream in(kGolden + "/manifest.json");
  if (!in) return nlohmann::json();
  return nlohmann::json::parse(in);
}

struct Compare {
  double max_abs = 0;
  double min_cos = 1;
};

// Max abs error and the minimum cosine over rows of length D.
Compare compare(const std::vector<float>& got, const std::vector<float>& want, int64_t D) {
  Compare c;
  for (size_t r = 0; r * D < want.size(); ++r) {
    double dot = 0, ng = 0, nw = 0;
    for (int64_t d = 0; d < D; ++d) {
      const double g = got[r * D + d], w = want[r * D + d];
      c.max_abs = std::max(c.max_abs, std::abs(g - w));
      dot += g * w;
      ng += g * g;
      nw += w * w;
    }
    const double cos = (ng == 0 && nw == 0) ? 1.0 : dot / std::sqrt(ng * nw);
    c.min_cos = std::min(c.min_cos, cos);
  }
  return c;
}

// One engine per (model, legacy flag, precision), shared by the cases.
vf::Engine& engine_for(const std::string& model_dir, bool legacy, vf::Precision precision) {
  static std::map<std::string, std::unique_ptr<vf::Engine>> engines;
  const std::string key = model_dir + (legacy ? "#legacy" : "") + "#" + vf::to_string(precision);
  auto& e = engines[key];
  if (!e) {
    vf::EngineParams p;
    p.model_dir = kGolden + "/" + model_dir;
    p.precision = precision;
    p.legacy_interpolate_offset = legacy;
    e = vf::Engine::open(p);
  }
  return *e;
}

TEST(EngineGolden, ManifestHasCases) {
  const auto m = manifest();
  ASSERT_TRUE(m.is_object()) << "golden manifest not found under " << kGolden;
  ASSERT_GT(m["model_cases"].size(), 0u);
}

TEST(EngineGolden, AllModelCasesFp32) {
  const auto m = manifest();
  ASSERT_TRUE(m.is_object());
  int checked = 0;
  for (const auto& c : m["model_cases"]) {
    const std::string id = c["id"];
    const bool legacy = c["pos_embed_interpolation"].get<std::string>().find("legacy") != std::string::npos;
    SCOPED_TRACE(id);
    vf::Engine& engine = engine_for(c["model_dir"], legacy, vf::Precision::FP32);
    ASSERT_EQ(engine.precision(), vf::Precision::FP32);
    const auto input = vf::read_npy(kGolden + "/" + c["input"]["file"].get<std::string>());
    ASSERT_EQ(input.shape.size(), 4u);
    const int B = static_cast<int>(input.shape[0]), H = static_cast<int>(input.shape[2]),
              W = static_cast<int>(input.shape[3]);
    vf::ForwardRequest req;
    const auto& ex = c["expected"];
    req.last_hidden_state = ex.contains("last_hidden_state");
    req.pooler = ex.contains("pooler_output");
    req.mean_all = ex.contains("mean_pooled");
    req.embeddings_output = ex.contains("embeddings_output");
    req.block0_output = ex.contains("block0_output");
    req.mean_patch = true;
    req.patch_tokens = true;
    const auto out = engine.forward(input.as_float().data(), B, H, W, req);
    const std::map<std::string, const vf::Tensor*> got = {
        {"last_hidden_state", &out.last_hidden_state}, {"pooler_output", &out.pooler},
        {"mean_pooled", &out.mean_all},                {"embeddings_output", &out.embeddings_output},
        {"block0_output", &out.block0_output}};
    for (auto it = ex.begin(); it != ex.end(); ++it) {
      SCOPED_TRACE(it.key());
      ASSERT_TRUE(got.count(it.key())) << "unknown expected output " << it.key();
      const auto want = vf::read_npy(kGolden + "/" + it.value()["file"].get<std::string>());
      const vf::Tensor& t = *got.at(it.key());
      ASSERT_EQ(t.shape, want.shape);
      const auto cmp = compare(t.data, want.as_float(), want.shape.back());
      EXPECT_LE(cmp.max_abs, 3e-5);
      EXPECT_GE(cmp.min_cos, 0.999999);
      ++checked;
    }
    // Derived outputs agree with last_hidden_state (HF's patch-mean is lhs[:, 1+R:].mean).
    if (req.last_hidden_state) {
      const auto& lhs = out.last_hidden_state;
      const int64_t T = lhs.shape[1], D = lhs.shape[2], first = T - out.patch_tokens.shape[1];
      for (int b = 0; b < B; ++b)
        for (int64_t d = 0; d < D; d += 7) {
          double s = 0;
          for (int64_t t = first; t < T; ++t) s += lhs.data[(b * T + t) * D + d];
          EXPECT_NEAR(out.mean_patch.data[b * D + d], s / (T - first), 1e-5);
          EXPECT_EQ(out.patch_tokens.data[(b * (T - first)) * D + d], lhs.data[(b * T + first) * D + d]);
        }
    }
  }
  EXPECT_GE(checked, 40);
}

// bf16 matmuls (fp32 accumulation, fp32 LayerNorm/softmax/GELU/residuals) against the fp32
// goldens of `small` (which our fp32 path matches to ~1e-6): the accuracy bar is cosine >= 0.999.
// The same bar for the int8 mode (per-token dynamic activations, per-channel weights).
void reduced_precision_vs_golden(vf::Precision precision, double min_token_cos) {
  const auto m = manifest();
  ASSERT_TRUE(m.is_object());
  vf::Engine& bf16 = engine_for("models/small", false, precision);
  ASSERT_EQ(bf16.precision(), precision);
  int checked = 0;
  for (const auto& c : m["model_cases"]) {
    if (c["model"] != "small" || c["pos_embed_interpolation"] != "size") continue;
    SCOPED_TRACE(c["id"].get<std::string>());
    const auto input = vf::read_npy(kGolden + "/" + c["input"]["file"].get<std::string>());
    const int B = static_cast<int>(input.shape[0]), H = static_cast<int>(input.shape[2]),
              W = static_cast<int>(input.shape[3]);
    vf::ForwardRequest req;
    req.last_hidden_state = true;
    req.mean_all = true;
    const auto got = bf16.forward(input.as_float().data(), B, H, W, req);
    const int64_t D = bf16.dim();
    const auto& ex = c["expected"];
    auto golden = [&](const char* name) {
      return vf::read_npy(kGolden + "/" + ex[name]["file"].get<std::string>()).as_float();
    };
    const auto pool = compare(got.pooler.data, golden("pooler_output"), D);
    const auto mean = compare(got.mean_all.data, golden("mean_pooled"), D);
    const auto lhs = compare(got.last_hidden_state.data, golden("last_hidden_state"), D);
    EXPECT_GE(pool.min_cos, 0.999);
    EXPECT_GE(mean.min_cos, 0.999);
    EXPECT_GE(lhs.min_cos, min_token_cos);
    std::printf("%s vs fp32 %s: pooler 1-cos %.2e, mean 1-cos %.2e, tokens min cos %.5f, max abs %.3g\n",
                vf::to_string(precision), c["id"].get<std::string>().c_str(), 1 - pool.min_cos, 1 - mean.min_cos, lhs.min_cos, lhs.max_abs);
    ++checked;
  }
  EXPECT_GE(checked, 2);
}

TEST(EngineGolden, Bf16CloseToFp32OnSmall) { reduced_precision_vs_golden(vf::Precision::BF16, 0.99); }
TEST(EngineGolden, Int8CloseToFp32OnSmall) { reduced_precision_vs_golden(vf::Precision::INT8, 0.98); }

TEST(EngineGolden, EmbedIsNormalisedPooling) {
  vf::Engine& e = engine_for("models/tiny", false, vf::Precision::FP32);
  const auto input = vf::read_npy(kGolden + "/cases/inputs/rand_2x3x224x224.npy");
  const auto px = input.as_float();
  vf::ForwardRequest req;
  req.mean_all = true;
  req.mean_patch = true;
  const auto o = e.forward(px.data(), 2, 224, 224, req);
  for (auto pooling : {vf::Pooling::CLS, vf::Pooling::Mean, vf::Pooling::PatchMean}) {
    const auto v = e.embed(px.data(), 2, 224, 224, pooling);
    ASSERT_EQ(v.size(), 2u * e.dim());
    const auto& ref = pooling == vf::Pooling::CLS ? o.pooler : pooling == vf::Pooling::Mean ? o.mean_all : o.mean_patch;
    for (int b = 0; b < 2; ++b) {
      double n = 0, dot = 0, nr = 0;
      for (int d = 0; d < e.dim(); ++d) {
        n += v[b * e.dim() + d] * v[b * e.dim() + d];
        dot += v[b * e.dim() + d] * ref.data[b * e.dim() + d];
        nr += ref.data[b * e.dim() + d] * ref.data[b * e.dim() + d];
      }
      EXPECT_NEAR(n, 1.0, 1e-5);
      EXPECT_NEAR(dot / std::sqrt(nr), 1.0, 1e-5);
    }
  }
}

// One Engine shared by concurrent callers (const methods, per-call scratch) gives the same
// results as serial calls, including for grid sizes first seen concurrently (pos-embed cache).
TEST(EngineGolden, ConcurrentForwardMatchesSerial) {
  vf::EngineParams p;
  p.model_dir = kGolden + "/models/tiny-registers";
  p.precision = vf::Precision::FP32;
  p.threads = 1;
  auto engine = vf::Engine::open(p);
  const auto a = vf::read_npy(kGolden + "/cases/inputs/rand_2x3x224x224.npy").as_float();
  const auto b = vf::read_npy(kGolden + "/cases/inputs/rand_1x3x196x280.npy").as_float();
  vf::ForwardRequest req;
  req.last_hidden_state = true;
  std::vector<float> ra[4], rb[4];
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      ra[t] = engine->forward(a.data(), 2, 224, 224, req).last_hidden_state.data;
      rb[t] = engine->forward(b.data(), 1, 196, 280, req).last_hidden_state.data;
    });
  for (auto& th : threads) th.join();
  const auto sa = engine->forward(a.data(), 2, 224, 224, req).last_hidden_state.data;
  const auto sb = engine->forward(b.data(), 1, 196, 280, req).last_hidden_state.data;
  for (int t = 0; t < 4; ++t) {
    EXPECT_EQ(ra[t], sa);
    EXPECT_EQ(rb[t], sb);
  }
}

}  // namespace
