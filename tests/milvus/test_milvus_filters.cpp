// A filtered search on Milvus returns exactly what the FAISS path returns, for every kind of
// filter vf::Filters has (REAL Milvus server, started by milvus_store.sh; VF_MILVUS_ADDR).
//
// The same photos go into a catalog-shaped SQLite table (the filter columns, as FilterIndex
// keeps them), a FAISS Flat store and a Milvus store (through the public store API, which
// translates the filters with filters_to_expr). The FAISS path is what the searcher does:
// the catalog's SQL (build_filter_sql) gives the allowed ids, FAISS searches among them.
// Milvus gets the Filters themselves. Both must return the same ids: all matches (k = every
// photo) and the same top 10 in the same order.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <map>
#include <random>
#include <set>

#include "catalog/filter_sql.h"
#include "catalog/photo_row.h"
#include "catalog/sqlite.h"
#include "store/vector_store.h"
#include "viewfinder/search.h"

using vf::Filters;
namespace store = vf::store;

namespace {

constexpr int kDim = 32;
constexpr int kPhotos = 360;

struct Photo {
  int64_t id;
  std::vector<float> v;
  store::PhotoScalars s;
};

std::vector<Photo> make_photos() {
  std::mt19937 rng(7);
  std::normal_distribution<float> g;
  const char* makes[] = {"Canon", "Canon Inc.", "NIKON CORPORATION", "", "canon"};
  const char* models[] = {"EOS 5D", "EOS 5D Mark III", "D850", "", "EOS R5"};
  const char* lenses[] = {"RF 50mm F1.8", "EF 50mm f/1.8 II", "100%_Macro", "", "RF 50mm"};
  const char* folders[] = {"/photos/a_b", "/photos/aXb", "/photos/a_b-old", "/Photos/a_b"};
  const char* formats[] = {"jpeg", "heif", "png", "tiff"};
  std::vector<Photo> out(kPhotos);
  for (int i = 0; i < kPhotos; ++i) {
    Photo& p = out[i];
    p.id = 10 + 7 * i;
    p.v.resize(kDim);
    double norm = 0;
    for (float& x : p.v) norm += (x = g(rng)) * x;
    for (float& x : p.v) x = static_cast<float>(x / std::sqrt(norm));
    store::PhotoScalars& s = p.s;
    s.folder = folders[i % 4];
    s.path = s.folder + "/img_" + std::to_string(i) + ".jpg";
    s.format = formats[i % 4];
    s.make = makes[i % 5];
    s.model = models[(i / 5) % 5];
    s.lens = lenses[(i / 3) % 5];
    s.width = 1000 + 500 * (i % 3);
    s.height = 1500 - 250 * (i % 5);
    if (i % 6) s.capture_unix = 1500000000 + int64_t(i) * 40000;
    if (i % 4) s.file_time_unix = 1500000000 + int64_t(kPhotos - i) * 50000;
    if (i % 7 != 3) s.rating = i % 6 - 1;  // -1..4 (rejected photos are rated -1)
    if (i % 3 == 0) {
      s.gps_lat = -60 + (i % 120);
      s.gps_lon = -180 + (i * 7 % 360);
    }
  }
  return out;
}

// The catalog side: the filter columns (photo_row.cpp's filter_table_ddl), one row a photo.
vf::detail::Db make_catalog(const std::vector<Photo>& photos) {
  vf::detail::Db db(":memory:", false);
  db.exec(vf::catalog::filter_table_ddl());
  vf::detail::Stmt ins(db.get(),
                       "INSERT INTO photos (id, path, folder, format, width, height, capture_unix, file_time_unix, "
                       "make, model, lens, gps_lat, gps_lon, rating) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  for (const auto& p : photos) {
    const auto& s = p.s;
    ins.bind(1, p.id).bind(2, s.path).bind(3, s.folder).bind_text_or_null(4, s.format);
    ins.bind(5, s.width).bind(6, s.height).bind(7, s.capture_unix).bind(8, s.file_time_unix);
    ins.bind_text_or_null(9, s.make).bind_text_or_null(10, s.model).bind_text_or_null(11, s.lens);
    ins.bind(12, s.gps_lat).bind(13, s.gps_lon).bind(14, s.rating);
    ins.run();
  }
  return db;
}

std::vector<int64_t> allowed_ids(sqlite3* db, const Filters& f) {
  auto where = vf::catalog::build_filter_sql(f, "1");
  vf::detail::Stmt s(db, "SELECT id FROM photos WHERE " + where.clause + " ORDER BY id");
  s.bind_all(where.binds);
  std::vector<int64_t> ids;
  while (s.step()) ids.push_back(s.col_int64(0));
  return ids;
}

std::vector<int64_t> ids_of(const std::vector<store::Neighbor>& hits) {
  std::vector<int64_t> ids;
  for (const auto& h : hits) ids.push_back(h.id);
  return ids;
}

class MilvusFilters : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const char* addr = std::getenv("VF_MILVUS_ADDR");
    if (!addr || !*addr) GTEST_SKIP() << "VF_MILVUS_ADDR not set (run through tests/milvus/milvus_store.sh)";
    photos_ = new std::vector<Photo>(make_photos());
    catalog_ = new vf::detail::Db(make_catalog(*photos_));
    store::RemoteStoreOptions remote;
    // As the library answers it (store_sync.cpp): distinct lower-cased values containing the text.
    remote.lookup = [](const std::string& field, const std::string& needle) {
      vf::detail::Stmt s(catalog_->get(), "SELECT DISTINCT lower(" + field + ") FROM photos WHERE instr(lower(coalesce(" +
                                              field + ", '')), ?) > 0");
      s.bind(1, needle);
      std::vector<std::string> out;
      while (s.step()) out.push_back(s.col_text(0));
      return out;
    };
    const std::string spec = std::string("milvus://") + addr + "/vf_filter_test";
    milvus_ = store::make_store(spec, kDim, "", remote).release();
    milvus_->clear();  // a previous run's collection: start from nothing
    delete milvus_;
    milvus_ = store::make_store(spec, kDim, "", remote).release();
    faiss_ = store::make_store("faiss", kDim, "Flat").release();
    std::vector<int64_t> ids;
    std::vector<float> x;
    std::vector<store::PhotoScalars> scalars;
    for (const auto& p : *photos_) {
      ids.push_back(p.id);
      x.insert(x.end(), p.v.begin(), p.v.end());
      scalars.push_back(p.s);
    }
    milvus_->upsert(ids.data(), x.data(), kPhotos, &scalars);
    faiss_->upsert(ids.data(), x.data(), kPhotos, nullptr);
  }
  static void TearDownTestSuite() {
    delete milvus_;
    delete faiss_;
    delete catalog_;
    delete photos_;
  }

  // Same ids from FAISS (catalog's allowed ids) and Milvus (the filters), for a few queries.
  void expect_same(const Filters& f, const char* what) {
    const auto allowed = allowed_ids(catalog_->get(), f);
    ASSERT_GT(allowed.size(), 0u) << what << ": the test data must have matches";
    ASSERT_LT(allowed.size(), size_t(kPhotos)) << what << ": the filter must leave photos out";
    for (int q : {0, 101, 257}) {
      const float* query = (*photos_)[q].v.data();
      for (int k : {kPhotos, 10}) {
        store::SearchFilter by_ids{&allowed, nullptr}, by_filters{nullptr, &f};
        auto want = faiss_->search(query, 1, k, by_ids);
        auto got = milvus_->search(query, 1, k, by_filters);
        ASSERT_TRUE(want && got) << what;
        auto w = ids_of((*want)[0]), g = ids_of((*got)[0]);
        if (k == kPhotos) {  // every match: the same set (ties may order differently)
          std::sort(w.begin(), w.end());
          std::sort(g.begin(), g.end());
          EXPECT_EQ(w, allowed) << what;
        }
        EXPECT_EQ(g, w) << what << ", query " << q << ", k " << k;
      }
    }
  }

  static std::vector<Photo>* photos_;
  static vf::detail::Db* catalog_;
  static store::VectorStore* milvus_;
  static store::VectorStore* faiss_;
};
std::vector<Photo>* MilvusFilters::photos_ = nullptr;
vf::detail::Db* MilvusFilters::catalog_ = nullptr;
store::VectorStore* MilvusFilters::milvus_ = nullptr;
store::VectorStore* MilvusFilters::faiss_ = nullptr;

