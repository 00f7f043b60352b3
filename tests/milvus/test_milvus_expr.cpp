// Viewfinder filters -> Milvus 2.3 boolean expressions (pure; the same expressions run against
// a real server in test_milvus_client.cpp).
#include <gtest/gtest.h>

#include "store/milvus/milvus_expr.h"
#include "viewfinder/error.h"

using vf::Filters;
using vf::milvus::filters_to_expr;

TEST(MilvusExpr, EmptyFiltersGiveEmptyExpression) { EXPECT_EQ(filters_to_expr(Filters{}), ""); }

TEST(MilvusExpr, DateRangeRequiresACaptureTime) {
  Filters f;
  f.date_from = 1000;
  f.date_to = 2000;
  EXPECT_EQ(filters_to_expr(f), "has_capture == true && capture_unix >= 1000 && capture_unix <= 2000");
}

// Milvus 2.3 matches prefixes only, so substrings become lists of the catalog's values.
TEST(MilvusExpr, SubstringsBecomeListsOfMatchingValues) {
  std::vector<std::pair<std::string, std::string>> asked;
  auto lookup = [&](const std::string& field, const std::string& needle) {
    asked.push_back({field, needle});
    if (field == "make") return std::vector<std::string>{"canon", "canon \"inc\\"};
    return std::vector<std::string>{};
  };
  Filters f;
  f.make = "Canon";
  f.lens = "100%_X";
  EXPECT_EQ(filters_to_expr(f, lookup), "make_lc in [\"canon\", \"canon \\\"inc\\\\\"] && id < 0");
  ASSERT_EQ(asked.size(), 2u);
  EXPECT_EQ(asked[0], (std::pair<std::string, std::string>{"make", "canon"}));
  EXPECT_EQ(asked[1], (std::pair<std::string, std::string>{"lens", "100%_x"}));
  EXPECT_THROW(filters_to_expr(f), vf::Error);  // no lookup: a clear error, not a wrong answer
}

// Milvus 2.3's like: one trailing '%' wildcard, no escapes ('_' is literal).
TEST(MilvusExpr, PathPrefixIsQuotedAndPercentIsRefused) {
  Filters f;
  f.path_prefix = "/a_b/\"q\"/\\x";
  EXPECT_EQ(filters_to_expr(f), "path like \"/a_b/\\\"q\\\"/\\\\x%\"");
  f.path_prefix = "/100%/";
  EXPECT_THROW(filters_to_expr(f), vf::Error);
}

TEST(MilvusExpr, PathPrefixIsCaseSensitive) {
  Filters f;
  f.path_prefix = "/Photos/2024";
  EXPECT_EQ(filters_to_expr(f), "path like \"/Photos/2024%\"");
}

TEST(MilvusExpr, FormatIsNormalised) {
  Filters f;
  f.format = "JPG";
  EXPECT_EQ(filters_to_expr(f), "format == \"jpeg\"");
}

TEST(MilvusExpr, OrientationAndSizes) {
  Filters f;
  f.orientation = "Portrait";
  f.min_width = 100;
  f.min_height = 200;
  f.min_rating = 3;
  EXPECT_EQ(filters_to_expr(f),
            "height > width && width >= 100 && height >= 200 && has_rating == true && rating >= 3");
  f.orientation = "diagonal";
  EXPECT_THROW(filters_to_expr(f), vf::Error);
}

TEST(MilvusExpr, GpsBoxIncludingTheAntimeridian) {
  Filters f;
  f.gps_bbox = std::array<double, 4>{50.0, 10.0, 40.0, 20.5};
  EXPECT_EQ(filters_to_expr(f),
            "has_gps == true && gps_lat >= 40 && gps_lat <= 50 && gps_lon >= 10 && gps_lon <= 20.5");
  f.gps_bbox = std::array<double, 4>{-10.0, 170.0, 10.0, -170.0};
  EXPECT_EQ(filters_to_expr(f),
            "has_gps == true && gps_lat >= -10 && gps_lat <= 10 && (gps_lon >= 170 || gps_lon <= -170)");
}
