// The library end to end with the real engine (tiny golden model) and real photos:
// incremental rules (new, unchanged, moved, copied, changed, deleted, broken), stored
// embeddings equal to the engine's, model changes, and index recovery on open.
#include <faiss/Index.h>
#include <faiss/IndexIDMap.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <set>

#include "library/library_access.h"
#include "store/faiss_store.h"
#include "viewfinder/viewfinder.h"

namespace fs = std::filesystem;

namespace {

const std::string kShared = VF_SHARED_DIR;
const std::string kFlowers = kShared + "/photos/flowers17/images";
const std::string kTiny = kShared + "/golden/models/tiny";

struct TempDir {
  std::string path;
  TempDir() {
    char t[] = "/tmp/vf-test-library-XXXXXX";
    path = mkdtemp(t);
  }
  ~TempDir() { fs::remove_all(path); }
};

std::string flower(int n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "/image_%04d.jpg", n);
  return kFlowers + buf;
}

vf::IndexParams params_for(const std::string& root, const std::string& model = kTiny) {
  vf::IndexParams p;
  p.roots = {root};
  p.engine.model_dir = model;
  p.engine.threads = 1;
  p.batch_size = 3;
  p.commit_every = 4;
  p.decode_threads = 2;
  return p;
}

// Ids in the semantic index, from the library's own view.
std::set<int64_t> index_ids(const vf::Library& lib) {
  const auto& in = vf::detail::internal(lib);
  std::set<int64_t> ids;
  auto* store = dynamic_cast<const vf::store::FaissStore*>(in.semantic_store());
  if (!store) return ids;
  const faiss::Index* idx = store->index();
  auto* map = dynamic_cast<const faiss::IndexIDMap2*>(idx);
  EXPECT_NE(map, nullptr);
  if (map) ids.insert(map->id_map.begin(), map->id_map.end());
  return ids;
}

void expect_consistent(const vf::Library& lib, int64_t n) {
  const auto& in = vf::detail::internal(lib);
  auto all = in.all_ids();
  EXPECT_EQ(static_cast<int64_t>(all.size()), n);
  EXPECT_EQ(index_ids(lib), std::set<int64_t>(all.begin(), all.end()));
  ASSERT_NE(in.color_store(), nullptr);
  EXPECT_EQ(in.color_store()->count(), n);
}

}  // namespace