Filters params(std::map<std::string, std::string> p) { return vf::filters_from_params(p); }

TEST_F(MilvusFilters, DatesOnCaptureTimeOnly) {
  expect_same(params({{"date_from", "1500800000"}, {"date_to", "1508000000"}}), "capture date range");
}
TEST_F(MilvusFilters, DatesIncludingFileTimes) {
  expect_same(params({{"date_from", "1500800000"}, {"date_to", "1508000000"}, {"include_file_times", "1"}}),
              "date range with file times");
  expect_same(params({{"date_from", "1509000000"}, {"include_file_times", "yes"}}), "from-date with file times");
}
TEST_F(MilvusFilters, MakeModelLensSubstrings) {
  expect_same(params({{"make", "CANON"}}), "make substring");
  expect_same(params({{"model", "5d"}}), "model substring");
  expect_same(params({{"lens", "0%_m"}}), "lens substring with % and _");
}
TEST_F(MilvusFilters, MakeModelLensExact) {
  expect_same(params({{"make", "=Canon"}}), "exact make (not 'Canon Inc.', not 'canon')");
  expect_same(params({{"model", "=EOS 5D"}}), "exact model (not the Mark III)");
  expect_same(params({{"camera", "=EOS R5"}}), "exact camera");
  expect_same(params({{"lens", "=RF 50mm"}}), "exact lens (not 'RF 50mm F1.8')");
}
TEST_F(MilvusFilters, FolderAndPathPrefix) {
  expect_same(params({{"folder", "/photos/a_b"}}), "folder (not a_b-old, not aXb)");
  expect_same(params({{"path_prefix", "/photos/a_b"}}), "raw path prefix");
}
TEST_F(MilvusFilters, FormatOrientationSizes) {
  expect_same(params({{"format", "JPG"}}), "format");
  expect_same(params({{"orientation", "portrait"}}), "portrait");
  expect_same(params({{"orientation", "square"}}), "square");
  expect_same(params({{"min_width", "1500"}, {"min_height", "1000"}}), "minimum size");
}
TEST_F(MilvusFilters, RatingAndGps) {
  expect_same(params({{"min_rating", "2"}}), "minimum rating");
  expect_same(params({{"min_rating", "-1"}}), "any rating (unrated photos excluded)");
  expect_same(params({{"gps_bbox", "-30,-100,40,120"}}), "GPS box");
  expect_same(params({{"gps_bbox", "-60,150,60,-150"}}), "GPS box across the antimeridian");
}
TEST_F(MilvusFilters, Combined) {
  expect_same(params({{"make", "canon"}, {"folder", "/photos/a_b"}, {"date_from", "1500000000"},
                      {"include_file_times", "1"}, {"orientation", "landscape"}}),
              "combined");
}

