// The catalog's photo row codec (one column table drives DDL, UPSERT, copy and record reads)
// and the VectorStore contract as FaissStore implements it (upsert replaces, remove, filtered
// search, scan, the store factory). Real SQLite (in memory) and real FAISS.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>

#include "catalog/filter_sql.h"
#include "catalog/photo_row.h"
#include "catalog/schema.h"
#include "catalog/sqlite.h"
#include "store/faiss_store.h"
#include "store/vector_store.h"
#include "test_vectors.h"

using vf::detail::Db;
using vf::detail::Stmt;

namespace {

using vf::test::unit_vectors;

vf::catalog::PhotoRow sample_row() {
  vf::catalog::PhotoRow r;
  r.path = "/photos/2020/a.jpg";
  r.folder = "/photos/2020";
  r.meta.format = "jpeg";
  r.meta.file_size = 12345;
  r.meta.mtime_ns = 1'600'000'000'000'000'000;
  r.meta.content_hash = "00112233445566778899aabbccddeeff";
  r.meta.width = 4000;
  r.meta.height = 3000;
  r.meta.orientation = 6;
  r.meta.capture_time = "2020-05-01T10:00:00";
  r.meta.capture_unix = 1588327200;
  r.meta.make = "Canon";
  r.meta.aperture_f = 2.8;
  r.meta.iso = 400;
  r.meta.rating = 4;
  r.meta.keywords = {"beach", "sun"};
  r.thumb_rel = "thumbs/00/x.jpg";
  r.color_hist.assign(512, 1.0f / 512);
  r.has_phash = true;
  r.phash = 0xfedcba9876543210ull;
  std::vector<float> e = unit_vectors(1, 8, 1);
  r.embedding = vf::detail::encode_embedding(e.data(), 8);
  r.model_id = "m";
  r.pooling = "cls";
  r.precision = "fp32";
  r.indexed_at = "2026-01-01T00:00:00Z";
  return r;
}

}  // namespace

TEST(CatalogPhotoRow, SchemaComesFromTheColumnTable) {
  Db db(":memory:", false);
  vf::detail::create_schema(db);
  std::set<std::string> table;
  Stmt info(db.get(), "SELECT name FROM pragma_table_info('photos')");
  while (info.step()) table.insert(info.col_text(0));
  std::set<std::string> declared;
  for (const auto& c : vf::catalog::photo_columns()) declared.insert(c.name);
  EXPECT_EQ(table, declared);
  EXPECT_EQ(declared.size(), 41u);  // + file_time, file_time_unix, meta_version
}

// A catalog of an older version gains the new columns at open (ALTER TABLE from the column
// table), and its 'file:mtime' capture times move to the file-time columns.
TEST(CatalogPhotoRow, OldCatalogGainsColumnsAndFileTimesMove) {
  Db db(":memory:", false);
  db.exec("CREATE TABLE photos (id INTEGER PRIMARY KEY AUTOINCREMENT, path TEXT NOT NULL UNIQUE, folder TEXT NOT NULL,"
          " capture_time TEXT, capture_offset TEXT, capture_time_source TEXT, capture_unix INTEGER)");
  db.exec("INSERT INTO photos (path, folder, capture_time, capture_time_source, capture_unix) VALUES"
          " ('/p/a.jpg', '/p', '2020-01-02T03:04:05', 'file:mtime', 1577934245),"
          " ('/p/b.jpg', '/p', '2019-05-06T07:08:09', 'exif:DateTimeOriginal', 1557126489)");
  EXPECT_FALSE(vf::detail::schema_is_current(db.get()));
  vf::detail::create_schema(db);
  EXPECT_TRUE(vf::detail::schema_is_current(db.get()));
  Stmt s(db.get(), "SELECT path, capture_unix IS NULL, coalesce(file_time_unix, 0), coalesce(file_time, '') FROM photos ORDER BY path");
  ASSERT_TRUE(s.step());
  EXPECT_EQ(s.col_int(1), 1);
  EXPECT_EQ(s.col_int64(2), 1577934245);
  EXPECT_EQ(s.col_text(3), "2020-01-02T03:04:05");
  ASSERT_TRUE(s.step());
  EXPECT_EQ(s.col_int(1), 0);  // a real capture time stays
  EXPECT_EQ(s.col_int64(2), 0);
}

