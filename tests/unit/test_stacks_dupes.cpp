// Duplicates of three kinds with keepers, and stacks (RAW+JPEG pairs, bursts, brackets), on real
// photos from ../shared/photos: frames are assembled at test time into build/ (copies with
// rewritten capture times via exiftool, and blurred / darkened / brightened re-encodes via
// libvips), never committed. Indexed with the golden tiny model (random weights): these tests
// check the rules, not the model's judgement.
#include <gtest/gtest.h>
#include <unistd.h>
#include <vips/vips.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include "viewfinder/viewfinder.h"

namespace fs = std::filesystem;

namespace {

const std::string kShared = std::filesystem::canonical(VF_SHARED_DIR).string();  // the catalog's paths are canonical
const std::string kPhotos = kShared + "/photos";
const std::string kTiny = kShared + "/golden/models/tiny";
const std::string kDng = kPhotos + "/raw/dng/canon_eos_6d.dng";
const std::string kCameraJpeg = kPhotos + "/camera_exif/exif-samples/gps/DSCN0029.jpg";
const std::string kDngSerial = "033024001432";

// A scratch folder under the build tree (the test's working directory), removed afterwards.
struct BuildDir {
  std::string path;
  BuildDir() {
    std::string t = (fs::current_path() / "vf-stacks-XXXXXX").string();
    path = mkdtemp(t.data());
  }
  ~BuildDir() { fs::remove_all(path); }
};

void run(const std::string& cmd) { ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd; }

// Capture time, camera and shutter rewritten with exiftool.
void set_exif(const std::string& file, const std::string& when, const std::string& make, const std::string& model,
              const std::string& shutter = "", const std::string& serial = "") {
  std::string cmd = "exiftool -q -overwrite_original -DateTimeOriginal='" + when + "' -Make='" + make + "' -Model='" +
                    model + "'";
  if (!shutter.empty()) cmd += " -ExposureTime=" + shutter;
  if (!serial.empty()) cmd += " -SerialNumber=" + serial;
  run(cmd + " '" + file + "'");
}

// A re-encode of `src` through a libvips operation: "blur:SIGMA" or "gain:FACTOR".
void derive(const std::string& src, const std::string& dst, const std::string& op, double v) {
  VipsImage* in = vips_image_new_from_file(src.c_str(), nullptr);
  ASSERT_NE(in, nullptr) << vips_error_buffer();
  VipsImage* out = nullptr;
  int rc = 0;
  if (op == "blur") {
    rc = vips_gaussblur(in, &out, v, nullptr);
  } else {
    VipsImage* scaled = nullptr;
    rc = vips_linear1(in, &scaled, v, 0.0, nullptr);
    if (!rc) rc = vips_cast_uchar(scaled, &out, nullptr);
    if (scaled) g_object_unref(scaled);
  }
  ASSERT_EQ(rc, 0) << vips_error_buffer();
  // Keep the EXIF (camera, time) of the source: the frame is then rewritten by set_exif.
  ASSERT_EQ(vips_jpegsave(out, dst.c_str(), "Q", 92, nullptr), 0) << vips_error_buffer();
  g_object_unref(out);
  g_object_unref(in);
}

vf::IndexParams params_for(std::vector<std::string> roots) {
  vf::IndexParams p;
  p.roots = std::move(roots);
  p.engine.model_dir = kTiny;
  p.engine.threads = 1;
  p.decode_threads = 2;
  return p;
}

const vf::Stack* stack_with(const std::vector<vf::Stack>& stacks, const std::string& name) {
  for (const auto& s : stacks)
    for (const auto& m : s.members)
      if (fs::path(m.path).filename() == name) return &s;
  return nullptr;
}

std::string name_of(const std::vector<vf::StackMember>& members, int64_t id) {
  for (const auto& m : members)
    if (m.id == id) return fs::path(m.path).filename().string();
  return "";
}

}  // namespace

