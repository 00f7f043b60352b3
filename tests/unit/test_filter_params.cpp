// The one reading of filters and dates typed by people (server query parameters and JSON,
// CLI options): vf::filters_from_params and common/value_parse.
#include <gtest/gtest.h>

#include <map>
#include <utility>
#include <vector>
#include <string>

#include "common/value_parse.h"
#include "viewfinder/search.h"

namespace {

TEST(DateBound, DatesTimesAndUnixSeconds) {
  EXPECT_EQ(vf::parse_date_bound("2019-03-14", false), 1552521600);
  EXPECT_EQ(vf::parse_date_bound("2019-03-14", true), 1552521600 + 86399);  // the whole day
  EXPECT_EQ(vf::parse_date_bound("2019-03-14T09:30:15", true), 1552521600 + 9 * 3600 + 30 * 60 + 15);
  EXPECT_EQ(vf::parse_date_bound("2019-03-14 09:30", false), 1552521600 + 9 * 3600 + 30 * 60);
  EXPECT_EQ(vf::parse_date_bound("1552521600", false), 1552521600);
  for (const char* bad : {"", "yesterday", "2019-13-01", "2019-03-14T09", "2019-03-32", "14/03/2019"})
    EXPECT_THROW(vf::parse_date_bound(bad, false), vf::Error) << bad;
}

TEST(DateBound, CivilDateTimeReadsExifToo) {
  auto t = vf::parse_civil_datetime("2019:03:14 09:30:15");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->fields, 6);
  EXPECT_EQ(vf::civil_to_unix(*t), 1552521600 + 9 * 3600 + 30 * 60 + 15);
  EXPECT_FALSE(vf::parse_civil_datetime("0000:00:00 00:00:00"));  // EXIF's "unknown"
}

TEST(FilterParams, EveryKey) {
  vf::Filters f = vf::filters_from_params({{"date_from", "2019-03-14"}, {"date_to", "2019-03-14"},
                                           {"make", "Canon"}, {"lens", "50mm"}, {"format", "jpeg"},
                                           {"orientation", "portrait"}, {"min_width", "640"},
                                           {"min_height", "480"}, {"min_rating", "3"},
                                           {"gps_bbox", "10,170,20,-170"}, {"k", "ignored"}});
  EXPECT_EQ(*f.date_from, 1552521600);
  EXPECT_EQ(*f.date_to, 1552521600 + 86399);
  EXPECT_EQ(f.make, "Canon");
  EXPECT_EQ(f.lens, "50mm");
  EXPECT_EQ(f.format, "jpeg");
  EXPECT_EQ(f.orientation, "portrait");
  EXPECT_EQ(f.min_width, 640);
  EXPECT_EQ(f.min_height, 480);
  EXPECT_EQ(*f.min_rating, 3);
  // gps_bbox is min/max as given: min_lon > max_lon crosses the antimeridian.
  EXPECT_EQ(*f.gps_bbox, (std::array<double, 4>{10, 170, 20, -170}));
}

TEST(FilterParams, FolderMeansItsContentsOnly) {
  EXPECT_EQ(vf::filters_from_params({{"folder", "/photos/2019"}}).path_prefix, "/photos/2019/");
  EXPECT_EQ(vf::filters_from_params({{"folder", "/photos/2019/"}}).path_prefix, "/photos/2019/");
  EXPECT_EQ(vf::filters_from_params({{"path_prefix", "/photos/IMG_"}}).path_prefix, "/photos/IMG_");
  // path_prefix is applied after folder, whatever the map order.
  EXPECT_EQ(vf::filters_from_params({{"folder", "/a"}, {"path_prefix", "/b"}}).path_prefix, "/b");
}

TEST(FilterParams, CameraIsTheModelAndBboxTakesAnyCorners) {
  EXPECT_EQ(vf::filters_from_params({{"camera", "EOS R5"}, {"model", "X"}}).model, "EOS R5");
  EXPECT_EQ(*vf::filters_from_params({{"bbox", "20,-170,10,170"}}).gps_bbox,
            (std::array<double, 4>{10, -170, 20, 170}));
}

TEST(FilterParams, EmptyUnknownAndBadValues) {
  vf::Filters f;
  EXPECT_TRUE(vf::parse_filter_param("make", "", f));
  EXPECT_TRUE(f.empty());
  EXPECT_FALSE(vf::parse_filter_param("alpha", "0.5", f));
  for (auto [key, value] : std::vector<std::pair<std::string, std::string>>{{"orientation", "diagonal"},
                                                              {"min_width", "wide"},
                                                              {"min_rating", "9"},
                                                              {"gps_bbox", "1,2,3"},
                                                              {"bbox", "1,2,3,4,5"},
                                                              {"gps_bbox", "1,2,3,500"},
                                                              {"date_from", "yesterday"}})
    EXPECT_THROW(vf::parse_filter_param(key, value, f), vf::Error) << key << "=" << value;
}

}  // namespace
