// The HF BitImageProcessor path against the golden files (golden README §7): every case in
// manifest["preprocess_cases"], nothing hand-picked.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/npy.h"
#include "image/image_internal.h"
#include "viewfinder/image.h"

namespace {

const std::string kGolden = std::string(VF_SHARED_DIR) + "/golden/";
const float kMean[3] = {0.485f, 0.456f, 0.406f};
const float kStd[3] = {0.229f, 0.224f, 0.225f};

nlohmann::json manifest() {
  std::ifstream in(kGolden + "manifest.json");
  if (!in) throw std::runtime_error("missing " + kGolden + "manifest.json");
  return nlohmann::json::parse(in);
}

std::vector<uint8_t> slurp(const std::string& path) {
  return vf::image::read_file_bytes(path, int64_t(1) << 32);
}

// The pixels the golden generator fed to the processor: the lossless decoded sidecar when
// there is one (as stored), else the PNG itself; RGBA loses its alpha with no compositing
// (Pillow's convert("RGB")); the __exif_transpose cases are transposed first.
vf::RgbImage golden_input_pixels(const nlohmann::json& c) {
  const std::string file = c["decoded_png"].is_null() ? c["image"].get<std::string>()
                                                      : c["decoded_png"].get<std::string>();
  const auto bytes = slurp(kGolden + file);
  vf::image::DecodeRequest req;
  req.apply_orientation = false;
  req.alpha = vf::image::AlphaMode::Drop;
  vf::RgbImage rgb = vf::image::decode_buffer(bytes.data(), bytes.size(), file, req).rgb;
  if (c["exif_handling"] == "exif_transpose")
    rgb = vf::image::apply_orientation(rgb, c["exif_orientation_tag"].get<int>());
  return rgb;
}

TEST(PreprocessGolden, CropUint8ExactAndPixelValuesWithin1e6) {
  const auto m = manifest();
  ASSERT_GE(m["preprocess_cases"].size(), 9u);
  for (const auto& c : m["preprocess_cases"]) {
    SCOPED_TRACE(c["id"].get<std::string>());
    const vf::RgbImage rgb = golden_input_pixels(c);
    EXPECT_EQ(rgb.height, c["rgb_size_hw_before_resize"][0].get<int>());
    EXPECT_EQ(rgb.width, c["rgb_size_hw_before_resize"][1].get<int>());

    const vf::NpyArray crop = vf::read_npy(kGolden + c["expected"]["crop_uint8"]["file"].get<std::string>());
    ASSERT_EQ(crop.bytes.size(), 224u * 224u * 3u);
    const vf::RgbImage mine = vf::image::resize_and_crop_for_model(rgb, 256, 224);
    ASSERT_EQ(mine.pixels.size(), crop.bytes.size());
    size_t differing = 0;
    for (size_t i = 0; i < crop.bytes.size(); ++i) differing += mine.pixels[i] != crop.bytes[i];
    EXPECT_EQ(differing, 0u) << "crop_uint8 values differing from Pillow";

    const std::vector<float> golden =
        vf::read_npy(kGolden + c["expected"]["pixel_values"]["file"].get<std::string>()).as_float();
    const std::vector<float> pv = vf::preprocess_for_model(rgb, 256, 224, kMean, kStd);
    ASSERT_EQ(pv.size(), golden.size());
    float max_diff = 0;
    for (size_t i = 0; i < pv.size(); ++i) max_diff = std::max(max_diff, std::fabs(pv[i] - golden[i]));
    EXPECT_LE(max_diff, 1e-6f);
  }
}

TEST(PreprocessGolden, NormalisationMatchesLut) {
  const vf::NpyArray lut = vf::read_npy(kGolden + "preprocess/normalize_lut_3x256.npy");
  const std::vector<float> ref = lut.as_float();
  // A 256x256 image with every value in every channel, through the identity resize path.
  vf::RgbImage img;
  img.width = img.height = 256;
  img.pixels.resize(256 * 256 * 3);
  for (int y = 0; y < 256; ++y)
    for (int x = 0; x < 256; ++x)
      for (int c = 0; c < 3; ++c) img.pixels[(y * 256 + x) * 3 + c] = static_cast<uint8_t>(x);
  const std::vector<float> pv = vf::preprocess_for_model(img, 256, 224, kMean, kStd);
  // crop left = 16: column j holds value j + 16.
  for (int c = 0; c < 3; ++c)
    for (int j = 0; j < 224; ++j)
      EXPECT_EQ(pv[c * 224 * 224 + j], ref[c * 256 + j + 16]) << "c=" << c << " v=" << j + 16;
}

// Our decoder (libvips + libjpeg-turbo) against Pillow's decode of the same JPEGs.
TEST(PreprocessGolden, RealDecoderMatchesPillowDecode) {
  const auto m = manifest();
  for (const auto& c : m["preprocess_cases"]) {
    if (c["decoded_png"].is_null() || c["exif_handling"] == "exif_transpose") continue;
    SCOPED_TRACE(c["id"].get<std::string>());
    const auto jpeg = slurp(kGolden + c["image"].get<std::string>());
    vf::image::DecodeRequest req;
    req.apply_orientation = false;
    const vf::RgbImage mine = vf::image::decode_buffer(jpeg.data(), jpeg.size(), "jpeg", req).rgb;
    const auto png = slurp(kGolden + c["decoded_png"].get<std::string>());
    const vf::RgbImage ref = vf::image::decode_buffer(png.data(), png.size(), "png", req).rgb;
    ASSERT_EQ(mine.width, ref.width);
    ASSERT_EQ(mine.height, ref.height);
    int max_diff = 0;
    size_t differing = 0;
    for (size_t i = 0; i < ref.pixels.size(); ++i) {
      const int d = std::abs(int(mine.pixels[i]) - int(ref.pixels[i]));
      max_diff = std::max(max_diff, d);
      differing += d != 0;
    }
    std::printf("  %s: decoder vs Pillow max diff %d levels, %zu values differ\n",
                c["id"].get<std::string>().c_str(), max_diff, differing);
    EXPECT_LE(max_diff, 3);
  }
}

// The whole product path (real decode of the file, orientation per case, full size) against
// the golden pixel_values: within one 8-bit level.
TEST(PreprocessGolden, RealDecodePixelValuesWithinOneLevel) {
  const auto m = manifest();
  const float one_level = 1.0f / 255.0f / 0.224f + 1e-6f;  // the largest of 1/255/std
  for (const auto& c : m["preprocess_cases"]) {
    SCOPED_TRACE(c["id"].get<std::string>());
    const auto bytes = slurp(kGolden + c["image"].get<std::string>());
    vf::image::DecodeRequest req;
    req.apply_orientation = c["exif_handling"] == "exif_transpose";
    // The golden drops alpha (Pillow convert("RGB")); the product composites over white.
    req.alpha = vf::image::AlphaMode::Drop;
    const vf::RgbImage rgb = vf::image::decode_buffer(bytes.data(), bytes.size(), "f", req).rgb;
    const std::vector<float> pv = vf::preprocess_for_model(rgb, 256, 224, kMean, kStd);
    const std::vector<float> golden =
        vf::read_npy(kGolden + c["expected"]["pixel_values"]["file"].get<std::string>()).as_float();
    float max_diff = 0;
    for (size_t i = 0; i < pv.size(); ++i) max_diff = std::max(max_diff, std::fabs(pv[i] - golden[i]));
    EXPECT_LE(max_diff, one_level);
  }
}

// decode_rgb as the embed command uses it: EXIF orientation applied (matches the
// __exif_transpose golden), shrink-on-load allowed. Shrink-on-load (libjpeg DCT scaling) is
// not Pillow's pixels, so this bounds the mean deviation rather than requiring exactness.
TEST(PreprocessGolden, ShrinkOnLoadStaysClose) {
  const auto m = manifest();
  for (const auto& c : m["preprocess_cases"]) {
    if (c["exif_handling"] == "as_stored" && !c["identical_for_both_exif_modes"].get<bool>()) continue;
    if (c["image_mode"] == "RGBA") continue;  // composited in the product path
    SCOPED_TRACE(c["id"].get<std::string>());
    const vf::RgbImage rgb = vf::decode_rgb(kGolden + c["image"].get<std::string>(), 512);
    const int stored_short = std::min(c["stored_size_wh"][0].get<int>(), c["stored_size_wh"][1].get<int>());
    EXPECT_GE(std::min(rgb.width, rgb.height), std::min(512, stored_short));
    const std::vector<float> pv = vf::preprocess_for_model(rgb, 256, 224, kMean, kStd);
    const std::vector<float> golden =
        vf::read_npy(kGolden + c["expected"]["pixel_values"]["file"].get<std::string>()).as_float();
    double sum = 0;
    float max_diff = 0;
    for (size_t i = 0; i < pv.size(); ++i) {
      sum += std::fabs(pv[i] - golden[i]);
      max_diff = std::max(max_diff, std::fabs(pv[i] - golden[i]));
    }
    std::printf("  %s: decoded %dx%d, pixel_values mean |diff| %.4f max %.3f\n",
                c["id"].get<std::string>().c_str(), rgb.width, rgb.height, sum / pv.size(), max_diff);
    EXPECT_LT(sum / pv.size(), 0.05);
  }
}

}  // namespace

