// Retrieval metrics on hand-computed cases, and the ground-truth formats `viewfinder eval` reads.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "viewfinder/search.h"

namespace fs = std::filesystem;

TEST(SearchMetrics, PrecisionAndRecallAtK) {
  std::vector<std::string> ranked = {"a", "x", "b", "y", "z", "c"};
  std::vector<std::string> relevant = {"a", "b", "c", "d"};
  EXPECT_DOUBLE_EQ(vf::precision_at_k(ranked, relevant, 1), 1.0);
  EXPECT_DOUBLE_EQ(vf::precision_at_k(ranked, relevant, 2), 0.5);
  EXPECT_DOUBLE_EQ(vf::precision_at_k(ranked, relevant, 5), 2.0 / 5);
  // Fewer results than k: still divided by k.
  EXPECT_DOUBLE_EQ(vf::precision_at_k(ranked, relevant, 10), 3.0 / 10);
  EXPECT_DOUBLE_EQ(vf::recall_at_k(ranked, relevant, 1), 0.25);
  EXPECT_DOUBLE_EQ(vf::recall_at_k(ranked, relevant, 3), 0.5);
  EXPECT_DOUBLE_EQ(vf::recall_at_k(ranked, relevant, 6), 0.75);
  EXPECT_DOUBLE_EQ(vf::recall_at_k(ranked, {}, 6), 0.0);
}

TEST(SearchMetrics, AveragePrecisionHandComputed) {
  // Relevant at ranks 1, 3, 6 of 4 relevant: (1/1 + 2/3 + 3/6) / 4.
  std::vector<std::string> ranked = {"a", "x", "b", "y", "z", "c"};
  EXPECT_NEAR(vf::average_precision(ranked, {"a", "b", "c", "d"}), (1.0 + 2.0 / 3 + 0.5) / 4, 1e-12);
  // Perfect ranking.
  EXPECT_DOUBLE_EQ(vf::average_precision({"a", "b", "x"}, {"a", "b"}), 1.0);
  // Nothing relevant retrieved.
  EXPECT_DOUBLE_EQ(vf::average_precision({"x", "y"}, {"a"}), 0.0);
  // Relevant only at rank 2: 1/2.
  EXPECT_DOUBLE_EQ(vf::average_precision({"x", "a"}, {"a"}), 0.5);
  // A repeated hit counts once.
  EXPECT_DOUBLE_EQ(vf::average_precision({"a", "a", "b"}, {"a", "b"}), (1.0 + 2.0 / 3) / 2);
}

namespace {
struct TempDir {
  fs::path dir;
  TempDir() {
    dir = fs::temp_directory_path() / ("vf_search_gt_" + std::to_string(::getpid()));
    fs::create_directories(dir / "images");
  }
  ~TempDir() { fs::remove_all(dir); }
  void write(const std::string& name, const std::string& text) { std::ofstream(dir / name) << text; }
};
}  // namespace

TEST(GroundTruth, QueriesFormatResolvesRelativeToFile) {
  TempDir t;
  t.write("gt.json", R"({"queries": {"q.jpg": ["r1.jpg", "/abs/r2.jpg"]}})");
  auto gt = vf::load_ground_truth((t.dir / "gt.json").string());
  ASSERT_EQ(gt.queries.size(), 1u);
  auto& [q, rel] = *gt.queries.begin();
  EXPECT_EQ(q, (t.dir / "q.jpg").string());
  EXPECT_EQ(rel, (std::vector<std::string>{(t.dir / "r1.jpg").string(), "/abs/r2.jpg"}));
}

TEST(GroundTruth, LabelsTsvWithHeaderAndImagesSubdir) {
  TempDir t;
  // flowers17 layout: labels.tsv next to images/, header "image class_id class_name".
  for (const char* f : {"a.jpg", "b.jpg", "c.jpg"}) t.write(std::string("images/") + f, "x");
  t.write("labels.tsv", "image\tclass_id\tclass_name\na.jpg\t0\tdaisy\nb.jpg\t0\tdaisy\nc.jpg\t1\ttulip\n");
  auto gt = vf::load_ground_truth((t.dir / "labels.tsv").string());
  ASSERT_EQ(gt.queries.size(), 3u);
  auto a = (t.dir / "images/a.jpg").string(), b = (t.dir / "images/b.jpg").string();
  auto c = (t.dir / "images/c.jpg").string();
  EXPECT_EQ(gt.queries.at(a), std::vector<std::string>{b});
  EXPECT_EQ(gt.queries.at(b), std::vector<std::string>{a});
  EXPECT_TRUE(gt.queries.at(c).empty());
}

TEST(GroundTruth, LabelsJsonBothShapes) {
  TempDir t;
  t.write("l1.json", R"({"labels": {"a.jpg": "cat", "b.jpg": "cat", "c.jpg": "dog"}})");
  t.write("l2.json", R"({"a.jpg": {"class_id": 3, "class_name": "x"}, "b.jpg": {"class_id": 3},
                          "c.jpg": {"class_id": 4}})");
  for (const char* f : {"l1.json", "l2.json"}) {
    auto gt = vf::load_ground_truth((t.dir / f).string(), t.dir.string());
    auto a = (t.dir / "a.jpg").string(), b = (t.dir / "b.jpg").string();
    ASSERT_EQ(gt.queries.size(), 3u) << f;
    EXPECT_EQ(gt.queries.at(a), std::vector<std::string>{b}) << f;
  }
}

TEST(GroundTruth, GroupsFormat) {
  TempDir t;
  t.write("g.json", R"({"near_duplicate_groups": {"g1": ["a.png", "b.jpg", "c.jpg"]}})");
  auto gt = vf::load_ground_truth((t.dir / "g.json").string());
  ASSERT_EQ(gt.queries.size(), 3u);
  EXPECT_EQ(gt.queries.at((t.dir / "a.png").string()).size(), 2u);
}

TEST(GroundTruth, SharedFlowersLabelsMatchBothFiles) {
  std::string base = std::string(VF_SHARED_DIR) + "/photos/flowers17";
  if (!fs::exists(base + "/labels.tsv")) GTEST_SKIP() << "no shared photos";
  auto tsv = vf::load_ground_truth(base + "/labels.tsv");
  auto json = vf::load_ground_truth(base + "/labels.json");
  ASSERT_EQ(tsv.queries.size(), 680u);
  EXPECT_EQ(tsv.queries, json.queries);
  for (const auto& [q, rel] : tsv.queries) {
    EXPECT_TRUE(fs::exists(q)) << q;
    EXPECT_EQ(rel.size(), 39u) << q;  // 40 per class, minus the query
  }
}

TEST(GroundTruth, BadInputNamesTheFile) {
  TempDir t;
  t.write("bad.json", "{not json");
  t.write("bad.tsv", "no tabs here\n");
  for (const char* f : {"bad.json", "bad.tsv", "missing.json"}) {
    try {
      vf::load_ground_truth((t.dir / f).string());
      FAIL() << f;
    } catch (const vf::Error& e) {
      EXPECT_NE(std::string(e.what()).find(f), std::string::npos) << e.what();
    }
  }
}

TEST(Presets, SpecValues) {
  EXPECT_FLOAT_EQ(*vf::preset_alpha("portrait"), 0.9f);
  EXPECT_FLOAT_EQ(*vf::preset_alpha("Landscape"), 0.6f);
  EXPECT_FLOAT_EQ(*vf::preset_alpha("product"), 0.3f);
  EXPECT_FALSE(vf::preset_alpha("macro"));
}
