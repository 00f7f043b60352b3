// Patch-level matching for "why it matched" and region search: regions, sub-grids, heatmaps,
// containment, overlays and PNG output (include/viewfinder/explain.h), with hand-made
// patch grids whose answers are known, and one real forward of the golden tiny model.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include <unistd.h>

#include "viewfinder/explain.h"

namespace {

// A grid whose patch (r, c) is the unit vector along axis (r * cols + c) % dim.
vf::PatchGrid axis_grid(int rows, int cols, int dim, int shift = 0) {
  vf::PatchGrid g;
  g.rows = rows;
  g.cols = cols;
  g.dim = dim;
  g.tokens.assign(size_t(rows) * cols * dim, 0.0f);
  for (int i = 0; i < rows * cols; ++i) g.tokens[size_t(i) * dim + (i + shift) % dim] = 1.0f;
  return g;
}

TEST(Region, ParsesAndRejectsWithReasons) {
  auto r = vf::parse_region("0.25,0.3,0.45,0.5");
  EXPECT_DOUBLE_EQ(r.x, 0.25);
  EXPECT_DOUBLE_EQ(r.h, 0.5);
  for (const char* bad : {"", "0.1,0.1,0.5", "a,0,0.5,0.5", "0.6,0,0.5,0.5", "0,0,0.01,0.5", "-0.1,0,0.5,0.5",
                          "0,0,0.5,0.5,0.1", "nan,0,0.5,0.5"})
    EXPECT_THROW(vf::parse_region(bad), vf::Error) << bad;
  try {
    vf::parse_region("0.6,0,0.5,0.5");
  } catch (const vf::Error& e) {
    EXPECT_NE(std::string(e.what()).find("x + w <= 1"), std::string::npos) << e.what();
  }
}

TEST(PatchGrid, SubGridTakesThePatchesInsideTheBox) {
  auto g = axis_grid(4, 8, 64);
  auto s = g.sub_grid({0.5, 0.25, 0.5, 0.5});  // columns 4..7, rows 1..2
  EXPECT_EQ(s.rows, 2);
  EXPECT_EQ(s.cols, 4);
  ASSERT_EQ(s.tokens.size(), size_t(8 * 64));
  EXPECT_EQ(s.tokens[12], 1.0f);  // first patch is (1, 4): axis 12
  auto tiny = g.sub_grid({0.0, 0.0, 0.02, 0.02});  // smaller than a patch: the nearest one
  EXPECT_EQ(tiny.rows * tiny.cols, 1);
}

TEST(Heatmaps, BestCosineBothWays) {
  auto a = axis_grid(2, 2, 8);            // axes 0..3
  auto b = axis_grid(2, 3, 8, 2);         // axes 2..7
  auto h = vf::match_heatmaps(a, b);
  ASSERT_EQ(h.query_map.size(), 4u);
  ASSERT_EQ(h.photo_map.size(), 6u);
  EXPECT_EQ(h.query_map, (std::vector<float>{0, 0, 1, 1}));        // axes 2, 3 are in b
  EXPECT_EQ(h.photo_map, (std::vector<float>{1, 1, 0, 0, 0, 0}));  // b's axes 2, 3 are in a
  EXPECT_EQ(h.photo_rows, 2);
  EXPECT_EQ(h.photo_cols, 3);
  EXPECT_FLOAT_EQ(vf::region_containment(a, a), 1.0f);
  EXPECT_FLOAT_EQ(vf::region_containment(a, b), 0.5f);
}

TEST(Heatmaps, RegionMapKeepsTheWholeQueryGrid) {
  auto q = axis_grid(2, 4, 16);
  auto h = vf::match_region_heatmaps(q, {0.5, 0.0, 0.5, 0.5}, q);  // patches (0,2), (0,3)
  ASSERT_EQ(h.query_rows, 2);
  ASSERT_EQ(h.query_cols, 4);
  EXPECT_EQ(h.query_map, (std::vector<float>{0, 0, 1, 1, 0, 0, 0, 0}));
  EXPECT_EQ(h.photo_map, (std::vector<float>{0, 0, 1, 1, 0, 0, 0, 0}));
}

TEST(Overlay, DrawsTheMapAndEncodesPng) {
  vf::RgbImage img;
  img.width = 40;
  img.height = 20;
  img.pixels.assign(40 * 20 * 3, 128);
  auto over = vf::heatmap_overlay(img, {0.0f, 1.0f}, 1, 2);  // cold left, hot right
  const uint8_t* left = &over.pixels[(10 * 40 + 2) * 3];
  const uint8_t* right = &over.pixels[(10 * 40 + 37) * 3];
  EXPECT_GT(left[2], left[0]);    // blue
  EXPECT_GT(right[0], right[2]);  // red
  auto png = vf::encode_png(over);
  ASSERT_GT(png.size(), 8u);
  EXPECT_EQ(png[1], 'P');
  EXPECT_EQ(png[2], 'N');
  EXPECT_THROW(vf::heatmap_overlay(img, {0.0f}, 1, 2), vf::Error);
  auto crop = vf::crop_region(img, {0.5, 0.5, 0.5, 0.5});
  EXPECT_EQ(crop.width, 20);
  EXPECT_EQ(crop.height, 10);
}

TEST(Explainer, PatchGridCoversTheWholePictureAsDisplayed) {
  const std::string model = std::string(VF_SHARED_DIR) + "/golden/models/tiny";
  if (!std::filesystem::exists(model)) GTEST_SKIP() << "no golden tiny model";
  auto dir = std::filesystem::temp_directory_path() / ("vf-test-explain-" + std::to_string(::getpid()));
  auto lib = vf::Library::open(dir.string());
  vf::EngineParams ep;
  ep.model_dir = model;
  vf::Explainer ex(*lib, ep);
  vf::RgbImage img;
  img.width = 300;
  img.height = 150;
  img.pixels.resize(300 * 150 * 3);
  for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = uint8_t((i * 7) % 251);
  auto g = ex.picture_patches(img);
  EXPECT_EQ(g.cols, 16);  // 224 / 14: the long edge
  EXPECT_EQ(g.rows, 8);   // 112 / 14: aspect kept, no centre crop
  ASSERT_EQ(g.tokens.size(), size_t(g.rows) * g.cols * g.dim);
  double norm = 0;
  for (int k = 0; k < g.dim; ++k) norm += g.tokens[k] * g.tokens[k];
  EXPECT_NEAR(norm, 1.0, 1e-4);
  auto token = ex.remember_query(vf::encode_png(img));
  auto back = ex.recall_query(token);
  ASSERT_TRUE(back);
  EXPECT_GT(vf::region_containment(g, *back), 0.99f);  // the same picture, through PNG
  EXPECT_FALSE(ex.recall_query("no-such-token"));
  lib.reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