namespace {
// Only the centre crop is resized; it must equal resizing everything and cropping, and an
// extreme panorama must not allocate the full resized strip.
TEST(PreprocessWindow, EqualsFullResizeThenCropAndHandlesPanoramas) {
  vf::RgbImage img;
  img.width = 57;
  img.height = 401;
  img.pixels.resize(57 * 401 * 3);
  uint32_t state = 12345;
  for (auto& v : img.pixels) v = static_cast<uint8_t>((state = state * 1103515245u + 12345u) >> 24);
  const int out_h = static_cast<int>(256.0 * 401 / 57);
  const vf::RgbImage full = vf::image::resize_bicubic_pillow(img, 256, out_h);
  const vf::RgbImage crop = vf::image::resize_and_crop_for_model(img, 256, 224);
  const int top = (out_h - 224) / 2, left = (256 - 224) / 2;
  for (int y = 0; y < 224; ++y)
    for (int x = 0; x < 224 * 3; ++x)
      ASSERT_EQ(crop.pixels[y * 224 * 3 + x], full.pixels[(size_t(top + y) * 256 + left) * 3 + x]);
  vf::RgbImage strip;
  strip.width = 60000;
  strip.height = 1;
  strip.pixels.assign(60000 * 3, 128);
  const auto pv = vf::preprocess_for_model(strip, 256, 224, kMean, kStd);  // 256 x 15.36M virtual
  EXPECT_EQ(pv.size(), 3u * 224 * 224);
}
}  // namespace