TEST(Library, IncrementalRules) {
  TempDir tmp;
  std::string photos = tmp.path + "/photos", libdir = tmp.path + "/lib";
  fs::create_directories(photos + "/sub");
  for (int i = 1; i <= 8; ++i) fs::copy_file(flower(i), photos + "/f" + std::to_string(i) + ".jpg");
  fs::copy_file(flower(9), photos + "/sub/f9.jpg");
  { std::ofstream(photos + "/broken.jpg") << "\xff\xd8\xff\xe0 not really a jpeg"; }
  { std::ofstream(photos + "/notes.txt") << "not a photo"; }
  { std::ofstream(photos + "/.hidden.jpg") << "skipped"; }

  auto lib = vf::Library::open(libdir);
  std::vector<std::string> phases;
  auto r = lib->index(params_for(photos), [&](const vf::IndexProgress& p) { phases.push_back(p.phase); });
  EXPECT_EQ(r.embedded, 9);
  EXPECT_EQ(r.failed, 1);
  ASSERT_EQ(r.failures.size(), 1u);
  EXPECT_EQ(r.failures[0].path, photos + "/broken.jpg");
  EXPECT_FALSE(r.failures[0].reason.empty());
  EXPECT_NE(std::find(phases.begin(), phases.end(), "embed"), phases.end());
  EXPECT_EQ(phases.back(), "done");
  expect_consistent(*lib, 9);
  auto fails = lib->failures();
  ASSERT_EQ(fails.size(), 1u);
  EXPECT_EQ(fails[0].path, photos + "/broken.jpg");

  auto rec = lib->photo_by_path(photos + "/f3.jpg");
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->folder, photos);
  EXPECT_EQ(rec->meta.format, "jpeg");
  EXPECT_GT(rec->meta.width, 0);
  EXPECT_EQ(rec->meta.content_hash.size(), 32u);
  EXPECT_TRUE(fs::exists(rec->thumb_path)) << rec->thumb_path;
  EXPECT_NE(rec->thumb_path.find("/thumbs/"), std::string::npos);
  const int64_t id3 = rec->id;

  // Unchanged: nothing embedded, the known-broken file not retried.
  r = lib->index(params_for(photos));
  EXPECT_EQ(r.embedded, 0);
  EXPECT_EQ(r.unchanged, 9);
  EXPECT_EQ(r.failed, 0);

  // Move (same id, no embedding), copy (new id, no embedding), change, delete.
  auto emb3 = lib->embedding(id3);
  fs::rename(photos + "/f3.jpg", photos + "/sub/moved3.jpg");
  fs::copy_file(photos + "/f4.jpg", photos + "/sub/copy4.jpg");
  fs::copy_file(flower(10), photos + "/f5.jpg", fs::copy_options::overwrite_existing);
  int64_t id5 = lib->photo_by_path(photos + "/f5.jpg")->id;
  auto emb5_before = lib->embedding(id5);
  fs::remove(photos + "/f6.jpg");
  r = lib->index(params_for(photos));
  EXPECT_EQ(r.moved, 1);
  EXPECT_EQ(r.added, 1);  // the copy
  EXPECT_EQ(r.changed, 1);
  EXPECT_EQ(r.deleted, 1);
  EXPECT_EQ(r.embedded, 1);  // only the changed content went through the model
  EXPECT_FALSE(lib->photo_by_path(photos + "/f3.jpg"));
  auto moved = lib->photo_by_path(photos + "/sub/moved3.jpg");
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->id, id3);
  EXPECT_EQ(moved->folder, photos + "/sub");
  EXPECT_EQ(lib->embedding(id3), emb3);
  auto copy = lib->photo_by_path(photos + "/sub/copy4.jpg");
  ASSERT_TRUE(copy);
  EXPECT_EQ(lib->embedding(copy->id), lib->embedding(lib->photo_by_path(photos + "/f4.jpg")->id));
  EXPECT_EQ(lib->photo_by_path(photos + "/f5.jpg")->id, id5);
  EXPECT_NE(lib->embedding(id5), emb5_before);
  EXPECT_FALSE(lib->photo_by_path(photos + "/f6.jpg"));
  expect_consistent(*lib, 9);

  // Files outside the given root are not pruned when indexing another root.
  r = lib->index(params_for(photos + "/sub"));
  EXPECT_EQ(r.deleted, 0);
  EXPECT_EQ(lib->info().photos, 9);
}

TEST(Library, StoredEmbeddingIsTheEngines) {
  TempDir tmp;
  std::string photos = tmp.path + "/photos";
  fs::create_directories(photos);
  for (int i : {1, 81, 161}) fs::copy_file(flower(i), photos + "/" + std::to_string(i) + ".jpg");
  auto lib = vf::Library::open(tmp.path + "/lib");
  lib->index(params_for(photos));
  vf::EngineParams ep;
  ep.model_dir = kTiny;
  ep.threads = 1;
  auto engine = vf::Engine::open(ep);
  for (int i : {1, 81, 161}) {
    std::string path = photos + "/" + std::to_string(i) + ".jpg";
    auto photo = vf::ingest_file(path);
    auto want = engine->embed(photo.model_input.data(), 1, 224, 224, vf::Pooling::CLS);
    auto got = lib->embedding(lib->photo_by_path(path)->id);
    ASSERT_EQ(got.size(), want.size());
    double dot = 0;
    for (size_t k = 0; k < got.size(); ++k) dot += double(got[k]) * want[k];
    EXPECT_GT(dot, 0.9999) << path;  // fp16 storage: cosine error ~1e-4 at most
    // The colour histogram and pHash are stored too.
    auto hist = vf::detail::internal(*lib).color_hists({lib->photo_by_path(path)->id});
    EXPECT_NEAR(std::accumulate(hist.begin(), hist.end(), 0.0), 1.0, 1e-3);
  }
}

