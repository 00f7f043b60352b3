// Viewfinder filters -> Milvus 2.3 boolean expressions (pure; the same expressions run against
// a real server in test_milvus_client.cpp).
#include <gtest/gtest.h>

#include <map>

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

// "=value" filters (the UI's dropdowns): equality on the field as stored, case-sensitive, as
// SQL's coalesce(make, '') = ?; no catalog lookup is needed.
TEST(MilvusExpr, ExactMakeModelLensAreEqualities) {
  Filters f;
  f.make = "Canon";
  f.make_exact = true;
  f.model = "EOS 5D \"Mark\" \\ III";
  f.model_exact = true;
  f.lens = "EF 50mm";  // substring: still a lookup
  auto lookup = [](const std::string&, const std::string&) { return std::vector<std::string>{"ef 50mm f/1.8"}; };
  EXPECT_EQ(filters_to_expr(f, lookup),
            "make == \"Canon\" && model == \"EOS 5D \\\"Mark\\\" \\\\ III\" && lens_lc in [\"ef 50mm f/1.8\"]");
  f.lens_exact = true;
  EXPECT_EQ(filters_to_expr(f), "make == \"Canon\" && model == \"EOS 5D \\\"Mark\\\" \\\\ III\" && lens == \"EF 50mm\"");
  // Longer than a stored (clipped) text field: not expressible, so the store falls back.
  f.lens = std::string(600, 'x');
  EXPECT_THROW(filters_to_expr(f), vf::Error);
}

// include_file_times: coalesce(capture_unix, file_time_unix) in SQL; a photo with a capture
// time is dated by it alone, one without by its file time, one with neither never matches.
TEST(MilvusExpr, IncludeFileTimesDatesPhotosWithoutCaptureByFileTime) {
  Filters f;
  f.date_from = 1000;
  f.date_to = 2000;
  f.include_file_times = true;
  EXPECT_EQ(filters_to_expr(f),
            "((has_capture == true && capture_unix >= 1000 && capture_unix <= 2000) || (has_capture == false && "
            "has_file_time == true && file_time_unix >= 1000 && file_time_unix <= 2000))");
  f.date_to.reset();
  EXPECT_EQ(filters_to_expr(f),
            "((has_capture == true && capture_unix >= 1000) || (has_capture == false && has_file_time == true && "
            "file_time_unix >= 1000))");
  f.include_file_times = false;  // without it the file time plays no part
  EXPECT_EQ(filters_to_expr(f), "has_capture == true && capture_unix >= 1000");
}

// Every filter that filters_from_params (the CLI's and the API's one reader) can set has a
// translation: a Filters with each field set gives one term per filter, never an empty one.
TEST(MilvusExpr, EveryParameterTheApiAcceptsIsTranslated) {
  const std::map<std::string, std::string> params = {
      {"date_from", "2020-01-01"}, {"date_to", "2020-12-31"}, {"include_file_times", "1"}, {"make", "=Canon"},
      {"model", "=EOS R5"},        {"lens", "=RF 50mm"},      {"folder", "/p/2020"},        {"format", "jpg"},
      {"orientation", "landscape"}, {"min_width", "10"},      {"min_height", "20"},         {"min_rating", "2"},
      {"gps_bbox", "1,2,3,4"}};
  const Filters f = vf::filters_from_params(params);
  const std::string e = filters_to_expr(f);
  for (const char* want : {"file_time_unix >= ", "make == \"Canon\"", "model == \"EOS R5\"", "lens == \"RF 50mm\"",
                           "path like \"/p/2020/%\"", "format == \"jpeg\"", "width > height", "width >= 10",
                           "height >= 20", "rating >= 2", "gps_lon <= 4"})
    EXPECT_NE(e.find(want), std::string::npos) << want << " missing in " << e;
}
