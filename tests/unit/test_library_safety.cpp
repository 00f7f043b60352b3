// A missing folder is not a deleted folder (issue 14.1), symlinks out of the library (14.5),
// file names that are not UTF-8 (14.6), files named like photos that are not (11), with the
// real engine (tiny golden model) and real photos.
//
// Permission tests need permissions to apply: as root (CI containers) the test runs the
// library calls with the effective uid of `nobody`, on a tree that user owns.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include "viewfinder/viewfinder.h"

namespace fs = std::filesystem;

namespace {

const std::string kShared = VF_SHARED_DIR;
const std::string kTiny = kShared + "/golden/models/tiny";
constexpr uid_t kNobody = 65534;

std::string flower(int n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "/photos/flowers17/images/image_%04d.jpg", n);
  return kShared + buf;
}

// A temp tree; as root, owned by nobody and used with nobody's effective uid so that
// chmod 000 really makes a folder unreadable.
struct Sandbox {
  std::string path;
  bool dropped = false;
  Sandbox() {
    char t[] = "/tmp/vf-test-safety-XXXXXX";
    path = mkdtemp(t);
    fs::permissions(path, fs::perms::all);
  }
  void become_nobody() {
    if (geteuid() != 0) return;
    for (auto& e : fs::recursive_directory_iterator(path)) (void)!lchown(e.path().c_str(), kNobody, kNobody);
    (void)!lchown(path.c_str(), kNobody, kNobody);
    ASSERT_EQ(setegid(kNobody), 0);
    ASSERT_EQ(seteuid(kNobody), 0);
    dropped = true;
  }
  void restore() {
    if (!dropped) return;
    (void)!seteuid(0);
    (void)!setegid(0);
    dropped = false;
  }
  ~Sandbox() {
    restore();
    for (auto& e : fs::recursive_directory_iterator(path, fs::directory_options::skip_permission_denied))
      if (e.is_directory()) fs::permissions(e.path(), fs::perms::owner_all, fs::perm_options::add);
    fs::permissions(path, fs::perms::owner_all, fs::perm_options::add);
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

vf::IndexParams params_for(const std::string& root) {
  vf::IndexParams p;
  p.roots = {root};
  p.engine.model_dir = kTiny;
  p.engine.threads = 1;
  p.batch_size = 4;
  p.decode_threads = 1;
  return p;
}

std::map<std::string, int64_t> ids_by_path(vf::Library& lib, const std::vector<std::string>& paths) {
  std::map<std::string, int64_t> m;
  for (auto& p : paths)
    if (auto r = lib.photo_by_path(p)) m[p] = r->id;
  return m;
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const vf::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(LibrarySafety, UnreadableFolderKeepsItsEntriesAndTheyComeBackUnchanged) {
  Sandbox box;
  std::string photos = box.path + "/photos";
  fs::create_directories(photos + "/a");
  fs::create_directories(photos + "/b");
  std::vector<std::string> paths;
  for (int i = 1; i <= 4; ++i) {
    std::string p = photos + (i <= 2 ? "/a/f" : "/b/f") + std::to_string(i) + ".jpg";
    fs::copy_file(flower(i), p);
    paths.push_back(p);
  }
  box.become_nobody();
  auto lib = vf::Library::open(box.path + "/lib");
  auto r = lib->index(params_for(photos));
  ASSERT_EQ(r.embedded, 4);
  auto ids = ids_by_path(*lib, paths);

  fs::permissions(photos + "/b", fs::perms::none);  // chmod 000
  r = lib->index(params_for(photos));
  EXPECT_EQ(r.deleted, 0);
  ASSERT_EQ(r.unreadable_folders.size(), 1u);
  EXPECT_EQ(r.unreadable_folders[0].path, photos + "/b");
  EXPECT_EQ(lib->info().photos, 4);

  fs::permissions(photos + "/b", fs::perms::owner_all);
  r = lib->index(params_for(photos));
  EXPECT_EQ(r.embedded, 0);
  EXPECT_EQ(r.unchanged, 4);
  EXPECT_EQ(ids_by_path(*lib, paths), ids);

  // The root itself unreadable: the run stops, naming it.
  fs::permissions(photos, fs::perms::none);
  std::string err = error_of([&] { lib->index(params_for(photos)); });
  fs::permissions(photos, fs::perms::owner_all);
  EXPECT_NE(err.find(photos), std::string::npos) << err;
  EXPECT_NE(err.find("--allow-empty-root"), std::string::npos) << err;
  EXPECT_EQ(lib->info().photos, 4);
  box.restore();
}

TEST(LibrarySafety, EmptyOrMissingRootStopsTheRun) {
  Sandbox box;
  std::string share = box.path + "/share", away = box.path + "/away";
  fs::create_directories(share + "/trip");
  fs::create_directories(away);
  std::vector<std::string> paths;
  for (int i = 1; i <= 3; ++i) {
    paths.push_back(share + "/trip/f" + std::to_string(i) + ".jpg");
    fs::copy_file(flower(i), paths.back());
  }
  auto lib = vf::Library::open(box.path + "/lib");
  lib->index(params_for(share));
  auto ids = ids_by_path(*lib, paths);
  ASSERT_EQ(ids.size(), 3u);

  // "Unmounted": the mount point is an empty directory.
  fs::rename(share + "/trip", away + "/trip");
  std::string err = error_of([&] { lib->index(params_for(share)); });
  EXPECT_NE(err.find(share + " is empty"), std::string::npos) << err;
  EXPECT_NE(err.find("--allow-empty-root"), std::string::npos) << err;
  EXPECT_EQ(lib->info().photos, 3);

  // Missing altogether.
  fs::remove(share);
  err = error_of([&] { lib->index(params_for(share)); });
  EXPECT_NE(err.find(share + " is missing"), std::string::npos) << err;
  EXPECT_EQ(lib->info().photos, 3);

  // Back again: same ids, nothing embedded.
  fs::create_directories(share);
  fs::rename(away + "/trip", share + "/trip");
  auto r = lib->index(params_for(share));
  EXPECT_EQ(r.embedded, 0);
  EXPECT_EQ(r.unchanged, 3);
  EXPECT_EQ(ids_by_path(*lib, paths), ids);

  // A subfolder that is suddenly empty keeps its entries too.
  fs::rename(share + "/trip", away + "/trip");
  fs::create_directories(share + "/trip");
  { std::ofstream(share + "/other.txt") << "keeps the root non-empty"; }
  r = lib->index(params_for(share));
  EXPECT_EQ(r.deleted, 0);
  EXPECT_EQ(lib->info().photos, 3);

  // The explicit way through.
  auto p = params_for(share);
  p.allow_empty_root = true;
  r = lib->index(p);
  EXPECT_EQ(r.deleted, 3);
  EXPECT_EQ(lib->info().photos, 0);
}

TEST(LibrarySafety, SymlinksOutOfTheRootsAreNotFollowed) {
  Sandbox box;
  std::string photos = box.path + "/photos", outside = box.path + "/outside";
  fs::create_directories(photos);
  fs::create_directories(outside);
  fs::copy_file(flower(1), photos + "/f1.jpg");
  fs::copy_file(flower(2), outside + "/secret.jpg");
  fs::create_symlink(outside + "/secret.jpg", photos + "/leak.jpg");
  fs::create_symlink(outside, photos + "/leakdir");
  fs::create_symlink(photos + "/f1.jpg", photos + "/alias.jpg");  // inside: followed
  auto lib = vf::Library::open(box.path + "/lib");
  auto r = lib->index(params_for(photos));
  EXPECT_FALSE(lib->photo_by_path(photos + "/leak.jpg"));
  EXPECT_FALSE(lib->photo_by_path(photos + "/leakdir/secret.jpg"));
  EXPECT_TRUE(lib->photo_by_path(photos + "/alias.jpg"));
  EXPECT_EQ(r.outside_links.size(), 2u);
  auto p = params_for(photos);
  p.follow_symlinks = true;
  lib->index(p);
  EXPECT_TRUE(lib->photo_by_path(photos + "/leak.jpg"));
  EXPECT_TRUE(lib->photo_by_path(photos + "/leakdir/secret.jpg"));
}

TEST(LibrarySafety, NotAnImageIsAListedFailureAndCountsAddUp) {
  Sandbox box;
  std::string photos = box.path + "/photos";
  fs::create_directories(photos);
  for (int i = 1; i <= 3; ++i) fs::copy_file(flower(i), photos + "/f" + std::to_string(i) + ".jpg");
  { std::ofstream(photos + "/readme.jpg") << "this is a text file, not a photo\n"; }
  { std::ofstream(photos + "/notes.txt") << "notes"; }
  auto lib = vf::Library::open(box.path + "/lib");
  auto r = lib->index(params_for(photos));
  EXPECT_EQ(r.scanned, 5);
  EXPECT_EQ(r.embedded, 3);
  EXPECT_EQ(r.failed, 1);
  EXPECT_EQ(r.not_photos, 1);
  ASSERT_EQ(r.failures.size(), 1u);
  EXPECT_EQ(r.failures[0].path, photos + "/readme.jpg");
  EXPECT_NE(r.failures[0].reason.find("not an image"), std::string::npos) << r.failures[0].reason;
  EXPECT_EQ(r.added + r.changed + r.moved + r.unchanged + r.reembedded + r.not_photos + r.still_failing, r.scanned);
  ASSERT_EQ(lib->failures().size(), 1u);
  r = lib->index(params_for(photos));
  EXPECT_EQ(r.still_failing, 1);
  EXPECT_EQ(r.added + r.changed + r.moved + r.unchanged + r.reembedded + r.not_photos + r.still_failing, r.scanned);
}

TEST(LibrarySafety, NonUtf8NamesAreKeptExactlyAndJsonIsLossless) {
  Sandbox box;
  std::string photos = box.path + "/photos";
  fs::create_directories(photos);
  const std::string name = photos + "/caf\xe9-\xff.jpg";  // Latin-1, not UTF-8
  fs::copy_file(flower(1), name);
  auto lib = vf::Library::open(box.path + "/lib");
  lib->index(params_for(photos));
  auto rec = lib->photo_by_path(name);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->path, name);
  nlohmann::json j;
  vf::put_path(j, "path", rec->path);
  EXPECT_NO_THROW((void)j.dump());
  EXPECT_EQ(vf::base64_decode(j["path_bytes"].get<std::string>()), name);
  EXPECT_NE(j["path"].get<std::string>().find("caf\xEF\xBF\xBD-\xEF\xBF\xBD.jpg"), std::string::npos);
}

TEST(Text, Utf8AndBase64) {
  EXPECT_TRUE(vf::is_valid_utf8("plain ascii"));
  EXPECT_TRUE(vf::is_valid_utf8("caf\xC3\xA9 \xF0\x9F\x93\xB7"));
  EXPECT_FALSE(vf::is_valid_utf8("caf\xE9"));
  EXPECT_FALSE(vf::is_valid_utf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(vf::is_valid_utf8("\xED\xA0\x80"));      // surrogate
  EXPECT_EQ(vf::utf8_lossy("a\xFF" "b"), "a\xEF\xBF\xBD" "b");
  for (std::string s : {std::string(), std::string("f"), std::string("fo"), std::string("foob"),
                        std::string("fooba"), std::string("\x00\xFF\x80 x", 6)})
    EXPECT_EQ(vf::base64_decode(vf::base64_encode(s)), s);
  EXPECT_EQ(vf::base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(vf::base64_encode("fo"), "Zm8=");
  nlohmann::json j;
  vf::put_path(j, "path", "/ok/name.jpg");
  EXPECT_FALSE(j.contains("path_bytes"));
  EXPECT_THROW(vf::base64_decode("no spaces!"), vf::Error);
}

TEST(LibrarySafety, DamagedCatalogSaysHowToRecover) {
  Sandbox box;
  std::string photos = box.path + "/photos", libdir = box.path + "/lib";
  fs::create_directories(photos);
  for (int i = 1; i <= 2; ++i) fs::copy_file(flower(i), photos + "/f" + std::to_string(i) + ".jpg");
  vf::Library::open(libdir)->index(params_for(photos));
  std::string cat = libdir + "/catalog.sqlite3";
  for (auto& f : fs::directory_iterator(libdir))  // no WAL to repair it from
    if (f.path().string().find("catalog.sqlite3-") != std::string::npos) fs::remove(f.path());
  fs::resize_file(cat, fs::file_size(cat) / 2);
  for (bool read_only : {true, false}) {
    std::string err = error_of([&] { vf::Library::open(libdir, read_only)->info(); });
    EXPECT_NE(err.find("damaged"), std::string::npos) << err;
    EXPECT_NE(err.find("catalog.sqlite3.damaged"), std::string::npos) << err;
    EXPECT_EQ(err.find("not a Viewfinder catalog"), std::string::npos) << err;
  }
  // A file that never was a catalog is still called what it is.
  { std::ofstream(cat, std::ios::trunc) << "hello, this is a text file and not SQLite at all................"; }
  std::string err = error_of([&] { vf::Library::open(libdir, true)->info(); });
  EXPECT_NE(err.find("not a Viewfinder catalog"), std::string::npos) << err;
}

TEST(LibrarySafety, StaleTempFilesAreRemovedAtTheNextRun) {
  Sandbox box;
  std::string photos = box.path + "/photos", libdir = box.path + "/lib";
  fs::create_directories(photos);
  fs::copy_file(flower(1), photos + "/f1.jpg");
  auto lib = vf::Library::open(libdir);
  lib->index(params_for(photos));
  fs::create_directories(libdir + "/thumbs/ab");
  const std::string dead = libdir + "/thumbs/ab/x.jpg.tmp.4194303.17";  // above any live pid here
  const std::string live = libdir + "/thumbs/ab/y.jpg.tmp." + std::to_string(getpid()) + ".1";
  { std::ofstream(dead) << "half"; }
  { std::ofstream(live) << "being written"; }
  { std::ofstream(libdir + "/index.faiss.tmp.4194303") << "half"; }
  lib->index(params_for(photos));
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_FALSE(fs::exists(libdir + "/index.faiss.tmp.4194303"));
  EXPECT_TRUE(fs::exists(live));
}

// Issue 11: a file time is not a capture time. Old catalogs stored it as one ('file:mtime'):
// they are migrated at open and their unchanged files' metadata re-read once, nothing embedded.
TEST(LibraryFileTimes, OldFileMtimeRowsMoveAndDateFiltersUseCaptureTimesOnly) {
  Sandbox box;
  std::string photos = box.path + "/photos", libdir = box.path + "/lib";
  fs::create_directories(photos);
  for (int i = 1; i <= 3; ++i) fs::copy_file(flower(i), photos + "/f" + std::to_string(i) + ".jpg");
  {
    auto lib = vf::Library::open(libdir);
    lib->index(params_for(photos));
    auto rec = lib->photo_by_path(photos + "/f1.jpg");
    ASSERT_TRUE(rec);
    ASSERT_TRUE(rec->meta.capture_time.empty()) << "flowers17 photos have no capture date";
    EXPECT_FALSE(rec->meta.file_time.empty());
    EXPECT_GT(rec->meta.file_time_unix, 0);
  }
  // Make it look like a catalog of metadata version 1.
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((libdir + "/catalog.sqlite3").c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "UPDATE photos SET capture_time = '2020-01-02T03:04:05', capture_unix = 1577934245,"
                           " capture_time_source = 'file:mtime', file_time = NULL, file_time_unix = NULL,"
                           " meta_version = NULL; DELETE FROM meta WHERE key = 'file_times_split'",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  auto lib = vf::Library::open(libdir);
  auto rec = lib->photo_by_path(photos + "/f1.jpg");
  ASSERT_TRUE(rec);
  EXPECT_TRUE(rec->meta.capture_time.empty());
  EXPECT_EQ(rec->meta.file_time, "2020-01-02T03:04:05");
  EXPECT_EQ(rec->meta.file_time_unix, 1577934245);

  auto r = lib->index(params_for(photos));
  EXPECT_EQ(r.embedded, 0);
  EXPECT_EQ(r.metadata_refreshed, 3);
  rec = lib->photo_by_path(photos + "/f1.jpg");
  EXPECT_NE(rec->meta.file_time, "2020-01-02T03:04:05");  // re-read from the file
  EXPECT_TRUE(rec->meta.capture_time.empty());
  r = lib->index(params_for(photos));
  EXPECT_EQ(r.metadata_refreshed, 0);  // once

  vf::Searcher searcher(*lib);
  vf::Filters f = vf::filters_from_params({{"date_from", "2000-01-01"}});
  auto res = searcher.list(f, 10, 0);
  EXPECT_EQ(res.matched, 0);  // no capture times
  ASSERT_EQ(res.filter_matches.size(), 1u);
  f.include_file_times = true;
  EXPECT_EQ(searcher.list(f, 10, 0).matched, 3);
}

// Issue 11: "no results" says which filter excluded everything.
TEST(LibraryFilters, EmptyResultsNameTheFilter) {
  Sandbox box;
  std::string photos = box.path + "/photos";
  fs::create_directories(photos);
  for (int i = 1; i <= 2; ++i) fs::copy_file(flower(i), photos + "/f" + std::to_string(i) + ".jpg");
  auto lib = vf::Library::open(box.path + "/lib");
  lib->index(params_for(photos));
  vf::Searcher searcher(*lib);
  auto res = searcher.list(vf::filters_from_params({{"make", "=Nikon"}, {"format", "jpeg"}}), 10, 0);
  EXPECT_TRUE(res.hits.empty());
  ASSERT_EQ(res.filter_matches.size(), 2u);
  std::map<std::string, int64_t> by_filter;
  for (auto& m : res.filter_matches) by_filter[m.filter] = m.matched;
  EXPECT_EQ(by_filter["make==Nikon"], 0);
  EXPECT_EQ(by_filter["format=jpeg"], 2);
  // With results, nothing is explained.
  EXPECT_TRUE(searcher.list(vf::filters_from_params({{"format", "jpeg"}}), 10, 0).filter_matches.empty());
}
