// A reader's path mapping (src/library/path_map.cpp): whole components, the longest FROM
// wins, strict parsing with messages that say what is wrong, and the remembered form.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "library/library_impl.h"
#include "viewfinder/error.h"

using vf::PathMapping;
using vf::parse_path_map;
using vf::detail::map_path;

static std::string error_of(const std::vector<std::string>& specs) {
  try {
    parse_path_map(specs);
  } catch (const vf::Error& e) {
    EXPECT_EQ(e.code(), vf::ErrorCode::InvalidArgument);
    return e.what();
  }
  return "";
}

TEST(PathMap, MapsWholeComponentsOnly) {
  const auto map = parse_path_map({"/mnt/nas/photos=/srv/photos"});
  EXPECT_EQ(map_path(map, "/mnt/nas/photos/2024/a.jpg"), "/srv/photos/2024/a.jpg");
  EXPECT_EQ(map_path(map, "/mnt/nas/photos"), "/srv/photos");  // a folder field
  EXPECT_EQ(map_path(map, "/mnt/nas/photos2/a.jpg"), "/mnt/nas/photos2/a.jpg");
  EXPECT_EQ(map_path(map, "/mnt/nas/photo/a.jpg"), "/mnt/nas/photo/a.jpg");
  EXPECT_EQ(map_path(map, "/elsewhere/a.jpg"), "/elsewhere/a.jpg");
}

TEST(PathMap, LongestFromWinsWhateverTheOrder) {
  for (const auto& specs : {std::vector<std::string>{"/mnt/nas=/a", "/mnt/nas/photos/raw=/b"},
                            std::vector<std::string>{"/mnt/nas/photos/raw=/b", "/mnt/nas=/a"}}) {
    const auto map = parse_path_map(specs);
    EXPECT_EQ(map_path(map, "/mnt/nas/photos/raw/x.nef"), "/b/x.nef");
    EXPECT_EQ(map_path(map, "/mnt/nas/photos/x.jpg"), "/a/photos/x.jpg");
    EXPECT_EQ(map_path(map, "/mnt/nas/photos/rawx/x.jpg"), "/a/photos/rawx/x.jpg");
  }
}

TEST(PathMap, TwoWorkerMountsToOneShare) {
  const auto map = parse_path_map({"/mnt/nas/photos=/srv/photos", "/Volumes/photos=/srv/photos"});
  EXPECT_EQ(map_path(map, "/Volumes/photos/a.jpg"), "/srv/photos/a.jpg");
  EXPECT_EQ(map_path(map, "/mnt/nas/photos/a.jpg"), "/srv/photos/a.jpg");
}

TEST(PathMap, NormalisesAndHandlesTheRoot) {
  const auto map = parse_path_map({"/mnt/nas/photos/=/srv//photos/./"});
  ASSERT_EQ(map.size(), 1u);
  EXPECT_EQ(map[0].from, "/mnt/nas/photos");
  EXPECT_EQ(map[0].to, "/srv/photos");
  EXPECT_EQ(map_path(parse_path_map({"/=/srv"}), "/a/b.jpg"), "/srv/a/b.jpg");
  EXPECT_EQ(map_path(parse_path_map({"/srv/x=/"}), "/srv/x/b.jpg"), "/b.jpg");
  EXPECT_EQ(map_path(parse_path_map({"/srv/x=/"}), "/srv/x"), "/");
  EXPECT_TRUE(parse_path_map({"none"}).empty());
  EXPECT_TRUE(parse_path_map({}).empty());
}

TEST(PathMap, MalformedMapsSayWhatIsWrong) {
  EXPECT_NE(error_of({"/mnt/nas/photos"}).find("expected FROM=TO"), std::string::npos);
  EXPECT_NE(error_of({"=/srv"}).find("expected FROM=TO"), std::string::npos);
  EXPECT_NE(error_of({"/mnt="}).find("expected FROM=TO"), std::string::npos);
  EXPECT_NE(error_of({"photos=/srv/photos"}).find("absolute"), std::string::npos);
  EXPECT_NE(error_of({"/mnt/nas=srv"}).find("absolute"), std::string::npos);
  EXPECT_NE(error_of({"/a=/b", "/a/=/c"}).find("twice"), std::string::npos);
  EXPECT_NE(error_of({"none", "/a=/b"}).find("none"), std::string::npos);
}

TEST(PathMap, RememberedFormRoundTrips) {
  const auto map = parse_path_map({"/mnt/nas/photos=/srv/photos", "/Volumes/p=/srv/p"});
  const auto back = vf::detail::path_map_from_json(vf::detail::path_map_json(map));
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[1].from, "/Volumes/p");
  EXPECT_EQ(back[1].to, "/srv/p");
  EXPECT_EQ(vf::detail::path_map_json({}), "");
  EXPECT_TRUE(vf::detail::path_map_from_json("").empty());
}
