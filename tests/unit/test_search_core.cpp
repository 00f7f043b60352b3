// The pure maths of search: example combination, fusion, colour targets, filter SQL (run on a
// real SQLite table with the catalog's columns), union-find and the duplicate keeper rules.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "catalog/sqlite.h"
#include "search/search_internal.h"

using namespace vf::search;
using vf::detail::exec_sql;
using vf::detail::Stmt;

TEST(SearchVectors, CombineExamplesAveragesAndSubtracts) {
  // dim 2: positives (1,0) and (0,1) average to (0.5,0.5) -> normalised (0.707, 0.707).
  auto q = combine_examples({1, 0, 0, 1}, {}, 2, 0.5f);
  ASSERT_EQ(q.size(), 2u);
  EXPECT_NEAR(q[0], std::sqrt(0.5f), 1e-6);
  EXPECT_NEAR(q[1], std::sqrt(0.5f), 1e-6);
  // Negative (0,1) with weight 0.5: (0.5, 0.5) - 0.5*(0,1) = (0.5, 0) -> (1, 0).
  q = combine_examples({1, 0, 0, 1}, {0, 1}, 2, 0.5f);
  EXPECT_NEAR(q[0], 1.0f, 1e-6);
  EXPECT_NEAR(q[1], 0.0f, 1e-6);
  // Two negatives are averaged before weighting: (1,0) - 1.0*mean((1,0),(0,1)) = (0.5,-0.5).
  q = combine_examples({1, 0}, {1, 0, 0, 1}, 2, 1.0f);
  EXPECT_NEAR(q[0], std::sqrt(0.5f), 1e-6);
  EXPECT_NEAR(q[1], -std::sqrt(0.5f), 1e-6);
  // Cancelling out gives no query rather than a NaN one.
  EXPECT_TRUE(combine_examples({1, 0}, {1, 0}, 2, 1.0f).empty());
  EXPECT_TRUE(combine_examples({}, {1, 0}, 2, 1.0f).empty());
}

TEST(SearchVectors, FusionAndIntersection) {
  EXPECT_FLOAT_EQ(fuse(0.6f, 0.5f, 1.0f), 0.6f * 0.5f + 0.4f * 1.0f);
  EXPECT_FLOAT_EQ(fuse(1.0f, 0.3f, 0.9f), 0.3f);
  EXPECT_FLOAT_EQ(fuse(0.0f, 0.3f, 0.9f), 0.9f);
  std::vector<float> a(kHistBins, 0), b(kHistBins, 0);
  a[0] = 0.5f, a[1] = 0.5f;
  b[1] = 0.25f, b[2] = 0.75f;
  EXPECT_FLOAT_EQ(histogram_intersection(a.data(), a.data()), 1.0f);
  EXPECT_FLOAT_EQ(histogram_intersection(a.data(), b.data()), 0.25f);
}

TEST(SearchColor, ParseHex) {
  EXPECT_EQ(parse_hex_color("#ff0000"), (std::array<uint8_t, 3>{255, 0, 0}));
  EXPECT_EQ(parse_hex_color("00FF7f"), (std::array<uint8_t, 3>{0, 255, 127}));
  EXPECT_EQ(parse_hex_color("#0f0"), (std::array<uint8_t, 3>{0, 255, 0}));
  EXPECT_THROW(parse_hex_color("#ff00"), vf::Error);
  EXPECT_THROW(parse_hex_color("red"), vf::Error);
}

TEST(SearchColor, PaletteHistogramBinsAndSmoothing) {
  // Pure red: bin r=7,g=0,b=0 -> 7*64 = 448. Unsmoothed: all mass there.
  auto h = palette_histogram({{255, 0, 0}}, 0.0f);
  EXPECT_FLOAT_EQ(h[448], 1.0f);
  EXPECT_FLOAT_EQ(std::accumulate(h.begin(), h.end(), 0.0f), 1.0f);
  // Smoothed: 80% in the bin, 20% spread over the 7 neighbours of a corner bin.
  h = palette_histogram({{255, 0, 0}}, 0.2f);
  EXPECT_NEAR(h[448], 0.8f, 1e-6);
  EXPECT_NEAR(h[6 * 64], 0.2f / 7, 1e-6);
  EXPECT_NEAR(std::accumulate(h.begin(), h.end(), 0.0f), 1.0f, 1e-5);
  // Two colours share the mass equally.
  h = palette_histogram({{255, 0, 0}, {0, 0, 255}}, 0.0f);
  EXPECT_FLOAT_EQ(h[448], 0.5f);
  EXPECT_FLOAT_EQ(h[7], 0.5f);
}