// What a reader's sync reads (reader_mirror.cpp): every row's fields without the vectors,
// then the vectors of chosen ids, exactly as stored; an id the collection lacks is left out.
TEST_F(MilvusFilters, RowsWithoutVectorsThenVectorsById) {
  std::vector<int64_t> ids;
  std::vector<std::string> paths;
  bool any_vectors = false;
  milvus_->scan_rows(100, [&](const int64_t* id, const float* x, const store::PhotoScalars* p, int64_t n) {
    any_vectors = any_vectors || x != nullptr;
    for (int64_t i = 0; i < n; ++i) ids.push_back(id[i]), paths.push_back(p[i].path);
  }, false);
  EXPECT_FALSE(any_vectors);
  ASSERT_EQ(ids.size(), size_t(kPhotos));
  std::map<int64_t, const Photo*> by_id;
  for (const auto& ph : *photos_) by_id[ph.id] = &ph;
  for (size_t i = 0; i < ids.size(); ++i) {
    ASSERT_TRUE(by_id.count(ids[i])) << ids[i];
    EXPECT_EQ(paths[i], by_id[ids[i]]->s.path);
  }
  const std::vector<int64_t> wanted = {(*photos_)[3].id, (*photos_)[3].id + 1, (*photos_)[200].id, (*photos_)[359].id};
  std::vector<int64_t> got;
  milvus_->fetch_vectors(wanted, [&](const int64_t* id, const float* x, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
      got.push_back(id[i]);
      EXPECT_EQ(std::vector<float>(x + i * kDim, x + (i + 1) * kDim), by_id[id[i]]->v) << id[i];
    }
  });
  EXPECT_EQ(got, (std::vector<int64_t>{wanted[0], wanted[2], wanted[3]}));
}

