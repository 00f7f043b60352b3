// The Milvus client against a REAL Milvus server (no mocks), driven by milvus_store.sh:
//   VF_MILVUS_ADDR=127.0.0.1:PORT vf_test_milvus_client --gtest_filter='MilvusBeforeRestart.*'
//   (restart the server)
//   VF_MILVUS_ADDR=127.0.0.1:PORT vf_test_milvus_client --gtest_filter='MilvusAfterRestart.*'
// Results are checked against a brute-force inner-product search over the same rows.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <set>

#include "store/milvus/milvus_client.h"
#include "store/milvus/milvus_expr.h"
#include "viewfinder/error.h"

using namespace vf::milvus;

namespace {

constexpr int kDim = 64;
constexpr int kRows = 600;
const char* kCollection = "vf_client_test";

std::string address() {
  const char* a = std::getenv("VF_MILVUS_ADDR");
  return a ? a : "";
}

ClientOptions options() {
  ClientOptions o;
  o.address = address();
  o.upsert_batch_rows = 128;  // several batches
  return o;
}

// Deterministic rows; `generation` changes the ratings (to see a re-upsert replace rows).
std::vector<PhotoRow> make_rows(int generation) {
  std::mt19937 rng(42);
  std::normal_distribution<float> g;
  const char* makes[] = {"Canon", "NIKON CORPORATION", "Sony", ""};
  std::vector<PhotoRow> rows(kRows);
  for (int i = 0; i < kRows; ++i) {
    PhotoRow& r = rows[i];
    r.id = 1000 + i * 3;  // sparse ids, as after deletions in a catalog
    r.vector.resize(kDim);
    double norm = 0;
    for (float& x : r.vector) norm += (x = g(rng)) * x;
    for (float& x : r.vector) x = static_cast<float>(x / std::sqrt(norm));
    PhotoFields& f = r.fields;
    f.make = makes[i % 4];
    f.model = "Model " + std::to_string(i % 7);
    f.lens = i == 7 ? "Macro 100%_x" : (i == 8 ? "Macro 100ABx" : "Lens " + std::to_string(i % 5));
    f.has_capture = i % 10 != 0;
    f.capture_unix = 1600000000 + int64_t(i) * 86400;
    f.path = "/photos/" + std::string(i % 2 ? "Trips" : "home") + "/img_" + std::to_string(i) + ".jpg";
    f.folder = f.path.substr(0, f.path.rfind('/'));
    f.format = i % 3 ? "jpeg" : "heif";
    f.width = 4000 - (i % 3) * 1000;
    f.height = 3000;
    f.has_rating = i % 4 != 3;
    f.rating = (i + generation) % 6;
    f.has_gps = i % 5 == 0;
    f.gps_lat = -60 + (i % 120);
    f.gps_lon = -179 + (i % 358);
  }
  return rows;
}

float dot(const std::vector<float>& a, const std::vector<float>& b) {
  float s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// Exact top-k ids among the rows that `keep` accepts.
template <typename Keep>
std::vector<int64_t> brute_force(const std::vector<PhotoRow>& rows, const std::vector<float>& q, int k, Keep keep) {
  std::vector<std::pair<float, int64_t>> scored;
  for (const auto& r : rows)
    if (keep(r)) scored.push_back({dot(q, r.vector), r.id});
  std::sort(scored.begin(), scored.end(), [](auto& a, auto& b) { return a.first > b.first; });
  std::vector<int64_t> ids;
  for (int i = 0; i < k && i < static_cast<int>(scored.size()); ++i) ids.push_back(scored[i].second);
  return ids;
}

// What the Milvus store adapter asks the catalog: distinct lower-cased values containing a
// text. Here from the rows themselves.
ValueLookup lookup_in(const std::vector<PhotoRow>& rows) {
  return [&rows](const std::string& field, const std::string& needle) {
    std::set<std::string> values;
    for (const auto& r : rows) {
      std::string v = field == "make" ? r.fields.make : field == "model" ? r.fields.model : r.fields.lens;
      for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (v.find(needle) != std::string::npos) values.insert(v);
    }
    return std::vector<std::string>(values.begin(), values.end());
  };
}

std::vector<int64_t> ids_of(const std::vector<SearchHit>& hits) {
  std::vector<int64_t> ids;
  for (const auto& h : hits) ids.push_back(h.id);
  return ids;
}

void expect_search_matches(Client& c, const std::vector<PhotoRow>& rows, const vf::Filters& filters,
                           bool (*keep)(const PhotoRow&), Consistency consistency = Consistency::Strong) {
  for (int qi = 0; qi < 5; ++qi) {
    SearchRequest req;
    req.query = rows[qi * 37].vector;
    req.k = 10;
    req.hnsw_ef = kRows;  // exhaustive at this size: results must equal brute force
    req.expr = filters_to_expr(filters, lookup_in(rows));
    req.consistency = consistency;
    req.output_fields = {"path", "make"};
    auto hits = c.search(kCollection, req);
    EXPECT_EQ(ids_of(hits), brute_force(rows, req.query, 10, keep)) << "query " << qi << " expr " << req.expr;
    for (const auto& h : hits) EXPECT_FALSE(h.fields.path.empty());
  }
}

}  // namespace

TEST(MilvusBeforeRestart, UnreachableServerNamesTheAddress) {
  ClientOptions o;
  o.address = "127.0.0.1:9";  // discard port: nothing listens
  o.connect_timeout_ms = 500;
  try {
    Client c(o);
    FAIL() << "connected to a closed port";
  } catch (const vf::Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot reach Milvus at 127.0.0.1:9"), std::string::npos) << e.what();
    EXPECT_EQ(e.code(), vf::ErrorCode::Network);
  }
}

TEST(MilvusBeforeRestart, CreateUpsertSearchDeleteReupsert) {
  ASSERT_FALSE(address().empty()) << "set VF_MILVUS_ADDR (tests/milvus/milvus_store.sh does)";
  Client c(options());
  std::printf("Milvus server version: %s\n", c.server_version().c_str());
  c.drop_collection(kCollection);
  EXPECT_FALSE(c.has_collection(kCollection));
  c.create_collection(kCollection, kDim);
  EXPECT_TRUE(c.has_collection(kCollection));
  EXPECT_EQ(c.collection_dim(kCollection), kDim);
  c.create_index(kCollection, IndexSpec{});
  c.load(kCollection);

  auto rows = make_rows(0);
  auto t0 = std::chrono::steady_clock::now();
  c.upsert(kCollection, rows);
  const double upsert_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("upserted %d rows of dim %d in %.3f s (%.0f rows/s)\n", kRows, kDim, upsert_s, kRows / upsert_s);
  EXPECT_EQ(c.count(kCollection), kRows);

  expect_search_matches(c, rows, {}, [](const PhotoRow&) { return true; });
  vf::Filters canon;
  canon.make = "ANO";  // a substring, any case: "Canon"
  canon.min_rating = 2;
  expect_search_matches(c, rows, canon, [](const PhotoRow& r) {
    return r.fields.make == "Canon" && r.fields.has_rating && r.fields.rating >= 2;
  });
  vf::Filters box;
  box.gps_bbox = std::array<double, 4>{-60, -179, 60, 179};
  box.date_from = 1600000000 + 50 * 86400;
  box.path_prefix = "/photos/home/";
  expect_search_matches(c, rows, box, [](const PhotoRow& r) {
    return r.fields.has_gps && r.fields.has_capture && r.fields.capture_unix >= 1600000000 + 50 * 86400 &&
           r.fields.path.rfind("/photos/home/", 0) == 0;
  });
  vf::Filters landscape_heif;
  landscape_heif.orientation = "landscape";
  landscape_heif.format = "HEIC";
  landscape_heif.min_width = 3500;
  expect_search_matches(c, rows, landscape_heif, [](const PhotoRow& r) {
    return r.fields.width > r.fields.height && r.fields.format == "heif" && r.fields.width >= 3500;
  });

  // Wildcards in a filter value match literally: only "Macro 100%_x", not "Macro 100ABx".
  vf::Filters literal;
  literal.lens = "100%_X";
  auto hits = c.query(kCollection, filters_to_expr(literal, lookup_in(rows)), {"lens"}, 100);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].fields.lens, "Macro 100%_x");
  // '_' in a path prefix is literal (Milvus 2.3's like knows only a trailing '%').
  vf::Filters prefix;
  prefix.path_prefix = "/photos/home/img_1";
  expect_search_matches(c, rows, prefix,
                        [](const PhotoRow& r) { return r.fields.path.rfind("/photos/home/img_1", 0) == 0; });
  vf::Filters nothing;
  nothing.model = "no such model";
  SearchRequest none;
  none.query = rows[0].vector;
  none.expr = filters_to_expr(nothing, lookup_in(rows));
  EXPECT_TRUE(c.search(kCollection, none).empty());

  // Delete a fifth, then re-upsert everything with new ratings: no duplicates.
  std::vector<int64_t> gone;
  for (int i = 0; i < kRows; i += 5) gone.push_back(rows[i].id);
  c.remove(kCollection, gone);
  EXPECT_EQ(c.count(kCollection), kRows - static_cast<int64_t>(gone.size()));
  SearchRequest self;
  self.query = rows[0].vector;
  self.k = 3;
  for (const auto& h : c.search(kCollection, self)) EXPECT_NE(h.id, rows[0].id);
  auto rows1 = make_rows(1);
  c.upsert(kCollection, rows1);
  c.upsert(kCollection, rows1);  // a crashed-and-resumed run writes the same batch again
  EXPECT_EQ(c.count(kCollection, Consistency::Session), kRows);
  expect_search_matches(c, rows1, canon, [](const PhotoRow& r) {
    return r.fields.make == "Canon" && r.fields.has_rating && r.fields.rating >= 2;
  }, Consistency::Session);
  c.flush(kCollection);
}