// The pipeline (decoder threads -> engine -> commit thread) stores exactly what ingest_file
// gives for each file: embedding, metadata, the thumbnail byte for byte, and no preview unless
// asked for (then the preview byte for byte); failures pass
// through the commit thread too; and the run reports where its time went.
TEST(Library, PipelineOutputIsIngestFiles) {
  TempDir tmp;
  const std::string photos = tmp.path + "/photos";
  fs::create_directories(photos);
  const std::string cam = kShared + "/photos/camera_exif/metadata-extractor/";
  const std::vector<std::string> sources = {cam + "Canon EOS 5D.jpg", cam + "Canon EOS 450D.jpg", flower(1),
                                            flower(81), flower(161)};
  std::vector<std::string> paths;
  for (size_t i = 0; i < sources.size(); ++i) {
    paths.push_back(photos + "/" + std::to_string(i) + ".jpg");
    fs::copy_file(sources[i], paths.back());
  }
  std::ofstream(photos + "/broken.jpg") << "\xff\xd8\xff\xe0 not really a jpeg";
  auto lib = vf::Library::open(tmp.path + "/lib");
  auto params = params_for(photos);
  params.commit_every = 2;  // several commits on the commit thread
  const vf::IndexReport r = lib->index(params);
  EXPECT_EQ(r.embedded, static_cast<int64_t>(paths.size()));
  EXPECT_EQ(r.failed, 1);
  EXPECT_GT(r.stages.embed, 0);
  EXPECT_GT(r.stages.decode, 0);
  EXPECT_GT(r.stages.pipeline, 0);
  EXPECT_EQ(r.stages.decode_threads, 2);
  // CPU per stage, told apart by thread: each stage did work, and the parts fit in the whole
  // (/proc's clock ticks are 10 ms, hence the slack).
  EXPECT_GT(r.stages.cpu_decode, 0);
  EXPECT_GT(r.stages.cpu_engine, 0);
  EXPECT_GE(r.stages.cpu_commit, 0);
  EXPECT_LE(r.stages.cpu_decode + r.stages.cpu_engine + r.stages.cpu_commit, r.stages.cpu_total * 1.05 + 0.1);

  vf::EngineParams ep;
  ep.model_dir = kTiny;
  ep.threads = 1;
  auto engine = vf::Engine::open(ep);
  auto bytes = [](const std::string& f) {
    std::ifstream in(f, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
  };
  vf::IngestParams indexer;  // the indexer's defaults: no preview (made on first view by the server)
  indexer.preview_size = 0;
  for (const auto& path : paths) {
    const auto want = vf::ingest_file(path, indexer);
    const auto rec = lib->photo_by_path(path);
    ASSERT_TRUE(rec) << path;
    const auto e_want = engine->embed(want.model_input.data(), 1, 224, 224, vf::Pooling::CLS);
    const auto e_got = lib->embedding(rec->id);
    ASSERT_EQ(e_got.size(), e_want.size());
    double dot = 0;
    for (size_t k = 0; k < e_got.size(); ++k) dot += double(e_got[k]) * e_want[k];
    EXPECT_GT(dot, 0.9999) << path;  // fp16 storage
    EXPECT_EQ(rec->meta.content_hash, want.meta.content_hash);
    EXPECT_EQ(rec->meta.width, want.meta.width);
    EXPECT_EQ(rec->meta.height, want.meta.height);
    EXPECT_EQ(rec->meta.orientation, want.meta.orientation);
    EXPECT_EQ(rec->meta.capture_time, want.meta.capture_time);
    EXPECT_EQ(rec->meta.model, want.meta.model);
    EXPECT_EQ(bytes(rec->thumb_path), want.thumb_jpeg) << path;
    EXPECT_TRUE(rec->preview_path.empty()) << rec->preview_path;
  }
  ASSERT_EQ(lib->failures().size(), 1u);
  EXPECT_NE(lib->failures()[0].path.find("broken.jpg"), std::string::npos);
  int preview_files = 0;
  for (const auto& e : fs::recursive_directory_iterator(tmp.path + "/lib/thumbs"))
    preview_files += e.path().string().ends_with(".preview.jpg");
  EXPECT_EQ(preview_files, 0);

  // make_previews (`index --previews`): made at indexing, as ingest_file makes them.
  auto eager = vf::Library::open(tmp.path + "/eager");
  params.make_previews = true;
  EXPECT_EQ(eager->index(params).embedded, static_cast<int64_t>(paths.size()));
  for (const auto& path : paths) {
    const auto rec = eager->photo_by_path(path);
    ASSERT_TRUE(rec && !rec->preview_path.empty()) << path;
    EXPECT_EQ(bytes(rec->preview_path), vf::ingest_file(path).preview_jpeg) << path;
  }
  // The choice is remembered: a later run without it (the server's re-index, --watch) keeps
  // making previews for new photos, until a run says otherwise.
  params.make_previews.reset();
  fs::copy_file(flower(241), photos + "/new.jpg");
  eager->index(params);
  auto added = eager->photo_by_path(photos + "/new.jpg");
  ASSERT_TRUE(added);
  EXPECT_FALSE(added->preview_path.empty());
  params.make_previews = false;
  fs::copy_file(flower(321), photos + "/newer.jpg");
  eager->index(params);
  params.make_previews.reset();
  fs::copy_file(flower(401), photos + "/newest.jpg");
  eager->index(params);
  for (const char* name : {"/newer.jpg", "/newest.jpg"}) {
    auto rec = eager->photo_by_path(photos + name);
    ASSERT_TRUE(rec) << name;
    EXPECT_TRUE(rec->preview_path.empty()) << name;
  }
}

TEST(Library, ModelOrPoolingChangeReembeds) {
  TempDir tmp;
  std::string photos = tmp.path + "/photos";
  fs::create_directories(photos);
  for (int i = 1; i <= 5; ++i) fs::copy_file(flower(i), photos + "/" + std::to_string(i) + ".jpg");
  auto lib = vf::Library::open(tmp.path + "/lib");
  lib->index(params_for(photos));
  std::string old_model = lib->info().model_id;

  auto p = params_for(photos, kShared + "/golden/models/tiny-registers");
  std::vector<std::string> messages;
  auto r = lib->index(p, [&](const vf::IndexProgress& pr) {
    if (!pr.message.empty()) messages.push_back(pr.message);
  });
  EXPECT_EQ(r.reembedded, 5);
  EXPECT_EQ(r.embedded, 5);
  ASSERT_FALSE(messages.empty());
  EXPECT_NE(messages[0].find("re-embedding 5 photos"), std::string::npos) << messages[0];
  EXPECT_NE(lib->info().model_id, old_model);
  expect_consistent(*lib, 5);

  p.pooling = vf::Pooling::Mean;
  r = lib->index(p);
  EXPECT_EQ(r.reembedded, 5);
  EXPECT_EQ(lib->info().pooling, "mean");
  // And nothing more to do afterwards.
  EXPECT_EQ(lib->index(p).embedded, 0);
}

TEST(Library, IndexesAreRebuiltWhenMissingStaleOrCorrupt) {
  TempDir tmp;
  std::string photos = tmp.path + "/photos", libdir = tmp.path + "/lib";
  fs::create_directories(photos);
  for (int i = 1; i <= 6; ++i) fs::copy_file(flower(i), photos + "/" + std::to_string(i) + ".jpg");
  {
    auto lib = vf::Library::open(libdir);
    lib->index(params_for(photos));
  }
  // Missing: a read-only open rebuilds in memory and writes nothing.
  fs::remove(libdir + "/index.faiss");
  {
    auto ro = vf::Library::open(libdir, true);
    expect_consistent(*ro, 6);
    EXPECT_FALSE(fs::exists(libdir + "/index.faiss"));
  }
  // A writer's open rebuilds and saves it.
  {
    auto rw = vf::Library::open(libdir);
    expect_consistent(*rw, 6);
    EXPECT_TRUE(fs::exists(libdir + "/index.faiss"));
  }
  // Corrupt (truncated) files.
  fs::resize_file(libdir + "/index.faiss", 100);
  fs::resize_file(libdir + "/color.faiss", 10);
  {
    auto ro = vf::Library::open(libdir, true);
    expect_consistent(*ro, 6);
  }
  // Stale: an index from an older state of the catalog (stamp generation behind).
  std::string old_index = tmp.path + "/old.faiss", old_stamp = tmp.path + "/old.stamp";
  {
    auto rw = vf::Library::open(libdir);  // repairs
    fs::copy_file(libdir + "/index.faiss", old_index);
    fs::copy_file(libdir + "/index.faiss.stamp", old_stamp);
    fs::copy_file(flower(7), photos + "/7.jpg");
    rw->index(params_for(photos));
  }
  fs::copy_file(old_index, libdir + "/index.faiss", fs::copy_options::overwrite_existing);
  fs::copy_file(old_stamp, libdir + "/index.faiss.stamp", fs::copy_options::overwrite_existing);
  {
    auto ro = vf::Library::open(libdir, true);
    expect_consistent(*ro, 7);
  }
  // Not a library at all: clear errors.
  EXPECT_THROW(vf::Library::open(tmp.path + "/nowhere", true), vf::Error);
  fs::create_directories(tmp.path + "/junk");
  { std::ofstream(tmp.path + "/junk/catalog.sqlite3") << "this is not sqlite"; }
  try {
    vf::Library::open(tmp.path + "/junk", true);
    FAIL() << "opened junk";
  } catch (const vf::Error& e) {
    EXPECT_NE(std::string(e.what()).find("catalog.sqlite3"), std::string::npos) << e.what();
  }
}