TEST(Stacks, BurstBracketAndRawJpegFromRealFrames) {
  ASSERT_EQ(VIPS_INIT("vf_test_stacks"), 0);
  BuildDir dir;
  const std::string burst = dir.path + "/burst", pairs = dir.path + "/pairs", other = dir.path + "/other";
  for (const auto& d : {burst, pairs, other}) fs::create_directories(d);
  // A burst: the real frame, then two blurred ones (camera shake), one second apart.
  fs::copy_file(kCameraJpeg, burst + "/b1.jpg");
  derive(kCameraJpeg, burst + "/b2.jpg", "blur", 2.0);
  derive(kCameraJpeg, burst + "/b3.jpg", "blur", 4.0);
  set_exif(burst + "/b1.jpg", "2024:05:01 10:00:00", "Viewfinder", "BurstCam", "1/200");
  set_exif(burst + "/b2.jpg", "2024:05:01 10:00:01", "Viewfinder", "BurstCam", "1/200");
  set_exif(burst + "/b3.jpg", "2024:05:01 10:00:02", "Viewfinder", "BurstCam", "1/200");
  // A bracket: normal, 1.3 stops under, 0.85 stops over, with their shutter times.
  derive(kCameraJpeg, burst + "/k1.jpg", "gain", 1.0);
  derive(kCameraJpeg, burst + "/k2.jpg", "gain", 0.4);
  derive(kCameraJpeg, burst + "/k3.jpg", "gain", 1.8);
  set_exif(burst + "/k1.jpg", "2024:05:01 11:00:00", "Viewfinder", "BurstCam", "1/100");
  set_exif(burst + "/k2.jpg", "2024:05:01 11:00:01", "Viewfinder", "BurstCam", "1/250");
  set_exif(burst + "/k3.jpg", "2024:05:01 11:00:02", "Viewfinder", "BurstCam", "1/60");
  // The same frame 5 minutes later: outside the window, in no stack.
  fs::copy_file(kCameraJpeg, burst + "/later.jpg");
  set_exif(burst + "/later.jpg", "2024:05:01 10:05:00", "Viewfinder", "BurstCam", "1/200");
  // RAW+JPEG by stem; and by capture time + serial with different names (and a JPEG of
  // another body at the same second, which must stay out).
  fs::copy_file(kDng, pairs + "/IMG_0001.dng");
  fs::copy_file(kCameraJpeg, pairs + "/IMG_0001.JPG");
  set_exif(pairs + "/IMG_0001.JPG", "2019:06:06 07:29:51", "Canon", "Canon EOS 6D");
  // A reused file number: same stem, captures 11 years apart: no pair.
  fs::copy_file(kDng, pairs + "/IMG_0002.dng");
  fs::copy_file(kCameraJpeg, pairs + "/IMG_0002.JPG");
  run("exiftool -q -overwrite_original '-DateTimeOriginal=2019:06:07 08:00:00' '" + pairs + "/IMG_0002.dng'");
  fs::copy_file(kDng, other + "/raw_frame.dng");
  fs::copy_file(kCameraJpeg, other + "/export.jpg");
  fs::copy_file(kCameraJpeg, other + "/second_body.jpg");
  set_exif(other + "/export.jpg", "2019:06:06 07:29:51", "Canon", "Canon EOS 6D", "", kDngSerial);
  set_exif(other + "/second_body.jpg", "2019:06:06 07:29:51", "Canon", "Canon EOS 6D", "", "999999");

  auto lib = vf::Library::open(dir.path + "/lib");
  auto report = lib->index(params_for({burst, pairs, other}));
  ASSERT_EQ(report.failed, 0);

  auto stacks = vf::find_stacks(*lib, {});
  const vf::Stack* b = stack_with(stacks, "b1.jpg");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->kind, "burst");
  EXPECT_EQ(b->members.size(), 3u) << b->evidence;
  EXPECT_EQ(name_of(b->members, b->pick), "b1.jpg") << b->pick_reason;
  EXPECT_NE(b->pick_reason.find("sharpest"), std::string::npos) << b->pick_reason;
  EXPECT_GT(b->members[0].sharpness, 2 * b->members[1].sharpness);  // measured, not assumed
  EXPECT_EQ(stack_with(stacks, "later.jpg"), nullptr);

  const vf::Stack* k = stack_with(stacks, "k1.jpg");
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->kind, "bracket") << k->evidence;
  EXPECT_EQ(k->members.size(), 3u);
  EXPECT_EQ(name_of(k->members, k->pick), "k1.jpg") << k->pick_reason;

  const vf::Stack* stem = stack_with(stacks, "IMG_0001.dng");
  ASSERT_NE(stem, nullptr);
  EXPECT_EQ(stem->kind, "raw_jpeg");
  EXPECT_EQ(stem->members.size(), 2u);
  EXPECT_EQ(name_of(stem->members, stem->pick), "IMG_0001.dng");
  EXPECT_NE(stem->evidence.find("stem"), std::string::npos) << stem->evidence;

  EXPECT_EQ(stack_with(stacks, "IMG_0002.dng"), nullptr);

  const vf::Stack* serial = stack_with(stacks, "raw_frame.dng");
  ASSERT_NE(serial, nullptr);
  EXPECT_EQ(serial->kind, "raw_jpeg");
  ASSERT_EQ(serial->members.size(), 2u);
  EXPECT_EQ(name_of(serial->members, serial->pick), "raw_frame.dng");
  EXPECT_NE(serial->evidence.find(kDngSerial), std::string::npos) << serial->evidence;
  EXPECT_EQ(stack_with(stacks, "second_body.jpg"), nullptr);

  // A burst is not a duplicate: no duplicate group holds two frames of the burst or of the
  // bracket (each frame is a different capture of one camera).
  for (const auto& g : vf::find_duplicates(*lib, {})) {
    int burst_frames = 0, bracket_frames = 0;
    for (const auto& m : g.members) {
      const std::string n = fs::path(m.path).filename().string();
      burst_frames += n == "b1.jpg" || n == "b2.jpg" || n == "b3.jpg";
      bracket_frames += n == "k1.jpg" || n == "k2.jpg" || n == "k3.jpg";
    }
    EXPECT_LE(burst_frames, 1) << g.kind << " group with " << g.members.size() << " members";
    EXPECT_LE(bracket_frames, 1) << g.kind << " group with " << g.members.size() << " members";
  }

  // Search collapses the burst to one hit; --expand-stacks shows every frame.
  vf::Searcher searcher(*lib);
  vf::SearchQuery q;
  q.positive_ids = {b->members[1].id};
  q.exclude_query_ids = false;
  q.k = 30;
  auto collapsed = searcher.search(q);
  std::set<int64_t> burst_ids;
  for (const auto& m : b->members) burst_ids.insert(m.id);
  int shown = 0, stacked = 0;
  for (const auto& h : collapsed.hits)
    if (burst_ids.count(h.id)) ++shown, stacked = h.stacked;
  EXPECT_EQ(shown, 1);
  EXPECT_EQ(stacked, 2);
  q.collapse_stacks = false;
  q.collapse_duplicates = false;
  shown = 0;
  for (const auto& h : searcher.search(q).hits) shown += burst_ids.count(h.id);
  EXPECT_EQ(shown, 3);
}

