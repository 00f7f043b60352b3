// Golden tests of the DINOv2 engine: every case in /work/shared/golden/manifest.json
// ("model_cases"), fp32 against the reference outputs at the strict tolerance, plus the
// bf16 mode against fp32 on the `small` model.
#include <gtest/gtest.h>

#include <cstring>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <thread>
#include <memory>
#include <nlohmann/json.hpp>

#include "common/npy.h"
#include "model/kernels.h"
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

// int8 on every golden case (all four models, both position interpolations, registers, SwiGLU):
// the pooled outputs within cosine 0.999 of the fp32 goldens, the bar `auto` needs to pick int8.
TEST(EngineGolden, Int8HoldsOnAllModelCases) {
  const auto m = manifest();
  ASSERT_TRUE(m.is_object());
  int checked = 0;
  double worst = 1;
  for (const auto& c : m["model_cases"]) {
    const std::string id = c["id"];
    const bool legacy = c["pos_embed_interpolation"].get<std::string>().find("legacy") != std::string::npos;
    SCOPED_TRACE(id);
    vf::Engine& engine = engine_for(c["model_dir"], legacy, vf::Precision::INT8);
    const auto input = vf::read_npy(kGolden + "/" + c["input"]["file"].get<std::string>());
    const int B = static_cast<int>(input.shape[0]), H = static_cast<int>(input.shape[2]),
              W = static_cast<int>(input.shape[3]);
    const auto& ex = c["expected"];
    vf::ForwardRequest req;
    req.pooler = ex.contains("pooler_output");
    req.mean_all = ex.contains("mean_pooled");
    ASSERT_TRUE(req.pooler || req.mean_all);
    const auto out = engine.forward(input.as_float().data(), B, H, W, req);
    const int64_t D = engine.dim();
    for (const auto& [name, t] : {std::pair<const char*, const vf::Tensor*>{"pooler_output", &out.pooler},
                                  {"mean_pooled", &out.mean_all}}) {
      if (!ex.contains(name)) continue;
      const auto want = vf::read_npy(kGolden + "/" + ex[name]["file"].get<std::string>()).as_float();
      const auto cmp = compare(t->data, want, D);
      EXPECT_GE(cmp.min_cos, 0.999) << name;
      worst = std::min(worst, cmp.min_cos);
      std::printf("int8 vs fp32 %s %s: 1-cos %.2e\n", id.c_str(), name, 1 - cmp.min_cos);
    }
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(m["model_cases"].size()));
  std::printf("int8: worst pooled cosine to the fp32 goldens over %d cases: %.6f\n", checked, worst);
}

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

// With 2 threads and batch >= 2 each thread runs whole images on its own (and batch 3 leaves
// one image for the layer-by-layer path): the result must be the one-thread result.
TEST(EngineGolden, PerThreadImagesMatchOneThread) {
  vf::EngineParams p;
  p.model_dir = kGolden + "/models/tiny-registers";
  p.precision = vf::Precision::FP32;
  const auto a = vf::read_npy(kGolden + "/cases/inputs/rand_2x3x224x224.npy").as_float();
  std::vector<float> three(a);
  three.insert(three.end(), a.begin(), a.begin() + a.size() / 2);
  vf::ForwardRequest req;
  req.last_hidden_state = true;
  req.pooler = true;
  for (int batch : {2, 3}) {
    p.threads = 1;
    const auto one = vf::Engine::open(p)->forward(three.data(), batch, 224, 224, req);
    p.threads = 2;
    const auto two = vf::Engine::open(p)->forward(three.data(), batch, 224, 224, req);
    ASSERT_EQ(one.last_hidden_state.data.size(), two.last_hidden_state.data.size());
    double worst = 0;
    for (size_t i = 0; i < one.last_hidden_state.data.size(); ++i)
      worst = std::max(worst, static_cast<double>(std::abs(one.last_hidden_state.data[i] - two.last_hidden_state.data[i])));
    EXPECT_LE(worst, 1e-5) << "batch " << batch;
    // The third image is the first one again, run on the other path: the same result.
    if (batch == 3)
      for (int d = 0; d < static_cast<int>(two.pooler.shape[1]); ++d)
        EXPECT_NEAR(two.pooler.data[2 * two.pooler.shape[1] + d], two.pooler.data[d], 1e-5);
  }
}

// The attention softmax (our own kernel, AVX-512 where the CPU has it): against a double
// reference on rows with and without a 16-element tail and with a score below exp's floor.
TEST(EngineKernels, SoftmaxRowsMatchDoubleReference) {
  for (int n : {1, 7, 16, 17, 257}) {
    const int rows = 3;
    std::vector<float> x(static_cast<size_t>(rows) * n);
    for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(std::sin(0.7 * i) * 9.0);
    if (n > 2) x[1] = -300.0f;
    std::vector<double> ref(x.size());
    for (int r = 0; r < rows; ++r) {
      double m = -1e300, sum = 0;
      for (int j = 0; j < n; ++j) m = std::max(m, static_cast<double>(x[r * n + j]));
      for (int j = 0; j < n; ++j) sum += std::exp(x[r * n + j] - m);
      for (int j = 0; j < n; ++j) ref[r * n + j] = std::exp(x[r * n + j] - m) / sum;
    }
    std::vector<float> y = x;
    vf::model::softmax_rows(y.data(), rows, n, nullptr, 2);
    std::vector<float> z = x;
    std::vector<uint16_t> y16(x.size());
    vf::model::softmax_rows(z.data(), rows, n, y16.data(), 1);
    for (size_t i = 0; i < x.size(); ++i) {
      EXPECT_NEAR(y[i], ref[i], 1e-6) << "n=" << n << " i=" << i;
      uint32_t bits = static_cast<uint32_t>(y16[i]) << 16;
      float b;
      std::memcpy(&b, &bits, 4);
      EXPECT_NEAR(b, ref[i], ref[i] / 128 + 1e-30) << "bf16, n=" << n << " i=" << i;
    }
  }
}

}  // namespace