TEST(CatalogPhotoRow, UpsertCopyAndRecordRoundTrip) {
  Db db(":memory:", false);
  vf::detail::create_schema(db);
  auto row = sample_row();
  Stmt ins(db.get(), vf::catalog::photo_upsert_sql());
  vf::catalog::bind_photo_row(ins, row);
  ins.run();
  const int64_t id = sqlite3_last_insert_rowid(db.get());
  ASSERT_GT(id, 0);

  Stmt sel(db.get(), "SELECT " + vf::catalog::photo_record_columns() + " FROM photos WHERE id = ?");
  sel.bind(1, id);
  ASSERT_TRUE(sel.step());
  auto rec = vf::catalog::read_photo_record(sel, "/lib");
  EXPECT_EQ(rec.path, row.path);
  EXPECT_EQ(rec.folder, row.folder);
  EXPECT_EQ(rec.meta.orientation, 6);
  EXPECT_EQ(rec.meta.capture_unix, 1588327200);
  EXPECT_EQ(rec.meta.make, "Canon");
  EXPECT_EQ(rec.meta.model, "");  // NULL
  ASSERT_TRUE(rec.meta.aperture_f.has_value());
  EXPECT_DOUBLE_EQ(*rec.meta.aperture_f, 2.8);
  EXPECT_FALSE(rec.meta.focal_length_mm.has_value());
  EXPECT_EQ(rec.meta.rating, 4);
  EXPECT_EQ(rec.meta.keywords, (std::vector<std::string>{"beach", "sun"}));
  EXPECT_EQ(rec.thumb_path, "/lib/thumbs/00/x.jpg");
  EXPECT_EQ(rec.preview_path, "");
  EXPECT_EQ(vf::detail::query_int(db.get(), "SELECT count(*) FROM photos WHERE model IS NULL AND lens IS NULL"), 1);

  // A copy takes everything but path, folder, size, mtime and indexed_at from its source.
  Stmt cp(db.get(), vf::catalog::photo_copy_sql());
  cp.bind(1, "/elsewhere/b.jpg").bind(2, "/elsewhere").bind(3, int64_t{99}).bind(4, int64_t{7})
      .bind(5, "now").bind(6, id).run();
  const int64_t copy = sqlite3_last_insert_rowid(db.get());
  Stmt q(db.get(), "SELECT path, file_size, mtime_ns, indexed_at, content_hash, phash, length(embedding), "
                   "model_id, rating FROM photos WHERE id = ?");
  q.bind(1, copy);
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.col_text(0), "/elsewhere/b.jpg");
  EXPECT_EQ(q.col_int64(1), 99);
  EXPECT_EQ(q.col_int64(2), 7);
  EXPECT_EQ(q.col_text(3), "now");
  EXPECT_EQ(q.col_text(4), row.meta.content_hash);
  EXPECT_EQ(static_cast<uint64_t>(q.col_int64(5)), row.phash);
  EXPECT_EQ(q.col_int64(6), 16);
  EXPECT_EQ(q.col_text(7), "m");
  EXPECT_EQ(q.col_int(8), 4);

  // Upsert with an id replaces the row in place.
  row.id = id;
  row.meta.make = "Nikon";
  Stmt up(db.get(), vf::catalog::photo_upsert_sql());
  vf::catalog::bind_photo_row(up, row);
  up.run();
  EXPECT_EQ(vf::detail::query_int(db.get(), "SELECT count(*) FROM photos"), 2);
  EXPECT_EQ(vf::detail::query_int(db.get(), "SELECT count(*) FROM photos WHERE make = 'Nikon' AND id = " +
                                                std::to_string(id)), 1);
}