// The same files indexed in two orders (different catalog ids) give the same groups and keepers.
TEST(Dupes, KindsKeepersAndIndexOrder) {
  ASSERT_EQ(VIPS_INIT("vf_test_dupes"), 0);
  BuildDir dir;
  const std::string flowers = kPhotos + "/near_duplicates/libjxl_flower_variants";
  const std::string webp = kPhotos + "/formats/metadata-extractor/webp";
  const std::string heic = kPhotos + "/formats/photoprism";
  const std::string copies = dir.path + "/copies";
  fs::create_directories(copies);
  fs::copy_file(flowers + "/flower_small.q85_444_non_interleaved.jpg", copies + "/byte_copy.jpg");
  {  // flower.png saved losslessly as TIFF: identical pixels in another format
    VipsImage* png = vips_image_new_from_file((flowers + "/flower.png").c_str(), nullptr);
    ASSERT_NE(png, nullptr) << vips_error_buffer();
    ASSERT_EQ(vips_tiffsave(png, (copies + "/flower.tif").c_str(), nullptr), 0) << vips_error_buffer();
    g_object_unref(png);
  }

  auto keepers_of = [&](const std::string& name, const std::vector<std::string>& roots) {
    auto lib = vf::Library::open(dir.path + "/" + name);
    for (const auto& r : roots) lib->index(params_for({r}));  // one root at a time: ids follow the order
    vf::DupeParams p;
    p.phash_max_distance = 8;
    auto groups = vf::find_duplicates(*lib, p);
    std::map<std::string, std::string> keeper_by_member;  // every member's path -> its group's keeper path
    std::set<std::string> seen;
    for (const auto& g : groups) {
      std::string keeper;
      for (const auto& m : g.members)
        if (m.id == g.keeper) keeper = m.path;
      EXPECT_EQ(g.members.front().id, g.keeper);
      EXPECT_NE(g.kind, "exact");
      for (const auto& m : g.members) {
        EXPECT_TRUE(seen.insert(m.path).second) << m.path << " is in two groups";
        EXPECT_GE(m.similarity, 0.0f);
        EXPECT_LE(m.similarity, 1.0f);
        keeper_by_member[m.path] = keeper;
      }
    }
    return std::make_pair(keeper_by_member, groups);
  };
  auto [first, groups] = keepers_of("lib_a", {flowers, webp, heic, copies});
  auto [second, groups_b] = keepers_of("lib_b", {copies, heic, webp, flowers});
  EXPECT_EQ(first, second);

  auto group_of = [&](const std::string& path) -> const vf::DupeGroup* {
    for (const auto& g : groups)
      for (const auto& m : g.members)
        if (m.path == path) return &g;
    return nullptr;
  };
  auto member = [&](const vf::DupeGroup& g, const std::string& path) -> const vf::DupeMember* {
    for (const auto& m : g.members)
      if (m.path == path) return &m;
    return nullptr;
  };
  // Lossy q85 re-encodes of flower.png are near, not identical; flower.png is kept (lossless).
  const auto* fg = group_of(flowers + "/flower.png");
  ASSERT_NE(fg, nullptr);
  const std::string flower_keeper = first[flowers + "/flower.png"];
  EXPECT_TRUE(flower_keeper == flowers + "/flower.png" || flower_keeper == copies + "/flower.tif") << flower_keeper;
  const auto* q85 = member(*fg, flowers + "/flower.png.im_q85_420.jpg");
  ASSERT_NE(q85, nullptr);
  EXPECT_EQ(q85->relation, "near");
  EXPECT_EQ(fg->kind, "near");
  EXPECT_EQ(q85->format, "jpeg");
  EXPECT_EQ(q85->width, 2268);
  EXPECT_GT(q85->file_size, 0);
  // Byte copy: identical bytes with the hash as evidence.
  const auto* small = group_of(copies + "/byte_copy.jpg");
  ASSERT_NE(small, nullptr);
  bool byte_evidence = false;
  for (const auto& m : small->members) {
    if (m.path != copies + "/byte_copy.jpg" && m.path != flowers + "/flower_small.q85_444_non_interleaved.jpg") continue;
    if (m.relation == "identical_bytes" && m.evidence.find("content hash") != std::string::npos) byte_evidence = true;
    if (m.copy_kind == "identical_bytes") byte_evidence = true;
  }
  EXPECT_TRUE(byte_evidence);
  // A lossy WebP and its lossless original: near, and the lossless one is the keeper.
  for (const char* n : {"1", "2"}) {
    const std::string lossless = webp + "/Alpha Lossless (" + n + ").webp", lossy = webp + "/Alpha Lossy (" + n + ").webp";
    const auto* g = group_of(lossy);
    if (!g) continue;  // not linked by the random-weights model: nothing to keep
    EXPECT_EQ(first[lossy], lossless) << g->keeper_reason;
    EXPECT_EQ(member(*g, lossy)->relation, "near");
  }
  // The HEIC pair is byte-identical (same content hash).
  const auto* hg = group_of(heic + "/iphone_7.heic");
  ASSERT_NE(hg, nullptr);
  EXPECT_EQ(hg->kind, "identical_bytes");
  // flower.png and its lossless TIFF: identical pixels, by decoding, in the flower group.
  const auto* tiff = member(*fg, copies + "/flower.tif");
  const auto* png = member(*fg, flowers + "/flower.png");
  ASSERT_NE(tiff, nullptr);
  ASSERT_NE(png, nullptr);
  const auto* copy = tiff->relation == "keeper" ? png : tiff;
  EXPECT_EQ(copy->relation, "identical_pixels") << copy->evidence;
  EXPECT_NE(copy->evidence.find("decoded pixels equal: 2268x1512"), std::string::npos) << copy->evidence;
}
