// A reader library: a local catalog that mirrors a Milvus collection other libraries fill
// (shard workers on other machines, docs/scale.md "A reader"). It never embeds and never
// writes to the collection: each sync reads every row's id and scalar fields from Milvus in
// batches, then the vectors of the rows that are new or whose fields changed (a worker
// re-embeds a photo only when its file changed, and the file's hash, size and mtime are fields),
// and makes the catalog equal to it (new and changed rows written, rows the collection no
// longer has removed). An unchanged collection of a million 768-d rows so costs its fields,
// not its 3 GB of vectors. Searches then go to Milvus over every id; the catalog
// gives search its filters, exact re-rank vectors, photo records, duplicates and clusters
// exactly as for a library that indexed the photos itself.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <unordered_map>

#include "catalog/photo_row.h"
#include "common/fnv1a.h"
#include "library/library_impl.h"

namespace vf::detail {
namespace {

constexpr int64_t kMirrorBatch = 4096;

// What a row of the collection says about a photo, hashed (FNV-1a 64): a catalog row with
// the same signature needs no rewrite, and its vector is not read.
struct Signature : Fnv1a {
  using Fnv1a::add;
  void add(const std::string& s) { add(s.data(), s.size() + 1); }
  template <class T>
  void add_value(const T& v) { add(&v, sizeof v); }
  template <class T>
  void add_opt(const std::optional<T>& v) {
    add_value(v.has_value());
    if (v) add_value(*v);
  }
};

uint64_t row_signature(const store::PhotoScalars& p) {
  Signature s;
  for (const auto* t : {&p.path, &p.folder, &p.format, &p.make, &p.model, &p.lens, &p.content_hash}) s.add(*t);
  for (int64_t v : {int64_t(p.width), int64_t(p.height), p.file_size, p.mtime_ns}) s.add_value(v);
  s.add_opt(p.capture_unix);
  s.add_opt(p.file_time_unix);
  s.add_opt(p.gps_lat);
  s.add_opt(p.gps_lon);
  s.add_opt(p.rating);
  return s.h;
}

std::string mime_of(const std::string& format) {
  static const std::unordered_map<std::string, std::string> mimes = {
      {"jpeg", "image/jpeg"}, {"png", "image/png"},   {"webp", "image/webp"}, {"tiff", "image/tiff"},
      {"heif", "image/heif"}, {"avif", "image/avif"}, {"gif", "image/gif"},   {"bmp", "image/bmp"}};
  auto it = mimes.find(format);
  return it == mimes.end() ? "" : it->second;
}

// A time as the catalog writes it ("2019-03-14T09:30:12"), from the seconds Milvus keeps: a
// capture time (UTC when the camera recorded its offset, else the camera's local time), or a
// file time (UTC, which the catalog marks with a "Z").
std::string time_text(int64_t unix_s) {
  std::time_t t = static_cast<std::time_t>(unix_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return buf;
}

catalog::PhotoRow catalog_row(int64_t id, const store::PhotoScalars& p, std::vector<uint16_t> embedding,
                              const std::string& model_id, const std::string& pooling, const std::string& now) {
  catalog::PhotoRow r;
  r.id = id;
  r.path = p.path;
  r.folder = p.folder.empty() ? std::filesystem::path(p.path).parent_path().string() : p.folder;
  PhotoMetadata& m = r.meta;
  m.format = p.format;
  m.mime = mime_of(p.format);
  m.file_size = p.file_size;
  m.mtime_ns = p.mtime_ns;
  m.content_hash = p.content_hash;
  m.width = m.stored_width = p.width;
  m.height = m.stored_height = p.height;
  if (p.capture_unix) {
    m.capture_unix = *p.capture_unix;
    m.capture_time = time_text(*p.capture_unix);
  }
  if (p.file_time_unix) {
    m.file_time_unix = *p.file_time_unix;
    m.file_time = time_text(*p.file_time_unix) + "Z";
  }
  m.make = p.make;
  m.model = p.model;
  m.lens = p.lens;
  m.gps_lat = p.gps_lat;
  m.gps_lon = p.gps_lon;
  m.rating = p.rating;
  r.embedding = std::move(embedding);
  r.model_id = model_id;
  r.pooling = pooling;
  r.indexed_at = now;
  return r;
}

}  // namespace

bool is_reader(sqlite3* db) { return meta_get(db, "reader") == "1"; }

std::string model_identity_json(sqlite3* db) {
  const std::string model_id = meta_get(db, "model_id");
  // Only a real model's id ("name@sha256-prefix"): not an HDF5 import's file name, nor a
  // reader's stand-in for a collection that records none.
  if (model_id.find('@') == std::string::npos || model_id.rfind("milvus:", 0) == 0) return "";
  // A reader writes nothing: any split may be read.
  const int shards = is_reader(db) ? 0 : parse_shard(meta_get(db, "shard")).second;
  return model_identity_json(model_id, meta_get(db, "pooling"), std::stoi(meta_get(db, "dim", "0")), shards);
}

std::string model_identity_json(const std::string& model_id, const std::string& pooling, int dim, int shards) {
  nlohmann::json j{{"model_id", model_id}, {"pooling", pooling}, {"dim", dim}};
  if (shards > 0) j["shards"] = shards;
  return j.dump();
}

// Which model the reader embeds query images with: the one given, else the one it used last,
// else the default model; each must be the model the collection records (when it records one).
std::string LibraryImpl::reader_model_dir(sqlite3* db, const std::string& given, const std::string& collection_model) {
  std::vector<std::string> tries = {given};
  if (given.empty()) tries = {meta_get(db, "model_dir"), default_model_dir()};
  for (const auto& dir : tries) {
    std::error_code ec;
    if (dir.empty() || !std::filesystem::exists(dir + "/config.json", ec)) {
      if (!given.empty()) throw Error(given + ": no model here (config.json missing)", ErrorCode::NotFound);
      continue;
    }
    const std::string id = inspect_model(dir).model_id;
    if (collection_model.empty() || store::same_model_id(id, collection_model))
      return std::filesystem::absolute(dir).string();
    if (!given.empty())
      throw Error("model " + given + " is " + id + ", but the collection's vectors come from " + collection_model +
                      ": give the model the workers indexed with (--model DIR)",
                  ErrorCode::BadModel);
  }
  return "";  // searches by id and filters work; image queries ask for --model
}

namespace {

// One signature per catalog row of the collection's model (a row of another model is
// rewritten, vector and all).
std::unordered_map<int64_t, uint64_t> catalog_signatures(sqlite3* db, const std::string& model_id,
                                                         const std::string& pooling) {
  std::unordered_map<int64_t, uint64_t> have;
  std::vector<int64_t> ids;
  auto flush = [&] {
    auto scalars = read_store_scalars(db, ids);
    for (size_t i = 0; i < ids.size(); ++i) have[ids[i]] = row_signature(scalars[i]);
    ids.clear();
  };
  Stmt s(db, "SELECT id FROM photos WHERE embedding IS NOT NULL AND model_id = ? AND pooling = ?");
  s.bind(1, model_id).bind(2, pooling);
  while (s.step()) {
    ids.push_back(s.col_int64(0));
    if (ids.size() == static_cast<size_t>(kMirrorBatch)) flush();
  }
  flush();
  return have;
}

// Deletes the catalog rows whose ids the collection no longer has (`seen` sorted); returns how many.
int64_t remove_vanished(sqlite3* db, const std::vector<int64_t>& seen) {
  std::vector<int64_t> gone;
  {
    Stmt s(db, "SELECT id FROM photos ORDER BY id");
    while (s.step())
      if (!std::binary_search(seen.begin(), seen.end(), s.col_int64(0))) gone.push_back(s.col_int64(0));
  }
  Stmt del(db, "DELETE FROM photos WHERE id = ?");
  for (int64_t id : gone) del.bind(1, id).run(), del.reset();
  return static_cast<int64_t>(gone.size());
}

// Two rows of the collection at one path here replace each other in the catalog (its path
// is unique): only a path map that sends two worker folders to one place does that.
void check_one_row_per_photo(sqlite3* db, const std::vector<int64_t>& seen) {
  const int64_t kept = query_int(db, "SELECT count(*) FROM photos");
  if (kept >= static_cast<int64_t>(seen.size())) return;
  std::string examples;
  Stmt has(db, "SELECT 1 FROM photos WHERE id = ?");
  for (size_t i = 0, found = 0; i < seen.size() && found < 3; ++i, has.reset())
    if (!has.bind(1, seen[i]).step()) examples += (found++ ? ", " : "") + std::to_string(seen[i]);
  throw Error(std::to_string(static_cast<int64_t>(seen.size()) - kept) + " photo(s) of the collection (ids " + examples +
                  "...) land on the path of another here: the path map sends two worker folders to one place; "
                  "fix it (--path-map FROM=TO, one TO per share)",
              ErrorCode::InvalidArgument);
}

}  // namespace

void report_sync_progress(const ProgressFn& progress, const char* phase, int64_t done, int64_t total, double seconds) {
  if (!progress) return;
  IndexProgress p;
  p.phase = phase;
  p.done = done;
  p.total = std::max(total, done);
  p.rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
  p.eta_s = p.rate > 0 ? static_cast<double>(p.total - done) / p.rate : 0;
  progress(p);
}

MirrorReport LibraryImpl::mirror(const MirrorParams& params) {
  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  const std::string& spec = params.store;
  if (!store::is_remote_store(spec))
    throw Error("a reader library mirrors a Milvus collection: give --store milvus://HOST:PORT/COLLECTION (got '" +
                    spec + "')", ErrorCode::InvalidArgument);
  auto writer = acquire_writer_lock();
  sqlite3* db = wdb_.get();
  if (!is_reader(db) && query_int(db, "SELECT count(*) FROM photos") > 0)
    throw Error(dir_ + " is a library that indexes photos itself: a reader needs a directory of its own",
                ErrorCode::InvalidArgument);
  auto source = store::make_store(spec, 0, "", store::RemoteStoreOptions{});  // every id, no writes
  if (source->dim() <= 0)
    throw Error(spec + ": no such collection yet: index photos into it first (viewfinder index --store " + spec + ")",
                ErrorCode::NotFound);
  const auto identity = nlohmann::json::parse(source->model_identity(), nullptr, false);
  const bool recorded = identity.is_object() && identity.contains("model_id");
  MirrorReport report;
  report.model_id = recorded ? identity["model_id"].get<std::string>() : "milvus:" + spec;
  report.path_map = params.path_map ? *params.path_map : path_map_from_json(meta_get(db, "path_map"));
  const std::string pooling = recorded ? identity.value("pooling", "cls") : "cls";
  const int dim = source->dim();
  const std::string model = reader_model_dir(db, params.model_dir, recorded ? report.model_id : "");
  auto have = catalog_signatures(db, report.model_id, pooling);
  const int64_t total = source->count();

  const std::string now = now_iso_utc();
  std::vector<int64_t> seen;  // the collection's ids that the catalog holds after this sync
  int64_t scanned = 0;
  Stmt up(db, catalog::photo_upsert_sql());
  report_sync_progress(params.progress, "sync", 0, total, 0);
  source->scan_rows(kMirrorBatch, [&](const int64_t* ids, const float*, const store::PhotoScalars* p, int64_t n) {
    std::vector<int64_t> stale;  // new or changed here: their vectors are read, their rows written
    std::vector<store::PhotoScalars> stale_fields;
    for (int64_t i = 0; i < n; ++i) {
      store::PhotoScalars here = p[i];  // the worker's row, with the paths this machine sees
      here.path = map_path(report.path_map, here.path);
      if (!here.folder.empty()) here.folder = map_path(report.path_map, here.folder);
      auto it = have.find(ids[i]);
      if (it != have.end() && it->second == row_signature(here)) {
        seen.push_back(ids[i]);
        continue;
      }
      stale.push_back(ids[i]);
      stale_fields.push_back(std::move(here));
    }
    scanned += n;
    Transaction t(db);
    size_t at = 0;  // both lists ascend: a row deleted since the scan is skipped
    source->fetch_vectors(stale, [&](const int64_t* fetched, const float* x, int64_t m) {
      for (int64_t j = 0; j < m; ++j) {
        while (at < stale.size() && stale[at] < fetched[j]) ++at;
        if (at == stale.size() || stale[at] != fetched[j]) continue;
        (have.count(fetched[j]) ? report.changed : report.added)++;
        seen.push_back(fetched[j]);
        bind_photo_row(up, catalog_row(fetched[j], stale_fields[at], encode_embedding(x + j * dim, dim),
                                       report.model_id, pooling, now));
        up.run();
        up.reset();
      }
    });
    t.commit();
    report_sync_progress(params.progress, "sync", scanned, total, elapsed());
  }, /*vectors=*/false);
  std::sort(seen.begin(), seen.end());
  report.photos = static_cast<int64_t>(seen.size());

  compute_reader_features(db, params, model, seen, report);

  Transaction t(db);
  report.removed = remove_vanished(db, seen);
  check_one_row_per_photo(db, seen);
  meta_set(db, "reader", "1");
  meta_set(db, "vector_store", spec);
  meta_set(db, "model_id", report.model_id);
  meta_set(db, "pooling", pooling);
  meta_set(db, "dim", std::to_string(dim));
  meta_set(db, "path_map", path_map_json(report.path_map));
  if (!model.empty()) meta_set(db, "model_dir", model);
  meta_set(db, "mirror_synced", now);
  if (report.added + report.changed + report.removed + report.features > 0) {
    meta_set(db, "last_commit", now);
    bump_generation(db);
  }
  t.commit();
  load_indexes(false);
  report.seconds = elapsed();
  return report;
}

}  // namespace vf::detail

namespace vf {

MirrorReport mirror_collection(const std::string& dir, const MirrorParams& params) {
  detail::LibraryImpl lib(dir, /*read_only=*/false);
  return lib.mirror(params);
}

std::string mirror_summary(const MirrorReport& r) {
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.2f", r.seconds);
  std::string line = std::to_string(r.photos) + " photos (" + std::to_string(r.added) + " added, " +
                     std::to_string(r.changed) + " changed, " + std::to_string(r.removed) + " removed) in " +
                     seconds + " s";
  if (r.features + r.features_failed > 0)
    line += "; colour features of " + std::to_string(r.features) + " photo(s)" +
            (r.features_failed ? " (" + std::to_string(r.features_failed) + " unreadable, tried again next sync)" : "");
  for (size_t i = 0; i < r.path_map.size(); ++i)
    line += (i ? ", " : "; paths mapped: ") + r.path_map[i].from + "=" + r.path_map[i].to;
  return line;
}

bool is_reader_library(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::exists(dir + "/catalog.sqlite3", ec)) return false;
  detail::Db db(dir + "/catalog.sqlite3", true);
  try {
    return detail::is_reader(db.get());
  } catch (const Error&) {
    return false;  // not a catalog (yet): Library::open says why
  }
}

}  // namespace vf
