#include <gtest/gtest.h>

#include "common/half.h"
#include "common/npy.h"

TEST(Npy, ReadsGoldenNormalizeLut) {
  auto lut = vf::read_npy(std::string(VF_SHARED_DIR) + "/golden/preprocess/normalize_lut_3x256.npy");
  ASSERT_EQ(lut.shape, (std::vector<int64_t>{3, 256}));
  auto v = lut.as_float();
  // pixel_values[c] = (u8/255 - mean[c]) / std[c], computed in float32.
  EXPECT_FLOAT_EQ(v[0], (0.0f - 0.485f) / 0.229f);
  EXPECT_FLOAT_EQ(v[2 * 256 + 255], (255 / 255.0f - 0.406f) / 0.225f);
}

TEST(Half, RoundTripsAndRounds) {
  for (float f : {0.0f, 1.0f, -2.5f, 65504.0f, 6.1035156e-05f, 5.9604645e-08f})
    EXPECT_EQ(vf::half_to_float(vf::float_to_half(f)), f) << f;
  EXPECT_EQ(vf::bf16_to_float(vf::float_to_bf16(1.0f + 1.0f / 256)), 1.0f);  // ties to even
  EXPECT_EQ(vf::bf16_to_float(vf::float_to_bf16(3.0f)), 3.0f);
}
