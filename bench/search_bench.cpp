// Search latency benchmark (bench/search.sh): p50/p99 of
//   id      search by a stored photo id (k=10, semantic only)
//   hybrid  search by id, alpha 0.6, with metadata filters (make + date range)
//   upload  full query from an uploaded JPEG: decode + embed + search
// and, in the same run, the engine alone on the same upload (decode + preprocess + embed), the
// ceiling the upload query is compared with.
//
// --synthetic N builds (once, cached in --dir) a library of N photos with random L2-normalised
// embeddings, random colour histograms and varied metadata, written straight into a catalog
// that vf::Library::open created; opening it again makes the library build its FAISS indexes
// from the catalog exactly as it does for real libraries.
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>

#include <nlohmann/json.hpp>

#include "viewfinder/viewfinder.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

struct Stats {
  double p50 = 0, p99 = 0, mean = 0, min = 0;
  int n = 0;
};
Stats stats(std::vector<double> v) {
  Stats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.n = static_cast<int>(v.size());
  s.min = v.front();
  s.p50 = v[v.size() / 2];
  s.p99 = v[std::min(v.size() - 1, static_cast<size_t>(std::ceil(0.99 * v.size())) - 1)];
  for (double x : v) s.mean += x / v.size();
  return s;
}
nlohmann::json to_json(const Stats& s) { return {{"p50_ms", s.p50}, {"p99_ms", s.p99}, {"mean_ms", s.mean}, {"min_ms", s.min}, {"n", s.n}}; }

uint16_t to_half(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000;
  int32_t exp = static_cast<int32_t>((x >> 23) & 0xff) - 127 + 15;
  uint32_t mant = x & 0x7fffff;
  if (exp <= 0) return static_cast<uint16_t>(sign);  // tiny values flush to zero (fine for a bench)
  if (exp >= 31) return static_cast<uint16_t>(sign | 0x7c00);
  uint32_t h = sign | (static_cast<uint32_t>(exp) << 10) | (mant >> 13);
  if ((mant >> 12) & 1) ++h;  // round half up
  return static_cast<uint16_t>(h);
}

void check(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
    throw vf::Error(std::string(what) + ": " + sqlite3_errmsg(db));
}

