// The engine on the golden photos (manifest["preprocess_cases"]) with the `small` model:
//  * from the golden HF pixel_values: pooler and mean within the strict fp32 tolerance;
//  * end to end through vf::ingest_file (our decoder + preprocessing, EXIF mode as the case
//    says) against the same HF embeddings, so a decode/orientation mix-up shows (the
//    portrait's two EXIF modes are only 0.88 apart).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/npy.h"
#include "viewfinder/engine.h"
#include "viewfinder/image.h"

namespace {

const std::string kGolden = std::string(VF_SHARED_DIR) + "/golden";

double cosine(const float* a, const float* b, int n) {
  double d = 0, na = 0, nb = 0;
  for (int i = 0; i < n; ++i) {
    d += double(a[i]) * b[i];
    na += double(a[i]) * a[i];
    nb += double(b[i]) * b[i];
  }
  return d / std::sqrt(na * nb);
}

TEST(EngineImages, GoldenPhotosSmall) {
  std::ifstream in(kGolden + "/manifest.json");
  ASSERT_TRUE(in.good());
  const auto m = nlohmann::json::parse(in);
  vf::EngineParams p;
  p.model_dir = kGolden + "/models/small";
  p.precision = vf::Precision::FP32;
  auto engine = vf::Engine::open(p);
  const int D = engine->dim();
  int checked = 0;
  for (const auto& c : m["preprocess_cases"]) {
    const std::string id = c["id"];
    SCOPED_TRACE(id);
    const auto& ex = c["expected"];
    if (!ex.contains("small_pooler_output")) continue;
    const auto px = vf::read_npy(kGolden + "/" + ex["pixel_values"]["file"].get<std::string>()).as_float();
    const auto want_pool = vf::read_npy(kGolden + "/" + ex["small_pooler_output"]["file"].get<std::string>()).as_float();
    const auto want_mean = vf::read_npy(kGolden + "/" + ex["small_mean_pooled"]["file"].get<std::string>()).as_float();
    vf::ForwardRequest req;
    req.mean_all = true;
    const auto out = engine->forward(px.data(), 1, 224, 224, req);
    double max_abs = 0;
    for (int d = 0; d < D; ++d) {
      max_abs = std::max(max_abs, double(std::abs(out.pooler.data[d] - want_pool[d])));
      max_abs = std::max(max_abs, double(std::abs(out.mean_all.data[d] - want_mean[d])));
    }
    EXPECT_LE(max_abs, 3e-5);
    EXPECT_GE(cosine(out.pooler.data.data(), want_pool.data(), D), 0.999999);

    // End to end from the file.
    vf::IngestParams ip;
    ip.apply_orientation = c["exif_handling"] != "as_stored" || c["identical_for_both_exif_modes"] == true;
    ip.thumb_size = 0;
    ip.preview_size = 0;
    ip.features = false;
    const auto photo = vf::ingest_file(kGolden + "/" + c["image"].get<std::string>(), ip);
    ASSERT_EQ(photo.model_input.size(), 3u * 224 * 224);
    const auto e2e = engine->forward(photo.model_input.data(), 1, 224, 224, {});
    const double cos = cosine(e2e.pooler.data.data(), want_pool.data(), D);
    // The same through decode_model_input (the indexer's model-input-only decode), and from a
    // full-size decode: what shrink-on-load costs beyond the JPEG decoders' own difference.
    const auto fast = vf::decode_model_input(kGolden + "/" + c["image"].get<std::string>(), ip);
    ASSERT_EQ(fast, photo.model_input);
    // What the indexer asks for (1280 px preview, thumbnail, features) must not change the
    // model input: it is decoded at the model's own shrink-on-load scale, not the preview's.
    vf::IngestParams indexer = ip;
    indexer.thumb_size = 256;
    indexer.preview_size = 1280;
    indexer.features = true;
    const auto indexed = vf::ingest_file(kGolden + "/" + c["image"].get<std::string>(), indexer);
    ASSERT_EQ(indexed.model_input, photo.model_input);
    ASSERT_FALSE(indexed.preview_jpeg.empty());
    vf::RgbImage full = vf::decode_rgb(kGolden + "/" + c["image"].get<std::string>(), 0);
    if (!ip.apply_orientation) full = vf::RgbImage{};  // decode_rgb always orients
    double cos_full = 0;
    if (full.width > 0) {
      const auto px_full = vf::preprocess_for_model(full, 256, 224, ip.image_mean, ip.image_std);
      const auto e_full = engine->forward(px_full.data(), 1, 224, 224, {});
      cos_full = cosine(e_full.pooler.data.data(), want_pool.data(), D);
    }
    std::printf("%-42s engine max abs %.2e   end-to-end pooler cosine %.6f (full-size decode %.6f)\n", id.c_str(),
                max_abs, cos, cos_full);
    if (c["image_mode"] != "RGBA" && cos_full >= 0.9999) {
      EXPECT_GE(cos, 0.9999) << "shrink-on-load loses fidelity that the full decode keeps";
    }
    // JPEG decoders differ slightly (libvips/libjpeg-turbo vs Pillow); alpha is composited on
    // white by design where HF drops it, so that case only has to be recognisably the same.
    EXPECT_GE(cos, c["image_mode"] == "RGBA" ? 0.9 : 0.99);
    ++checked;
  }
  EXPECT_GE(checked, 9);
}

}  // namespace
