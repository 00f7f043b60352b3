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

TEST(MilvusExpr, SubstringsAreLowerCasedAndMatchWildcardsLiterally) {
  Filters f;
  f.make = "Canon";
  f.lens = "50mm f/1.8 100%_\"x\\";
  EXPECT_EQ(filters_to_expr(f),
            "make_lc like \"%canon%\" && lens_lc like \"%50mm f/1.8 100\\\\%\\\\_\\\"x\\\\\\\\%\"");
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