TEST(SearchColor, CoarseVectorSumsBlocksAndIsUnit) {
  std::vector<float> h(kHistBins, 0.0f);
  h[7 * 64 + 0 * 8 + 1] = 0.25f;  // r7 g0 b1 -> coarse (3,0,0) = 48
  h[6 * 64 + 1 * 8 + 0] = 0.25f;  // r6 g1 b0 -> coarse (3,0,0) too
  h[0] = 0.5f;                     // coarse 0
  std::vector<float> c(64);
  coarse_color_vector(h.data(), c.data());
  EXPECT_NEAR(c[48], std::sqrt(0.5f), 1e-6);
  EXPECT_NEAR(c[0], std::sqrt(0.5f), 1e-6);
  EXPECT_NEAR(dot(c.data(), c.data(), 64), 1.0f, 1e-6);
}

namespace {

// The catalog's filterable columns (catalog/catalog_reader.cpp), filled with a few rows.
struct FilterDb {
  sqlite3* db = nullptr;
  FilterDb() {
    sqlite3_open(":memory:", &db);
    exec_sql(db,
             "CREATE TABLE photos (id INTEGER PRIMARY KEY, path TEXT, folder TEXT, format TEXT,"
             " width INTEGER, height INTEGER, capture_unix INTEGER, make TEXT, model TEXT, lens TEXT,"
             " gps_lat REAL, gps_lon REAL, rating INTEGER, embedding BLOB);"
             "INSERT INTO photos VALUES"
             " (1, '/p/2019/a.jpg', '/p/2019', 'jpeg', 4000, 3000, 1550000000, 'Canon', 'Canon EOS 5D', 'EF 50mm f/1.8', 64.1, -21.9, 5, x'00'),"
             " (2, '/p/2019/b.heic', '/p/2019', 'heif', 3000, 4000, 1560000000, 'Apple', 'iPhone 12', NULL, 48.8, 2.3, 3, x'00'),"
             " (3, '/p/2020/c.dng', '/p/2020', 'raw', 6000, 6000, NULL, 'NIKON CORPORATION', 'D850', '24-70mm 100%', NULL, NULL, NULL, x'00'),"
             " (4, '/p/2020/d.jpg', '/p/2020', 'jpeg', 800, 600, 1600000000, NULL, NULL, NULL, -33.9, 151.2, 1, x'00'),"
             " (5, '/p/2020/e.jpg', '/p/2020', 'jpeg', 800, 600, 1600000000, 'Canon', 'X', NULL, 0, 179.5, 4, NULL);");
  }
  ~FilterDb() { sqlite3_close(db); }
  std::vector<int64_t> ids(const vf::Filters& f) {
    auto w = build_filter_sql(f, "embedding IS NOT NULL");
    Stmt st(db, "SELECT id FROM photos WHERE " + w.clause + " ORDER BY id");
    st.bind_all(w.binds);
    std::vector<int64_t> out;
    while (st.step()) out.push_back(st.col_int64(0));
    return out;
  }
};
using Ids = std::vector<int64_t>;

}  // namespace

TEST(SearchFilters, EmptyMatchesEverythingEmbedded) {
  FilterDb t;
  vf::Filters f;
  EXPECT_TRUE(f.empty());
  EXPECT_EQ(t.ids(f), (Ids{1, 2, 3, 4}));  // 5 has no embedding
}

TEST(SearchFilters, EachField) {
  FilterDb t;
  vf::Filters f;
  f.make = "canon";  // case-insensitive substring
  EXPECT_EQ(t.ids(f), (Ids{1}));
  f = {};
  f.make = "nikon";
  EXPECT_EQ(t.ids(f), (Ids{3}));
  f = {};
  f.lens = "100%";  // '%' is literal, not a wildcard
  EXPECT_EQ(t.ids(f), (Ids{3}));
  f = {};
  f.model = "IPHONE";
  EXPECT_EQ(t.ids(f), (Ids{2}));
  f = {};
  f.date_from = 1555000000;
  f.date_to = 1600000000;
  EXPECT_EQ(t.ids(f), (Ids{2, 4}));  // unknown dates never match a date range
  f = {};
  f.path_prefix = "/p/2020/";
  EXPECT_EQ(t.ids(f), (Ids{3, 4}));
  f = {};
  f.format = "JPG";
  EXPECT_EQ(t.ids(f), (Ids{1, 4}));
  f = {};
  f.format = "heic";
  EXPECT_EQ(t.ids(f), (Ids{2}));
  f = {};
  f.orientation = "portrait";
  EXPECT_EQ(t.ids(f), (Ids{2}));
  f.orientation = "square";
  EXPECT_EQ(t.ids(f), (Ids{3}));
  f.orientation = "landscape";
  EXPECT_EQ(t.ids(f), (Ids{1, 4}));
  f.orientation = "diagonal";
  EXPECT_THROW(t.ids(f), vf::Error);
  f = {};
  f.min_width = 3000;
  f.min_height = 3500;
  EXPECT_EQ(t.ids(f), (Ids{2, 3}));
  f = {};
  f.min_rating = 3;
  EXPECT_EQ(t.ids(f), (Ids{1, 2}));
  f = {};
  f.gps_bbox = std::array<double, 4>{40, -30, 70, 10};  // Iceland and Paris
  EXPECT_EQ(t.ids(f), (Ids{1, 2}));
  EXPECT_FALSE(f.empty());
}