// What a reader's sync costs, for docs/scale.md (a figure, not a pass/fail goal):
//   VF_MILVUS_BENCH_ROWS=20000 VF_MILVUS_ADDR=... vf_test_milvus_filters --gtest_filter='MilvusBench.*'
// Reads a 768-d collection of n rows with their fields, as the sync did before (vectors too)
// and as it does now (fields, then the vectors of 1% changed rows).
TEST(MilvusBench, ReaderSyncReads) {
  const char* rows_env = std::getenv("VF_MILVUS_BENCH_ROWS");
  const char* addr = std::getenv("VF_MILVUS_ADDR");
  if (!rows_env || !addr) GTEST_SKIP() << "set VF_MILVUS_BENCH_ROWS and VF_MILVUS_ADDR";
  const int n = std::atoi(rows_env), dim = 768;
  const std::string spec = std::string("milvus://") + addr + "/vf_sync_bench";
  store::make_store(spec, dim)->clear();
  auto s = store::make_store(spec, dim);
  std::mt19937 rng(11);
  std::normal_distribution<float> g;
  for (int at = 0; at < n; at += 1000) {
    const int m = std::min(1000, n - at);
    std::vector<int64_t> ids(m);
    std::vector<float> x(static_cast<size_t>(m) * dim);
    std::vector<store::PhotoScalars> fields(m);
    for (int i = 0; i < m; ++i) {
      ids[i] = at + i + 1;
      fields[i].path = "/share/photos/2024/IMG_" + std::to_string(ids[i]) + ".jpg";
      fields[i].folder = "/share/photos/2024";
      fields[i].format = "jpeg";
      fields[i].make = "Canon";
      fields[i].content_hash = std::to_string(ids[i] * 2654435761u);
    }
    for (float& v : x) v = g(rng);
    s->upsert(ids.data(), x.data(), m, &fields);
  }
  using clock = std::chrono::steady_clock;
  auto timed = [](const auto& fn) {
    const auto t0 = clock::now();
    fn();
    return std::chrono::duration<double>(clock::now() - t0).count();
  };
  int64_t rows = 0;
  std::vector<int64_t> changed;
  const auto on_rows = [&](const int64_t* id, const float*, const store::PhotoScalars*, int64_t m) {
    rows += m;
    for (int64_t i = 0; i < m; ++i)
      if (id[i] % 100 == 0) changed.push_back(id[i]);
  };
  const double with_vectors = timed([&] { s->scan_rows(4096, on_rows, true); });
  changed.clear();
  int64_t fetched = 0;
  const double fields_only = timed([&] { s->scan_rows(4096, on_rows, false); });
  const double fetch = timed([&] { s->fetch_vectors(changed, [&](const int64_t*, const float*, int64_t m) { fetched += m; }); });
  EXPECT_EQ(rows, 2 * int64_t(n));
  EXPECT_EQ(fetched, int64_t(changed.size()));
  std::printf("sync reads of %d x %d: fields + vectors %.2f s; fields only %.2f s + vectors of %zu changed rows %.2f s\n",
              n, dim, with_vectors, fields_only, changed.size(), fetch);
  s->clear();
}

}  // namespace
