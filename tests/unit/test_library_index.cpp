// FAISS plumbing of the library: index choice by size, ids == catalog ids, atomic save with
// stamps, and detection of corrupt or missing files. (Vectors here are synthetic: these tests
// are about the index data structures, not about embeddings.)
#include <faiss/Index.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVF.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "common/half.h"
#include "catalog/schema.h"
#include "store/faiss_index.h"
#include "test_vectors.h"

namespace fs = std::filesystem;
using namespace vf::detail;
using namespace vf::store;

namespace {

using vf::test::unit_vectors;

struct TempDir {
  std::string path;
  TempDir() {
    char t[] = "/tmp/vf-test-libidx-XXXXXX";
    path = mkdtemp(t);
  }
  ~TempDir() { fs::remove_all(path); }
};

}  // namespace

TEST(LibraryIndex, ChoosesTypeBySize) {
  EXPECT_EQ(choose_factory(0, 768), "Flat");
  EXPECT_EQ(choose_factory(99'999, 768), "Flat");
  std::string ivf = choose_factory(100'000, 768);
  EXPECT_EQ(ivf.rfind("IVF", 0), 0u) << ivf;
  // nlist ~ 4*sqrt(n): 1265 -> rounded up to a multiple of 64
  EXPECT_EQ(ivf, "IVF1280,Flat");
  EXPECT_EQ(choose_factory(999'999, 768), "IVF4032,Flat");
  std::string big = choose_factory(1'000'000, 768);
  EXPECT_TRUE(big.find("PQ") != std::string::npos || big.find("SQ8") != std::string::npos) << big;
  EXPECT_EQ(choose_color_factory(10), "Flat");
  EXPECT_EQ(choose_color_factory(200'000), "SQ8");
}

TEST(LibraryIndex, FlatReturnsCatalogIdsAndExactScores) {
  const int d = 32;
  auto x = unit_vectors(50, d, 1);
  std::vector<int64_t> ids(50);
  for (int i = 0; i < 50; ++i) ids[i] = 1000 + 7 * i;  // sparse, like a catalog after deletions
  auto index = build_index("Flat", d, x.data(), ids.data(), 50);
  ASSERT_EQ(index->ntotal, 50);
  EXPECT_EQ(describe_index(index.get()), "Flat");
  float D[3];
  faiss::Index::idx_t I[3];
  index->search(1, &x[10 * d], 3, D, I);
  EXPECT_EQ(I[0], 1070);
  EXPECT_NEAR(D[0], 1.0f, 1e-5);
  EXPECT_TRUE(supports_remove(index.get()));
  faiss::IDSelectorBatch sel(1, &ids[10]);
  EXPECT_EQ(index->remove_ids(sel), 1u);
  index->search(1, &x[10 * d], 1, D, I);
  EXPECT_NE(I[0], 1070);
}

TEST(LibraryIndex, IvfStoresIdsNativelyAndKeepsNprobe) {
  const int d = 16, n = 2000;
  auto x = unit_vectors(n, d, 2);
  std::vector<int64_t> ids(n);
  for (int i = 0; i < n; ++i) ids[i] = i * 3 + 5;
  auto index = build_index("IVF64,Flat", d, x.data(), ids.data(), n);
  EXPECT_NE(dynamic_cast<faiss::IndexIVF*>(index.get()), nullptr);
  EXPECT_EQ(describe_index(index.get()), "IVF64,Flat");
  EXPECT_EQ(dynamic_cast<faiss::IndexIVF*>(index.get())->nprobe, 16u);
  float D;
  faiss::Index::idx_t I;
  index->search(1, &x[123 * d], 1, &D, &I);
  EXPECT_EQ(I, 123 * 3 + 5);
  EXPECT_TRUE(supports_remove(index.get()));
}

TEST(LibraryIndex, HnswIsWrappedAndCannotRemove) {
  const int d = 16, n = 500;
  auto x = unit_vectors(n, d, 3);
  std::vector<int64_t> ids(n);
  for (int i = 0; i < n; ++i) ids[i] = i + 1;
  auto index = build_index("HNSW16,SQ8", d, x.data(), ids.data(), n);
  EXPECT_EQ(describe_index(index.get()), "HNSW16,SQ8");
  EXPECT_FALSE(supports_remove(index.get()));
  float D;
  faiss::Index::idx_t I;
  index->search(1, &x[42 * d], 1, &D, &I);
  EXPECT_EQ(I, 43);
}

TEST(LibraryIndex, BadFactoryIsAClearError) {
  const int d = 8;
  auto x = unit_vectors(10, d, 4);
  std::vector<int64_t> ids(10, 1);
  try {
    build_index("Bogus77", d, x.data(), ids.data(), 10);
    FAIL() << "expected vf::Error";
  } catch (const vf::Error& e) {
    EXPECT_NE(std::string(e.what()).find("Bogus77"), std::string::npos);
  }
  // An IVF needs at least nlist training vectors.
  EXPECT_THROW(build_index("IVF64,Flat", d, x.data(), ids.data(), 10), vf::Error);
}

TEST(LibraryIndex, AtomicSaveLoadAndCorruption) {
  TempDir tmp;
  const int d = 24;
  auto x = unit_vectors(100, d, 5);
  std::vector<int64_t> ids(100);
  for (int i = 0; i < 100; ++i) ids[i] = i + 1;
  auto index = build_index("Flat", d, x.data(), ids.data(), 100);
  std::string path = tmp.path + "/index.faiss";
  nlohmann::json stamp = {{"generation", 7}, {"count", 100}};
  save_index_atomic(index.get(), path, stamp);
  for (auto& e : fs::directory_iterator(tmp.path))  // no temp files left behind
    EXPECT_EQ(e.path().string().find(".tmp"), std::string::npos) << e.path();
  nlohmann::json got;
  std::string why;
  auto loaded = load_index(path, &got, &why);
  ASSERT_TRUE(loaded) << why;
  EXPECT_EQ(loaded->ntotal, 100);
  EXPECT_EQ(got["generation"], 7);

  // Truncated file: a clear "unreadable", never a crash.
  fs::resize_file(path, fs::file_size(path) / 2);
  EXPECT_FALSE(load_index(path, &got, &why));
  EXPECT_NE(why.find("unreadable"), std::string::npos) << why;
  // Missing stamp.
  save_index_atomic(index.get(), path, stamp);
  fs::remove(path + ".stamp");
  EXPECT_FALSE(load_index(path, &got, &why));
  EXPECT_EQ(why, "stamp missing");
  fs::remove(path);
  EXPECT_FALSE(load_index(path, &got, &why));
  EXPECT_EQ(why, "missing");
}

TEST(LibraryIndex, ColourVectorsAreUnitAndGiveBhattacharyya) {
  std::vector<float> a(512, 0.0f), b(512, 0.0f), va(512), vb(512);
  a[0] = 0.5f;
  a[7] = 0.5f;
  b[0] = 1.0f;
  color_index_vector(a.data(), va.data());
  color_index_vector(b.data(), vb.data());
  double na = 0, dot = 0;
  for (int i = 0; i < 512; ++i) {
    na += va[i] * va[i];
    dot += va[i] * vb[i];
  }
  EXPECT_NEAR(na, 1.0, 1e-6);
  EXPECT_NEAR(dot, std::sqrt(0.5), 1e-6);  // sum sqrt(a_i b_i)
}

TEST(LibraryIndex, Fp16EmbeddingRoundTrip) {
  auto x = unit_vectors(1, 768, 6);
  auto h = encode_embedding(x.data(), 768);
  std::vector<float> y(768);
  decode_embedding(h.data(), 768 * 2, y.data(), 768);
  double dot = 0, ny = 0;
  for (int i = 0; i < 768; ++i) {
    dot += x[i] * y[i];
    ny += y[i] * y[i];
  }
  // What docs/library.md claims: cosine error ~1e-7..1e-4, irrelevant for ranking.
  EXPECT_GT(dot / std::sqrt(ny), 1.0 - 1e-4);
  // A blob of the wrong size decodes to zeros rather than garbage.
  decode_embedding(h.data(), 10, y.data(), 768);
  EXPECT_EQ(y[0], 0.0f);
}