// What a remote store receives (store_sync.cpp) is read through the column table: every filter
// column, and whether the capture time is known even when it is the instant 0.
TEST(CatalogPhotoRow, StoreColumnsReadBackThroughTheCodec) {
  Db db(":memory:", false);
  vf::detail::create_schema(db);
  auto a = sample_row();
  a.meta.file_time_unix = 1700000000;
  a.meta.gps_lat = 48.5;
  a.meta.gps_lon = -3.25;
  auto b = sample_row();  // no capture time, no file time, no rating
  b.path = "/photos/2020/b.jpg";
  b.meta.capture_time.clear();
  b.meta.capture_unix = 0;
  b.meta.rating.reset();
  auto c = sample_row();  // captured at the epoch itself: known, and 0
  c.path = "/photos/2020/c.jpg";
  c.meta.capture_time = "1970-01-01T00:00:00";
  c.meta.capture_unix = 0;
  Stmt ins(db.get(), vf::catalog::photo_upsert_sql());
  for (const auto* r : {&a, &b, &c}) {
    vf::catalog::bind_photo_row(ins, *r);
    ins.run();
  }
  const auto& names = vf::catalog::store_column_names();
  for (const auto& f : vf::catalog::filter_column_names())
    EXPECT_NE(std::find(names.begin(), names.end(), f), names.end()) << f;
  Stmt sel(db.get(), vf::catalog::select_photo_columns_sql(names, "1 ORDER BY path"));
  std::vector<vf::catalog::PhotoRow> got;
  while (sel.step()) vf::catalog::read_photo_columns(sel, names, got.emplace_back());
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].path, a.path);
  EXPECT_EQ(got[0].folder, a.folder);
  EXPECT_EQ(got[0].meta.make, "Canon");
  EXPECT_EQ(got[0].meta.width, 4000);
  EXPECT_EQ(got[0].meta.capture_unix, 1588327200);
  EXPECT_EQ(got[0].meta.file_time_unix, 1700000000);
  EXPECT_EQ(got[0].meta.gps_lon, -3.25);
  EXPECT_EQ(got[0].meta.rating, 4);
  EXPECT_TRUE(vf::catalog::has_capture_time(got[0].meta));
  EXPECT_FALSE(vf::catalog::has_capture_time(got[1].meta));
  EXPECT_FALSE(got[1].meta.rating.has_value());
  EXPECT_EQ(got[1].meta.file_time_unix, 0);
  EXPECT_TRUE(vf::catalog::has_capture_time(got[2].meta));
  EXPECT_THROW(vf::catalog::read_photo_columns(sel, {"no_such_column"}, got[0]), vf::Error);
}

TEST(CatalogPhotoRow, FilterTableHasTheFilterColumns) {
  Db db(":memory:", false);
  vf::detail::exec_sql(db.get(), vf::catalog::filter_table_ddl());
  std::vector<std::string> names;
  Stmt info(db.get(), "SELECT name FROM pragma_table_info('photos')");
  while (info.step()) names.push_back(info.col_text(0));
  EXPECT_EQ(names, vf::catalog::filter_column_names());
  // Every filter term reads only those columns: the SQL prepares against this table.
  vf::Filters f;
  f.date_from = 1;
  f.make = "canon";
  f.model = "x";
  f.lens = "y";
  f.path_prefix = "/p/";
  f.format = "JPG";
  f.orientation = "square";
  f.min_width = 1;
  f.min_height = 1;
  f.min_rating = 1;
  f.gps_bbox = std::array<double, 4>{1, 2, 3, 4};
  auto w = vf::catalog::build_filter_sql(f, "1");
  EXPECT_NO_THROW(Stmt(db.get(), "SELECT id FROM photos WHERE " + w.clause));
}