// Reads everything back in small id-range batches and compares with what was written.
static void expect_collection_holds(Client& c, const std::vector<PhotoRow>& rows, Consistency consistency) {
  auto back = c.read_id_range(kCollection, 0, 1 << 30, /*with_vectors=*/true, /*batch_rows=*/200, consistency);
  ASSERT_EQ(back.size(), rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(back[i].id, rows[i].id);
    EXPECT_EQ(back[i].vector, rows[i].vector);
    EXPECT_EQ(back[i].fields.path, rows[i].fields.path);
    EXPECT_EQ(back[i].fields.make, rows[i].fields.make);
    EXPECT_EQ(back[i].fields.rating, rows[i].fields.rating);
    EXPECT_EQ(back[i].fields.has_gps, rows[i].fields.has_gps);
    EXPECT_DOUBLE_EQ(back[i].fields.gps_lon, rows[i].fields.gps_lon);
  }
}

TEST(MilvusBeforeRestart, ReadsBackEveryRowInBatches) {
  Client c(options());
  expect_collection_holds(c, make_rows(1), Consistency::Strong);
}

TEST(MilvusAfterRestart, DataSurvivesARestart) {
  ASSERT_FALSE(address().empty()) << "set VF_MILVUS_ADDR (tests/milvus/milvus_store.sh does)";
  Client c(options());
  ASSERT_TRUE(c.has_collection(kCollection));
  c.load(kCollection);
  EXPECT_EQ(c.count(kCollection), kRows);
  auto rows = make_rows(1);
  // No writes since the restart: Bounded reads see everything, without Strong's wait for
  // the next time tick (~200 ms per call on Milvus 2.3).
  expect_collection_holds(c, rows, Consistency::Bounded);
  expect_search_matches(c, rows, {}, [](const PhotoRow&) { return true; }, Consistency::Bounded);
  SearchRequest req;
  req.query = rows[1].vector;
  req.k = 10;
  for (Consistency level : {Consistency::Strong, Consistency::Bounded}) {
    req.consistency = level;
    const int n = 20;
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) c.search(kCollection, req);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / n;
    std::printf("search k=10 over %d rows: %.2f ms per query (%s)\n", kRows, ms,
                level == Consistency::Strong ? "strong" : "bounded");
  }
  c.drop_collection(kCollection);
}