TEST(SearchFilters, Combined) {
  FilterDb t;
  vf::Filters f;
  f.path_prefix = "/p/2019";
  f.orientation = "landscape";
  f.min_rating = 4;
  EXPECT_EQ(t.ids(f), (Ids{1}));
  f.make = "apple";
  EXPECT_EQ(t.ids(f), (Ids{}));
}

TEST(SearchDupes, UnionFindGroups) {
  UnionFind uf(7);
  EXPECT_TRUE(uf.unite(0, 3));
  EXPECT_TRUE(uf.unite(3, 5));
  EXPECT_FALSE(uf.unite(5, 0));  // already together
  EXPECT_TRUE(uf.unite(6, 2));
  auto g = uf.groups(2);
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0], (std::vector<size_t>{0, 3, 5}));
  EXPECT_EQ(g[1], (std::vector<size_t>{2, 6}));
  EXPECT_EQ(uf.groups(1).size(), 4u);  // + singletons 1 and 4
}

TEST(SearchDupes, KeeperRules) {
  using K = KeeperCandidate;
  auto cand = [](int64_t id, int w, int h, const char* f, int64_t t, const char* path, int64_t size,
                 bool lossless, int meta) { return K{id, w, h, f, t, path, size, lossless, meta}; };
  // RAW over its JPEG, even a larger JPEG.
  auto [i, why] = choose_keeper({cand(1, 1000, 800, "raw", 100, "/a/x.dng", 900, true, 5),
                                 cand(2, 4000, 3000, "jpeg", 200, "/a/x.jpg", 500, false, 5)});
  EXPECT_EQ(i, 0u);
  EXPECT_NE(why.find("RAW original"), std::string::npos) << why;
  // More pixels over lossless (a small PNG of a large JPEG is a derivative).
  std::tie(i, why) = choose_keeper({cand(1, 500, 300, "png", 0, "/a/s.png", 900, true, 0),
                                    cand(2, 4000, 3000, "jpeg", 0, "/a/b.jpg", 500, false, 0)});
  EXPECT_EQ(i, 1u);
  EXPECT_NE(why.find("more pixels: 4000x3000 over 500x300"), std::string::npos) << why;
  // Equal pixels: lossless over lossy, whatever the file sizes.
  std::tie(i, why) = choose_keeper({cand(7, 800, 600, "webp", 0, "/a/lossy.webp", 90000, false, 0),
                                    cand(3, 800, 600, "webp", 0, "/a/lossless.webp", 20000, true, 0)});
  EXPECT_EQ(i, 1u);
  EXPECT_NE(why.find("lossless webp over lossy webp"), std::string::npos) << why;
  // Equal pixels and class: the larger (less compressed) file.
  std::tie(i, why) = choose_keeper({cand(1, 800, 600, "jpeg", 0, "/a/q70.jpg", 40000, false, 3),
                                    cand(2, 800, 600, "jpeg", 0, "/a/q95.jpg", 90000, false, 3)});
  EXPECT_EQ(i, 1u);
  EXPECT_NE(why.find("larger file"), std::string::npos) << why;
  // Then richer metadata, then the earliest capture (unknown last), then the path.
  std::tie(i, why) = choose_keeper({cand(1, 800, 600, "jpeg", 0, "/a/1.jpg", 100, false, 2),
                                    cand(2, 800, 600, "jpeg", 0, "/a/2.jpg", 100, false, 6)});
  EXPECT_EQ(i, 1u);
  EXPECT_NE(why.find("richer metadata: 6 fields over 2"), std::string::npos) << why;
  std::tie(i, why) = choose_keeper({cand(1, 800, 600, "jpeg", 0, "/a/1.jpg", 100, false, 2),
                                    cand(2, 800, 600, "jpeg", 500, "/a/2.jpg", 100, false, 2),
                                    cand(3, 800, 600, "jpeg", 300, "/a/3.jpg", 100, false, 2)});
  EXPECT_EQ(i, 2u);
  EXPECT_NE(why.find("earliest capture"), std::string::npos) << why;
  // All equal: the path decides, never the id; the same keeper in any order.
  std::vector<K> same = {cand(9, 800, 600, "jpeg", 5, "/a/b.jpg", 100, false, 2),
                         cand(4, 800, 600, "jpeg", 5, "/a/a.jpg", 100, false, 2)};
  std::tie(i, why) = choose_keeper(same);
  EXPECT_EQ(same[i].path, "/a/a.jpg");
  EXPECT_NE(why.find("first path"), std::string::npos) << why;
  std::swap(same[0].id, same[1].id);
  std::reverse(same.begin(), same.end());
  std::tie(i, why) = choose_keeper(same);
  EXPECT_EQ(same[i].path, "/a/a.jpg");
}

TEST(SearchDupes, Hamming) {
  EXPECT_EQ(hamming64(0, 0), 0);
  EXPECT_EQ(hamming64(0xFF, 0x0F), 4);
  EXPECT_EQ(hamming64(~0ULL, 0), 64);
}