// Issue 11: a dropdown's value matches exactly ("=" in the one parser), free text is a substring.
TEST(CatalogPhotoRow, ExactCameraFilterIsNotASubstring) {
  Db db(":memory:", false);
  vf::detail::exec_sql(db.get(), vf::catalog::filter_table_ddl());
  vf::detail::exec_sql(db.get(), "INSERT INTO photos (id, path, folder, model, lens) VALUES "
                                 "(1, '/a', '/', 'Canon EOS 5D', 'EF 50mm'), (2, '/b', '/', 'Canon EOS 5D Mark III', 'EF 50mm f/1.8')");
  auto ids_for = [&](const std::map<std::string, std::string>& params) {
    auto w = vf::catalog::build_filter_sql(vf::filters_from_params(params), "1");
    Stmt s(db.get(), "SELECT id FROM photos WHERE " + w.clause + " ORDER BY id");
    for (size_t i = 0; i < w.binds.size(); ++i) {
      if (auto* t = std::get_if<std::string>(&w.binds[i])) s.bind(int(i) + 1, *t);
    }
    std::vector<int64_t> ids;
    while (s.step()) ids.push_back(s.col_int64(0));
    return ids;
  };
  EXPECT_EQ(ids_for({{"model", "Canon EOS 5D"}}), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(ids_for({{"model", "=Canon EOS 5D"}}), (std::vector<int64_t>{1}));
  EXPECT_EQ(ids_for({{"camera", "=Canon EOS 5D Mark III"}}), (std::vector<int64_t>{2}));
  EXPECT_EQ(ids_for({{"lens", "=EF 50mm"}}), (std::vector<int64_t>{1}));
  EXPECT_EQ(ids_for({{"lens", "ef 50"}}), (std::vector<int64_t>{1, 2}));
}

TEST(VectorStore, FaissUpsertReplacesRemoveAndFilteredSearch) {
  const int d = 16;
  auto x = unit_vectors(50, d, 7);
  std::vector<int64_t> ids(50);
  for (int i = 0; i < 50; ++i) ids[i] = 1000 + 3 * i;
  auto store = vf::store::make_store("faiss", d);
  EXPECT_EQ(store->kind(), "faiss");
  EXPECT_EQ(store->count(), 0);
  store->upsert(ids.data(), x.data(), 50, nullptr);
  EXPECT_EQ(store->count(), 50);
  EXPECT_EQ(store->describe(), "Flat");
  EXPECT_EQ(store->dim(), d);

  // Upserting an existing id replaces its vector: the count stays, the id finds the new one.
  auto y = unit_vectors(1, d, 99);
  int64_t id5 = ids[5];
  store->upsert(&id5, y.data(), 1, nullptr);
  EXPECT_EQ(store->count(), 50);
  auto r = store->search(y.data(), 1, 1, {});
  ASSERT_TRUE(r);
  ASSERT_EQ((*r)[0].size(), 1u);
  EXPECT_EQ((*r)[0][0].id, id5);
  EXPECT_NEAR((*r)[0][0].score, 1.0f, 1e-5);

  // A new id (above every stored one) is added.
  int64_t fresh = 5000;
  store->upsert(&fresh, x.data(), 1, nullptr);
  EXPECT_EQ(store->count(), 51);
  EXPECT_TRUE(store->remove({fresh}));
  EXPECT_EQ(store->count(), 50);

  // Only allowed ids come back.
  std::vector<int64_t> allowed = {ids[1], ids[2], ids[40]};
  vf::store::SearchFilter filter;
  filter.allowed_ids = &allowed;
  r = store->search(x.data() + 40 * d, 1, 10, filter);
  ASSERT_TRUE(r);
  ASSERT_EQ((*r)[0].size(), 3u);
  EXPECT_EQ((*r)[0][0].id, ids[40]);
  for (const auto& nb : (*r)[0]) EXPECT_TRUE(std::binary_search(allowed.begin(), allowed.end(), nb.id));

  EXPECT_TRUE(store->remove({ids[40], 123456 /* absent */}));
  EXPECT_EQ(store->count(), 49);
  r = store->search(x.data() + 40 * d, 1, 10, filter);
  for (const auto& nb : (*r)[0]) EXPECT_NE(nb.id, ids[40]);
}

TEST(VectorStore, ScanReturnsEveryVectorForFlatAndIvf) {
  const int d = 8;
  const int64_t n = 300;
  auto x = unit_vectors(n, d, 3);
  std::vector<int64_t> ids(n);
  for (int64_t i = 0; i < n; ++i) ids[i] = 7 * i + 1;
  for (const char* factory : {"Flat", "IVF4,Flat"}) {
    auto store = vf::store::FaissStore::build(factory, d, x.data(), ids.data(), n);
    std::map<int64_t, std::vector<float>> seen;
    int batches = 0;
    store->scan(64, [&](const int64_t* b_ids, const float* v, int64_t m) {
      EXPECT_LE(m, 64);
      ++batches;
      for (int64_t i = 0; i < m; ++i) seen[b_ids[i]].assign(v + i * d, v + (i + 1) * d);
    });
    ASSERT_EQ(static_cast<int64_t>(seen.size()), n) << factory;
    EXPECT_GE(batches, 5) << factory;
    for (int64_t i = 0; i < n; ++i)
      for (int j = 0; j < d; ++j) ASSERT_FLOAT_EQ(seen[ids[i]][j], x[i * d + j]) << factory;
  }
}

TEST(VectorStore, FactoryNamesTheStore) {
  EXPECT_NO_THROW(vf::store::make_store("", 4));
  // Nothing listens on port 1: with Milvus built in, the error names the store and says it
  // cannot reach it; without, it says Milvus is not built in. Either way it names the spec.
  try {
    vf::store::make_store("milvus://127.0.0.1:1/photos", 4);
    FAIL() << "no Milvus listens on 127.0.0.1:1";
  } catch (const vf::Error& e) {
    EXPECT_NE(std::string(e.what()).find("milvus://127.0.0.1:1/photos"), std::string::npos) << e.what();
  }
  EXPECT_THROW(vf::store::make_store("milvus://no-port/photos", 4), vf::Error);
  EXPECT_THROW(vf::store::make_store("milvus://127.0.0.1:19530/bad-name", 4), vf::Error);
  EXPECT_THROW(vf::store::make_store("annoy", 4), vf::Error);
}

// One collection holds one model's vectors: the same weights in a folder of another name
// (another machine) are the same model; other weights, or another name without a hash, not.
TEST(VectorStore, SameModelIdComparesTheWeightsHash) {
  EXPECT_TRUE(vf::store::same_model_id("dinov2-base@0123456789ab", "base-copy@0123456789ab"));
  EXPECT_FALSE(vf::store::same_model_id("dinov2-base@0123456789ab", "dinov2-base@0123456789ac"));
  EXPECT_TRUE(vf::store::same_model_id("hdf5:a.h5", "hdf5:a.h5"));
  EXPECT_FALSE(vf::store::same_model_id("hdf5:a.h5", "tiny@0123456789ab"));
}

// A store without photo fields cannot be mirrored: it says so instead of returning nothing.
TEST(VectorStore, FaissHasNoRowsToMirror) {
  auto s = vf::store::make_store("faiss", 4, "Flat");
  EXPECT_THROW(s->fetch_vectors({1}, [](const int64_t*, const float*, int64_t) {}), vf::Error);
  EXPECT_THROW(s->scan_rows(10, [](const int64_t*, const float*, const vf::store::PhotoScalars*, int64_t) {}, true),
               vf::Error);
  EXPECT_EQ(s->model_identity(), "");
}