// Throughput figures for docs/scale.md, only when asked for (not a pass/fail speed goal):
//   VF_MILVUS_BENCH_ROWS=20000 VF_MILVUS_BENCH_DIM=768 vf_test_milvus_client --gtest_filter='MilvusBench.*'
TEST(MilvusBench, UpsertAndSearchRates) {
  const char* rows_env = std::getenv("VF_MILVUS_BENCH_ROWS");
  if (!rows_env || address().empty()) GTEST_SKIP() << "set VF_MILVUS_BENCH_ROWS and VF_MILVUS_ADDR";
  const int n = std::atoi(rows_env);
  const int dim = std::getenv("VF_MILVUS_BENCH_DIM") ? std::atoi(std::getenv("VF_MILVUS_BENCH_DIM")) : 768;
  const std::string name = "vf_bench";
  Client c(options());
  c.drop_collection(name);
  c.create_collection(name, dim);
  c.create_index(name, IndexSpec{});
  c.load(name);
  std::mt19937 rng(7);
  std::normal_distribution<float> g;
  std::vector<PhotoRow> rows(n);
  for (int i = 0; i < n; ++i) {
    rows[i].id = i;
    rows[i].vector.resize(dim);
    for (float& x : rows[i].vector) x = g(rng);
    rows[i].fields.path = "/p/" + std::to_string(i) + ".jpg";
    rows[i].fields.rating = i % 6;
    rows[i].fields.has_rating = true;
  }
  using std::chrono::steady_clock;
  auto t0 = steady_clock::now();
  c.upsert(name, rows);
  const double up_s = std::chrono::duration<double>(steady_clock::now() - t0).count();
  t0 = steady_clock::now();
  c.flush(name);
  const double flush_s = std::chrono::duration<double>(steady_clock::now() - t0).count();
  EXPECT_EQ(c.count(name), n);
  std::printf("upsert %d x %d: %.2f s (%.0f rows/s), flush %.2f s\n", n, dim, up_s, n / up_s, flush_s);
  for (const char* expr : {"", "rating >= 4"}) {
    std::vector<double> ms;
    SearchRequest req;
    req.k = 10;
    req.expr = expr;
    req.consistency = Consistency::Bounded;
    for (int i = 0; i < 50; ++i) {
      req.query = rows[(i * 7919) % n].vector;
      auto q0 = steady_clock::now();
      c.search(name, req);
      ms.push_back(std::chrono::duration<double, std::milli>(steady_clock::now() - q0).count());
    }
    std::sort(ms.begin(), ms.end());
    std::printf("search k=10 bounded, filter \"%s\": p50 %.2f ms, p99 %.2f ms\n", expr, ms[ms.size() / 2],
                ms[ms.size() * 99 / 100]);
  }
  c.drop_collection(name);
}
