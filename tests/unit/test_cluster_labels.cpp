// Cluster labels (search/cluster_labels.h): only what most members share goes into a label,
// on members whose metadata is read from real camera files of ../shared/photos.
#include <gtest/gtest.h>

#include <array>
#include <filesystem>

#include "search/cluster_labels.h"
#include "viewfinder/image.h"

using namespace vf::search;
using vf::ClusterFact;

namespace {

std::string shared_photo(const std::string& rel) { return std::string(VF_SHARED_DIR) + "/photos/" + rel; }

MemberFacts facts_of(const std::string& path) {
  auto m = vf::read_metadata(path);
  MemberFacts f;
  f.capture_unix = m.capture_time.empty() ? 0 : m.capture_unix;
  f.camera = camera_name(m.make, m.model);
  f.lens = m.lens;
  f.lat = m.gps_lat;
  f.lon = m.gps_lon;
  f.keywords = m.keywords;
  return f;
}

const ClusterFact* find_kind(const std::vector<ClusterFact>& facts, const std::string& kind) {
  for (const auto& f : facts)
    if (f.kind == kind) return &f;
  return nullptr;
}

std::vector<const MemberFacts*> pointers(const std::vector<MemberFacts>& v) {
  std::vector<const MemberFacts*> out;
  for (const auto& m : v) out.push_back(&m);
  return out;
}

}  // namespace

TEST(ClusterLabels, ColourNames) {
  EXPECT_EQ(colour_name(240, 20, 20), "red");
  EXPECT_EQ(colour_name(240, 140, 20), "orange");
  EXPECT_EQ(colour_name(240, 230, 40), "yellow");
  EXPECT_EQ(colour_name(40, 200, 60), "green");
  EXPECT_EQ(colour_name(30, 80, 230), "blue");
  EXPECT_EQ(colour_name(140, 40, 220), "purple");
  EXPECT_EQ(colour_name(240, 100, 200), "pink");
  EXPECT_EQ(colour_name(120, 70, 30), "brown");
  EXPECT_EQ(colour_name(10, 10, 12), "black");
  EXPECT_EQ(colour_name(250, 250, 250), "white");
  EXPECT_EQ(colour_name(128, 128, 128), "grey");
}

TEST(ClusterLabels, DominantColoursFromAHistogram) {
  std::array<float, 512> hist{};
  auto bin = [](int r, int g, int b) { return (r / 32) * 64 + (g / 32) * 8 + b / 32; };
  hist[bin(40, 200, 60)] = 0.55f;   // green
  hist[bin(30, 80, 230)] = 0.30f;   // blue
  hist[bin(240, 20, 20)] = 0.15f;   // red: under 20%, not dominant
  auto names = dominant_colours(hist.data());
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names[0], "green");
  EXPECT_EQ(names[1], "blue");
}

TEST(ClusterLabels, CameraNamesDropTheRepeatedMaker) {
  EXPECT_EQ(camera_name("Canon", "Canon EOS 50D"), "Canon EOS 50D");
  EXPECT_EQ(camera_name("NIKON CORPORATION", "NIKON D800E"), "NIKON D800E");
  EXPECT_EQ(camera_name("SONY", "DSC-HX5V"), "SONY DSC-HX5V");
  EXPECT_EQ(camera_name("", ""), "");
}

// Five copies of a GPS-tagged Nikon photo and two photos without metadata: every fact the
// copies carry is held by 5/7 of the members, so it goes into the label.
TEST(ClusterLabels, SharedFactsFromRealExif) {
  const auto gps = shared_photo("camera_exif/exif-samples/gps/DSCN0029.jpg");
  ASSERT_TRUE(std::filesystem::exists(gps)) << gps;
  std::vector<MemberFacts> members(5, facts_of(gps));
  members.push_back(facts_of(shared_photo("flowers17/images/image_0001.jpg")));
  members.push_back(facts_of(shared_photo("flowers17/images/image_0002.jpg")));
  for (auto& m : members) m.colours = {"green"};
  members.back().colours = {"yellow"};
  const auto facts = shared_facts(pointers(members));
  const auto* place = find_kind(facts, "place");
  ASSERT_NE(place, nullptr);
  EXPECT_EQ(place->text, "around 43.47N 11.88E");  // one spot: two decimals
  EXPECT_NEAR(place->share, 5.0 / 7, 1e-9);
  const auto* camera = find_kind(facts, "camera");
  ASSERT_NE(camera, nullptr);
  EXPECT_EQ(camera->text, "NIKON COOLPIX P6000");
  const auto* dates = find_kind(facts, "dates");
  ASSERT_NE(dates, nullptr);
  EXPECT_EQ(dates->text, "22 Oct 2008");
  const auto* colours = find_kind(facts, "colours");
  ASSERT_NE(colours, nullptr);
  EXPECT_EQ(colours->text, "mostly green");
  const std::string label = label_from_facts(facts);
  EXPECT_NE(label.find("around 43.47N 11.88E"), std::string::npos) << label;
  EXPECT_EQ(label.find("exif"), std::string::npos) << label;
}

// Facts carried by fewer than half of the members stay out; so does a place the members
// are not near each other for.
TEST(ClusterLabels, MinorityFactsStayOut) {
  const auto gps = shared_photo("camera_exif/exif-samples/gps/DSCN0029.jpg");
  std::vector<MemberFacts> members(2, facts_of(gps));
  for (int i = 1; i <= 3; ++i)
    members.push_back(facts_of(shared_photo("flowers17/images/image_000" + std::to_string(i) + ".jpg")));
  EXPECT_EQ(label_from_facts(shared_facts(pointers(members))), "no shared metadata");
  // Two places 1,000 km apart, half each: no place.
  std::vector<MemberFacts> apart(4);
  apart[0].lat = apart[1].lat = 48.86;
  apart[0].lon = apart[1].lon = 2.35;
  apart[2].lat = apart[3].lat = 41.90;
  apart[2].lon = apart[3].lon = 12.50;
  EXPECT_EQ(find_kind(shared_facts(pointers(apart)), "place"), nullptr);
  // Photos spread over a few km: the centroid is rounded to one decimal.
  apart[2].lat = 48.90, apart[2].lon = 2.28;
  apart[3].lat = 48.83, apart[3].lon = 2.38;
  const auto near = shared_facts(pointers(apart));
  const auto* place = find_kind(near, "place");
  ASSERT_NE(place, nullptr);
  EXPECT_EQ(place->text, "around 48.9N 2.3E");
}

TEST(ClusterLabels, DateRangesInWords) {
  std::vector<MemberFacts> members(4);
  members[0].capture_unix = 1552555812;  // 2019-03-14
  members[1].capture_unix = 1555555812;  // 2019-04-18
  members[2].capture_unix = 1560555812;  // 2019-06-14
  members[3].capture_unix = 1561555812;  // 2019-06-26
  const auto facts = shared_facts(pointers(members));
  const auto* dates = find_kind(facts, "dates");
  ASSERT_NE(dates, nullptr);
  EXPECT_EQ(dates->text, "Mar\u2013Jun 2019");
  members[3].capture_unix = 1752555812;  // 2025: more than three years apart, 10-90% still spans it
  members[2].capture_unix = 1752555812;
  EXPECT_EQ(find_kind(shared_facts(pointers(members)), "dates"), nullptr);
}