void synthesise(const std::string& dir, int64_t n, const std::string& model_dir) {
  auto info = vf::inspect_model(model_dir, /*compute_sha256=*/true);
  const int dim = info.hidden_size;
  { auto lib = vf::Library::open(dir); }  // creates the schema
  sqlite3* db = nullptr;
  check(sqlite3_open((dir + "/catalog.sqlite3").c_str(), &db), db, "open catalog");
  auto exec = [&](const std::string& sql) { check(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), db, sql.c_str()); };
  exec("PRAGMA synchronous=OFF");
  exec("BEGIN");
  sqlite3_stmt* ins = nullptr;
  check(sqlite3_prepare_v2(db,
                           "INSERT INTO photos (path, folder, format, mime, file_size, mtime_ns, content_hash,"
                           " stored_width, stored_height, width, height, orientation, capture_time, capture_unix,"
                           " make, model, rating, color_hist, phash, embedding, model_id, pooling, precision,"
                           " gps_lat, gps_lon) VALUES (?,?,?,?,?,?,?,?,?,?,?,1,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                           -1, &ins, nullptr),
        db, "prepare");
  std::mt19937_64 rng(42);
  std::normal_distribution<float> normal;
  std::uniform_real_distribution<float> uni(0, 1);
  const char* makes[] = {"Canon", "NIKON CORPORATION", "SONY", "FUJIFILM", "Apple", "OLYMPUS", "Panasonic", "samsung"};
  const char* formats[] = {"jpeg", "jpeg", "jpeg", "heif", "raw", "png"};
  std::vector<float> v(dim);
  std::vector<uint16_t> h(dim);
  std::vector<float> hist(512);
  for (int64_t i = 0; i < n; ++i) {
    double norm = 0;
    for (auto& x : v) norm += static_cast<double>(x = normal(rng)) * x;
    for (int j = 0; j < dim; ++j) h[j] = to_half(static_cast<float>(v[j] / std::sqrt(norm)));
    // A colour histogram concentrated on a few bins, like a photo's.
    std::fill(hist.begin(), hist.end(), 0.0f);
    float total = 0;
    for (int b = 0; b < 24; ++b) {
      float w = uni(rng);
      hist[rng() % 512] += w;
      total += w;
    }
    for (auto& x : hist) x /= total;
    std::string folder = "/synthetic/" + std::to_string(2010 + i % 14) + "/album" + std::to_string(i % 97);
    std::string path = folder + "/img" + std::to_string(i) + ".jpg";
    int64_t t = 1262304000 + static_cast<int64_t>(uni(rng) * 14 * 365 * 86400.0);
    bool portrait = i % 3 == 0;
    int k = 1;
    sqlite3_bind_text(ins, k++, path.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, k++, folder.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, k++, formats[i % 6], -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, k++, "image/jpeg", -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, k++, 3'000'000);
    sqlite3_bind_int64(ins, k++, t * 1'000'000'000LL);
    sqlite3_bind_text(ins, k++, ("synthetic" + std::to_string(i)).c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(ins, k++, portrait ? 3000 : 4000);
    sqlite3_bind_int(ins, k++, portrait ? 4000 : 3000);
    sqlite3_bind_int(ins, k++, portrait ? 3000 : 4000);
    sqlite3_bind_int(ins, k++, portrait ? 4000 : 3000);
    sqlite3_bind_text(ins, k++, "2015-06-01T12:00:00", -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, k++, t);
    sqlite3_bind_text(ins, k++, makes[i % 8], -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, k++, ("Model " + std::to_string(i % 40)).c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(ins, k++, static_cast<int>(i % 6));
    sqlite3_bind_blob(ins, k++, hist.data(), 512 * 4, SQLITE_TRANSIENT);
    sqlite3_bind_int64(ins, k++, static_cast<int64_t>(rng()));
    sqlite3_bind_blob(ins, k++, h.data(), dim * 2, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, k++, info.model_id.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, k++, "cls", -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, k++, "fp32", -1, SQLITE_STATIC);
    sqlite3_bind_double(ins, k++, -60 + 120 * uni(rng));
    sqlite3_bind_double(ins, k++, -180 + 360 * uni(rng));
    check(sqlite3_step(ins), db, "insert");
    sqlite3_reset(ins);
  }
  sqlite3_finalize(ins);
  auto meta = [&](const std::string& k, const std::string& v) {
    exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('" + k + "', '" + v + "')");
  };
  meta("model_id", info.model_id);
  meta("model_dir", fs::absolute(model_dir).string());
  meta("pooling", "cls");
  meta("precision", "fp32");
  meta("dim", std::to_string(dim));
  exec("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'");
  exec("COMMIT");
  sqlite3_close(db);
  auto t0 = Clock::now();
  { auto lib = vf::Library::open(dir); }  // builds and saves index.faiss / color.faiss
  std::cerr << "built the FAISS indexes in " << ms_since(t0) / 1000 << " s\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir, model, image, name = "library";
  int64_t synthetic = 0;
  int queries = 200, uploads = 10;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw vf::Error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--dir") dir = next();
    else if (a == "--synthetic") synthetic = std::stoll(next());
    else if (a == "--model") model = next();
    else if (a == "--image") image = next();
    else if (a == "--queries") queries = std::stoi(next());
    else if (a == "--uploads") uploads = std::stoi(next());
    else if (a == "--name") name = next();
    else {
      std::cerr << "usage: search_bench --dir LIB [--synthetic N --model DIR] [--image JPEG] [--queries N] [--uploads N] [--name NAME]\n";
      return 2;
    }
  }
  try {
    if (dir.empty()) throw vf::Error("--dir is required");
    if (synthetic > 0 && !fs::exists(dir + "/catalog.sqlite3")) {
      if (model.empty()) throw vf::Error("--synthetic needs --model (sets the embedding size and the query model)");
      std::cerr << "synthesising " << synthetic << " photos in " << dir << "\n";
      synthesise(dir, synthetic, model);
    }
    const bool synth = synthetic > 0 || name.rfind("synthetic", 0) == 0;
    auto lib = vf::Library::open(dir, /*read_only=*/true);
    auto info = lib->info();
    vf::EngineParams ep;
    ep.model_dir = model.empty() ? lib->model_dir() : model;
    vf::Searcher searcher(*lib, ep);
    // Ids to query: a deterministic random spread (catalog ids are dense from 1).
    std::vector<int64_t> ids;
    {
      std::mt19937_64 rng(7);
      int64_t hi = std::max<int64_t>(info.photos, 1) + 16;
      for (int tries = 0; static_cast<int>(ids.size()) < queries && tries < queries * 20; ++tries) {
        int64_t id = 1 + static_cast<int64_t>(rng() % hi);
        if (!lib->embedding(id).empty()) ids.push_back(id);
      }
      if (ids.empty()) throw vf::Error(dir + ": no indexed photos to query");
    }
    nlohmann::json out = {{"library", name}, {"photos", info.embedded}, {"dim", info.dim}, {"index_type", info.index_type}};
    std::vector<double> t_id, t_hybrid;
    int64_t matched = -1;
    size_t short_lists = 0;
    for (int64_t id : ids) {  // warm-up
      vf::SearchQuery q;
      q.positive_ids = {id};
      searcher.search(q);
      break;
    }
    for (int64_t id : ids) {
      vf::SearchQuery q;
      q.positive_ids = {id};
      q.k = 10;
      auto t0 = Clock::now();
      searcher.search(q);
      t_id.push_back(ms_since(t0));
    }
    for (int64_t id : ids) {
      vf::SearchQuery q;
      q.positive_ids = {id};
      q.k = 10;
      q.alpha = 0.6f;
      q.filters.make = "canon";
      q.filters.date_from = 1262304000 + 3 * 365 * 86400LL;  // 2013 on
      if (!synth) q.filters = {};  // real libraries: no known metadata spread; plain hybrid
      auto t0 = Clock::now();
      auto r = searcher.search(q);
      t_hybrid.push_back(ms_since(t0));
      matched = r.matched;
      if (r.hits.size() < 10 && r.matched >= 10) ++short_lists;
    }
    out["id"] = to_json(stats(t_id));
    out["hybrid"] = to_json(stats(t_hybrid));
    out["hybrid"]["filter"] = synth ? "make~canon, captured 2013 or later" : "none";
    out["hybrid"]["matched"] = matched;
    out["hybrid"]["short_lists"] = short_lists;
    std::cerr << name << ": id p50 " << out["id"]["p50_ms"] << " ms, hybrid p50 " << out["hybrid"]["p50_ms"] << " ms\n";

    if (!image.empty()) {
      std::ifstream in(image, std::ios::binary);
      if (!in) throw vf::Error(image + ": cannot read");
      std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      auto engine = vf::Engine::open(ep);
      const auto& mi = engine->info();
      vf::IngestParams ip;
      ip.model_input_size = mi.crop_size;
      ip.resize_shortest_edge = mi.resize_shortest_edge;
      ip.thumb_size = ip.preview_size = 0;
      ip.features = false;
      vf::Pooling pooling = info.pooling.empty() ? vf::Pooling::CLS : vf::parse_pooling(info.pooling);
      std::vector<double> t_engine, t_upload, t_up_search;
      auto engine_once = [&] {
        auto t0 = Clock::now();
        auto p = vf::ingest_bytes(bytes.data(), bytes.size(), image, ip);
        engine->embed(p.model_input.data(), 1, mi.crop_size, mi.crop_size, pooling);
        t_engine.push_back(ms_since(t0));
      };
      auto upload_once = [&] {
        vf::SearchQuery q;
        q.positive_bytes = {bytes};
        q.k = 10;
        auto t0 = Clock::now();
        auto r = searcher.search(q);
        t_upload.push_back(ms_since(t0));
        t_up_search.push_back(r.timings.search_ms);
      };
      engine_once();  // warm-up both (the searcher opens its engine here)
      upload_once();
      t_engine.clear();
      t_upload.clear();
      t_up_search.clear();
      for (int i = 0; i < uploads; ++i) {  // interleaved: load drifts hit both alike
        engine_once();
        upload_once();
      }
      auto se = stats(t_engine), su = stats(t_upload);
      out["upload"] = to_json(su);
      out["upload"]["search_part_p50_ms"] = stats(t_up_search).p50;
      out["engine_alone"] = to_json(se);
      out["upload_over_engine_p50"] = su.p50 / se.p50;
      // On a shared machine the minimum is the least noisy estimate of each pipeline's cost.
      out["upload_over_engine_min"] = su.min / se.min;
      out["image"] = fs::path(image).filename().string();
      std::cerr << name << ": upload p50 " << su.p50 << " ms vs engine alone " << se.p50 << " ms\n";
    }
    std::cout << out.dump() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "search_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
