// Incremental, crash-safe indexing: scan, change detection, the decode -> embed -> commit
// pipeline, and keeping the FAISS indexes in step with the catalog.
//
// Crash safety rests on one rule: the catalog is the source of truth and every change to it
// happens in a SQLite transaction that also bumps meta.generation. Thumbnails are written
// (atomically, named by content hash) before the rows that point at them are committed; the
// FAISS files carry a stamp of the generation they reflect and are rebuilt from the catalog
// when the stamp does not match. So a kill -9 at any instant loses at most the uncommitted
// batch, and the next run skips every committed file.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <faiss/IndexIDMap.h>
#include <faiss/impl/IDSelector.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "image/image_internal.h"
#include "library/library_impl.h"
#include "library/vector_index.h"

namespace vf::detail {
namespace fs = std::filesystem;

namespace {

double now_s() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

struct FileStat {
  int64_t size = 0, mtime_ns = 0;
};

bool stat_file(const std::string& path, FileStat* st) {
  struct stat sb;
  if (::stat(path.c_str(), &sb) != 0 || !S_ISREG(sb.st_mode)) return false;
  st->size = sb.st_size;
  st->mtime_ns = static_cast<int64_t>(sb.st_mtim.tv_sec) * 1'000'000'000 + sb.st_mtim.tv_nsec;
  return true;
}

std::string hash_file(const std::string& path) {
  auto bytes = image::read_file_bytes(path, DecodeLimits{}.max_file_bytes);
  return image::content_hash_hex(bytes.data(), bytes.size());
}

std::string normalize_path(const std::string& p) {
  std::error_code ec;
  fs::path a = fs::absolute(p, ec);
  std::string s = a.lexically_normal().string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

bool under_root(const std::string& path, const std::string& root) {
  if (path == root) return true;
  if (root == "/") return true;
  return path.size() > root.size() && path.compare(0, root.size(), root) == 0 && path[root.size()] == '/';
}

// Every regular, non-hidden file under the roots (a root may be a file). Hidden files and
// directories (".thumbnails", "._IMG_0001.JPG" AppleDouble forks) are skipped, and so is the
// library directory itself so that its thumbnails never index themselves.
std::vector<std::string> scan_roots(const std::vector<std::string>& roots, const std::string& library_dir,
                                    const std::function<void(int64_t)>& tick) {
  std::vector<std::string> files;
  for (const auto& root : roots) {
    std::error_code ec;
    auto st = fs::status(root, ec);
    if (ec || !fs::exists(st)) throw Error(root + ": no such file or directory", ErrorCode::NotFound);
    if (fs::is_regular_file(st)) {
      files.push_back(root);
      continue;
    }
    if (!fs::is_directory(st)) continue;
    auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, ec);
    if (ec) throw Error(root + ": cannot read directory: " + ec.message(), ErrorCode::Io);
    for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) break;
      const auto& p = it->path();
      std::string name = p.filename().string();
      std::error_code e2;
      if (it->is_directory(e2)) {
        if ((!name.empty() && name[0] == '.') || p.string() == library_dir) it.disable_recursion_pending();
        continue;
      }
      if (name.empty() || name[0] == '.') continue;
      if (!it->is_regular_file(e2)) continue;
      files.push_back(p.lexically_normal().string());
      if (tick && files.size() % 1000 == 0) tick(static_cast<int64_t>(files.size()));
    }
  }
  std::sort(files.begin(), files.end());
  files.erase(std::unique(files.begin(), files.end()), files.end());
  return files;
}

template <class T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t cap) : cap_(cap) {}
  bool push(T v) {
    std::unique_lock<std::mutex> lk(mu_);
    not_full_.wait(lk, [&] { return q_.size() < cap_ || closed_; });
    if (closed_) return false;
    q_.push_back(std::move(v));
    not_empty_.notify_one();
    return true;
  }
  // Waits for an item; false when closed and drained.
  bool pop(T* out) {
    std::unique_lock<std::mutex> lk(mu_);
    not_empty_.wait(lk, [&] { return !q_.empty() || closed_; });
    if (q_.empty()) return false;
    *out = std::move(q_.front());
    q_.pop_front();
    not_full_.notify_one();
    return true;
  }
  bool empty() {
    std::lock_guard<std::mutex> lk(mu_);
    return q_.empty();
  }
  void close() {
    std::lock_guard<std::mutex> lk(mu_);
    closed_ = true;
    not_empty_.notify_all();
    not_full_.notify_all();
  }

 private:
  size_t cap_;
  std::deque<T> q_;
  std::mutex mu_;
  std::condition_variable not_empty_, not_full_;
  bool closed_ = false;
};

struct CatalogRow {
  int64_t id = 0;
  int64_t size = 0, mtime_ns = 0;
  std::string hash;
  bool current = false;  // embedded with the run's model and pooling
};

struct Job {
  std::string path;
  int64_t id = 0;  // existing row to replace (changed / re-embed), 0 for a new photo
  FileStat st;
  std::string hash;  // when already computed
};

struct Decoded {
  Job job;
  bool ok = false;
  std::string error;
  IngestedPhoto photo;
  std::string thumb_rel, preview_rel;
};

std::string thumb_rel_path(const std::string& hash, const char* suffix) {
  return "thumbs/" + hash.substr(0, 2) + "/" + hash + suffix;
}

// Thumbnails are a cache keyed by content: written once (temp + rename, so a crash never
// leaves a torn file under the final name) and reused by every later run and every copy.
void write_thumb(const std::string& library_dir, const std::string& rel, const std::vector<uint8_t>& jpeg) {
  std::string path = library_dir + "/" + rel;
  std::error_code ec;
  if (fs::exists(path, ec) && fs::file_size(path, ec) > 0) return;
  fs::create_directories(fs::path(path).parent_path(), ec);
  std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." +
                    std::to_string(std::hash<std::thread::id>()(std::this_thread::get_id()));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(jpeg.data()), static_cast<std::streamsize>(jpeg.size()));
    if (!out) throw Error(path + ": cannot write thumbnail (disk full?)", ErrorCode::Io);
  }
  fs::rename(tmp, path, ec);
  if (ec) throw Error(path + ": cannot write thumbnail: " + ec.message(), ErrorCode::Io);
}

bool thumb_exists(const std::string& library_dir, const std::string& rel) {
  std::error_code ec;
  auto n = fs::file_size(library_dir + "/" + rel, ec);
  return !ec && n > 0;
}

std::string folder_of(const std::string& path) {
  std::string f = fs::path(path).parent_path().string();
  return f.empty() ? "/" : f;
}

}  // namespace

// The state of one index() run.
struct Indexer {
  LibraryImpl& lib;
  const IndexParams& params;
  const ProgressFn& progress;
  sqlite3* db;
  IndexReport report;
  Engine* engine = nullptr;
  int dim = 0;
  std::string model_id, pooling, precision;
  double t_start = now_s();

  // In-memory index maintenance between commits.
  bool sem_dirty = false, color_dirty = false;
  std::vector<int64_t> pend_remove;
  std::vector<int64_t> pend_ids;
  std::vector<float> pend_vecs;
  std::vector<int64_t> pend_color_ids;
  std::vector<float> pend_color;
  double last_save = now_s();

  Indexer(LibraryImpl& l, const IndexParams& p, const ProgressFn& f) : lib(l), params(p), progress(f), db(l.wdb_.get()) {}

  void emit(const std::string& phase, int64_t total, int64_t done, double rate, double eta,
            const std::string& current = "", const std::string& message = "") {
    if (!progress) return;
    IndexProgress pr;
    pr.phase = phase;
    pr.total = total;
    pr.done = done;
    pr.failed = report.failed;
    pr.rate = rate;
    pr.eta_s = eta;
    pr.current = current;
    pr.message = message;
    progress(pr);
  }
  void note(const std::string& message) { emit("scan", 0, 0, 0, 0, "", message); }

  // After each commit: bring the in-memory indexes up to the committed state.
  void apply_pending() {
    auto apply = [&](std::unique_ptr<faiss::Index>& index, bool& dirty, std::vector<int64_t>& ids,
                     std::vector<float>& vecs, int d) {
      if (!dirty && !pend_remove.empty()) {
        if (index && supports_remove(index.get())) {
          faiss::IDSelectorBatch sel(pend_remove.size(), pend_remove.data());
          index->remove_ids(sel);
        } else if (index) {
          dirty = true;
        }
      }
      if (!dirty && !ids.empty()) {
        if (!index) {
          // First vectors of an empty library: start exact; index() switches type at the end
          // when the size calls for it.
          std::string f = params.faiss_factory.empty() ? "Flat" : params.faiss_factory;
          try {
            index = build_index(f, d, vecs.data(), ids.data(), static_cast<int64_t>(ids.size()));
          } catch (const Error&) {
            dirty = true;  // e.g. an IVF override with too few vectors yet: built at the end
          }
        } else {
          index->add_with_ids(static_cast<faiss::Index::idx_t>(ids.size()), vecs.data(), ids.data());
        }
      }
      ids.clear();
      vecs.clear();
    };
    apply(lib.sem_, sem_dirty, pend_ids, pend_vecs, dim);
    apply(lib.color_, color_dirty, pend_color_ids, pend_color, kColorDim);
    pend_remove.clear();
  }

  void maybe_save(bool force) {
    if (sem_dirty || color_dirty) return;
    if (!force && now_s() - last_save < 30) return;
    // Readers that open now load these instead of rebuilding from the catalog.
    CatalogState st = read_state(db);
    if ((lib.sem_ ? lib.sem_->ntotal : 0) != st.sem_count ||
        (lib.color_ ? lib.color_->ntotal : 0) != st.color_count) {
      sem_dirty = color_dirty = true;  // should not happen; rebuild rather than save a wrong index
      return;
    }
    lib.save_indexes(st);
    last_save = now_s();
  }

  IndexReport run();
  void pipeline(std::vector<Job>& jobs);
};

IndexReport LibraryImpl::index(const IndexParams& params, const ProgressFn& progress) {
  if (read_only_) throw Error(dir_ + ": library opened read-only", ErrorCode::InvalidArgument);
  std::lock_guard<std::mutex> lk(wmu_);
  WriterLock writer_lock = acquire_writer_lock();
  // Another process may have committed since we opened: start from the current state.
  load_indexes(true);
  Indexer ix(*this, params, progress);
  IndexReport r = ix.run();
  loaded_generation_ = read_state(wdb_.get()).generation;
  return r;
}

IndexReport Indexer::run() {
  if (params.roots.empty()) throw Error("nothing to index: give at least one file or folder", ErrorCode::InvalidArgument);
  if (params.batch_size < 1) throw Error("the index batch size must be at least 1 (got " + std::to_string(params.batch_size) + ")", ErrorCode::InvalidArgument);
  std::vector<std::string> roots;
  for (const auto& r : params.roots) roots.push_back(normalize_path(r));

  // ---- engine and model stamp
  EngineParams ep = params.engine;
  if (ep.model_dir.empty()) ep.model_dir = meta_get(db, "model_dir");
  if (ep.model_dir.empty()) ep.model_dir = default_model_dir();
  ep.model_dir = normalize_path(ep.model_dir);
  engine = &lib.engine_for(ep);
  dim = engine->dim();
  model_id = engine->info().model_id;
  pooling = to_string(params.pooling);
  precision = to_string(engine->precision());

  // ---- scan
  emit("scan", 0, 0, 0, 0);
  auto files = scan_roots(roots, lib.dir(), [&](int64_t n) { emit("scan", 0, n, 0, 0); });
  report.scanned = static_cast<int64_t>(files.size());

  std::string old_model = meta_get(db, "model_id"), old_pooling = meta_get(db, "pooling");
  int old_dim = std::stoi(meta_get(db, "dim", "0"));

  // ---- catalog state
  std::unordered_map<std::string, CatalogRow> rows;
  std::unordered_map<std::string, std::vector<std::pair<int64_t, std::string>>> by_hash;  // hash -> (id, path)
  {
    Stmt s(db, "SELECT id, path, file_size, mtime_ns, content_hash, embedding IS NOT NULL, model_id, pooling FROM photos");
    while (s.step()) {
      CatalogRow r;
      r.id = s.col_int64(0);
      std::string path = s.col_text(1);
      r.size = s.col_int64(2);
      r.mtime_ns = s.col_int64(3);
      r.hash = s.col_text(4);
      r.current = s.col_int(5) && s.col_text(6) == model_id && s.col_text(7) == pooling;
      if (!r.hash.empty()) by_hash[r.hash].push_back({r.id, path});
      rows.emplace(std::move(path), std::move(r));
    }
  }
  std::unordered_set<int64_t> known_sizes;
  for (auto& [p, r] : rows) known_sizes.insert(r.size);
  std::unordered_map<std::string, FileStat> failures;
  {
    Stmt s(db, "SELECT path, mtime_ns, file_size FROM failures");
    while (s.step()) failures[s.col_text(0)] = {s.col_int64(2), s.col_int64(1)};
  }

  bool model_changed = !old_model.empty() && (old_model != model_id || old_pooling != pooling || old_dim != dim);
  if (model_changed) {
    int64_t stale = 0;
    for (auto& [p, r] : rows) stale += !r.current;
    note("model changed (" + old_model + " " + old_pooling + " -> " + model_id + " " + pooling +
         "): re-embedding " + std::to_string(stale) + " photos");
  }
  {
    Transaction t(db);
    meta_set(db, "model_id", model_id);
    meta_set(db, "model_dir", ep.model_dir);
    meta_set(db, "pooling", pooling);
    meta_set(db, "precision", precision);
    meta_set(db, "dim", std::to_string(dim));
    if (!params.faiss_factory.empty()) meta_set(db, "index_factory", params.faiss_factory);
    if (model_changed) bump_generation(db);
    t.commit();
  }
  if (model_changed) {
    // Rows of the old model leave the index; each re-embedded row joins it again.
    lib.sem_.reset();
    lib.dim_ = dim;
  }
  if (!params.faiss_factory.empty() && lib.sem_ && describe_index(lib.sem_.get()) != params.faiss_factory)
    sem_dirty = true;

  // ---- classify
  std::vector<Job> jobs;
  std::unordered_set<std::string> seen(files.begin(), files.end());
  struct Move {
    int64_t id;
    std::string new_path;
    FileStat st;
  };
  struct Copy {
    int64_t source_id;
    std::string path;
    FileStat st;
  };
  std::vector<Move> moves;
  std::vector<Copy> copies;
  std::vector<std::pair<int64_t, FileStat>> touch;  // same content, new mtime
  std::unordered_set<int64_t> claimed;              // rows taken by a move
  std::vector<std::string> fixed_failures;
  int64_t n_files = static_cast<int64_t>(files.size()), n_done = 0;
  for (const auto& path : files) {
    if (++n_done % 500 == 0) emit("scan", n_files, n_done, 0, 0);
    FileStat st;
    if (!stat_file(path, &st)) continue;
    auto it = rows.find(path);
    if (it != rows.end()) {
      CatalogRow& r = it->second;
      if (r.size == st.size && r.mtime_ns == st.mtime_ns) {
        if (r.current) {
          ++report.unchanged;
        } else {
          jobs.push_back({path, r.id, st, r.hash});
          ++report.reembedded;
        }
        continue;
      }
      std::string h;
      try {
        h = hash_file(path);
      } catch (const Error&) {
      }
      if (!h.empty() && h == r.hash) {
        touch.push_back({r.id, st});
        if (r.current) {
          ++report.unchanged;
        } else {
          jobs.push_back({path, r.id, st, h});
          ++report.reembedded;
        }
      } else {
        jobs.push_back({path, r.id, st, h});
        ++report.changed;
      }
      continue;
    }
    auto f = failures.find(path);
    if (f != failures.end() && f->second.size == st.size && f->second.mtime_ns == st.mtime_ns) continue;  // known broken
    if (f != failures.end()) fixed_failures.push_back(path);
    if (!looks_like_image(path)) continue;  // not a photo
    // Moves and copies have the size of a known photo: only those need hashing up front (a
    // fresh library hashes nothing twice; the decoders hash as they read).
    if (!known_sizes.count(st.size)) {
      jobs.push_back({path, 0, st, ""});
      ++report.added;
      continue;
    }
    std::string h;
    try {
      h = hash_file(path);
    } catch (const Error&) {
      jobs.push_back({path, 0, st, ""});  // the pipeline reports why it cannot be read
      continue;
    }
    auto hb = by_hash.find(h);
    bool handled = false;
    if (hb != by_hash.end()) {
      // Same bytes as a known photo: a move if that photo's file is gone, else a copy. Either
      // way nothing is decoded or embedded.
      for (auto& [id, old_path] : hb->second) {
        if (claimed.count(id) || seen.count(old_path)) continue;
        std::error_code ec;
        if (fs::exists(old_path, ec)) continue;
        claimed.insert(id);
        moves.push_back({id, path, st});
        handled = true;
        break;
      }
      if (!handled) {
        for (auto& [id, old_path] : hb->second) {
          auto r = rows.find(old_path);
          if (r != rows.end() && r->second.current && !claimed.count(id)) {
            copies.push_back({id, path, st});
            handled = true;
            break;
          }
        }
      }
    }
    if (handled) continue;
    jobs.push_back({path, 0, st, h});
    ++report.added;
  }
  // Deleted: rows under the roots whose files are gone (and were not moved).
  std::vector<int64_t> deletions;
  std::vector<std::string> gone_failures;
  if (params.prune_missing) {
    for (auto& [path, r] : rows) {
      if (seen.count(path) || claimed.count(r.id)) continue;
      bool under = false;
      for (auto& root : roots) under = under || under_root(path, root);
      if (!under) continue;
      std::error_code ec;
      if (fs::exists(path, ec)) continue;  // unreadable directory, not a deletion
      deletions.push_back(r.id);
    }
    for (auto& [path, st] : failures) {
      if (seen.count(path)) continue;
      bool under = false;
      for (auto& root : roots) under = under || under_root(path, root);
      std::error_code ec;
      if (under && !fs::exists(path, ec)) gone_failures.push_back(path);
    }
  }
  report.moved = static_cast<int64_t>(moves.size());
  report.deleted = static_cast<int64_t>(deletions.size());
  report.added += static_cast<int64_t>(copies.size());

  // ---- metadata-only changes, in one transaction
  if (!moves.empty() || !copies.empty() || !touch.empty() || !deletions.empty() || !gone_failures.empty() ||
      !fixed_failures.empty()) {
    Transaction t(db);
    Stmt mv(db, "UPDATE photos SET path = ?, folder = ?, file_size = ?, mtime_ns = ? WHERE id = ?");
    for (auto& m : moves) mv.bind(1, m.new_path).bind(2, folder_of(m.new_path)).bind(3, m.st.size).bind(4, m.st.mtime_ns).bind(5, m.id).run();
    Stmt tc(db, "UPDATE photos SET file_size = ?, mtime_ns = ? WHERE id = ?");
    for (auto& [id, st] : touch) tc.bind(1, st.size).bind(2, st.mtime_ns).bind(3, id).run();
    Stmt del(db, "DELETE FROM photos WHERE id = ?");
    for (int64_t id : deletions) del.bind(1, id).run();
    Stmt cm(db, "DELETE FROM cluster_members WHERE photo_id = ?");
    for (int64_t id : deletions) cm.bind(1, id).run();
    Stmt fd(db, "DELETE FROM failures WHERE path = ?");
    for (auto& p : gone_failures) fd.bind(1, p).run();
    for (auto& p : fixed_failures) fd.bind(1, p).run();
    // A copy shares everything but its path with the photo it duplicates.
    Stmt cp(db,
            "INSERT INTO photos (path, folder, format, mime, file_size, mtime_ns, content_hash, stored_width, "
            "stored_height, width, height, orientation, capture_time, capture_offset, capture_time_source, "
            "capture_unix, make, model, lens, focal_length, aperture, exposure, iso, gps_lat, gps_lon, gps_alt, "
            "rating, keywords, thumb_path, preview_path, color_hist, phash, embedding, model_id, pooling, "
            "precision, indexed_at) SELECT ?, ?, format, mime, ?, ?, content_hash, stored_width, stored_height, "
            "width, height, orientation, capture_time, capture_offset, capture_time_source, capture_unix, make, "
            "model, lens, focal_length, aperture, exposure, iso, gps_lat, gps_lon, gps_alt, rating, keywords, "
            "thumb_path, preview_path, color_hist, phash, embedding, model_id, pooling, precision, ? "
            "FROM photos WHERE id = ?");
    std::vector<int64_t> copy_ids;
    for (auto& c : copies) {
      cp.bind(1, c.path).bind(2, folder_of(c.path)).bind(3, c.st.size).bind(4, c.st.mtime_ns).bind(5, now_iso_utc()).bind(6, c.source_id).run();
      copy_ids.push_back(sqlite3_last_insert_rowid(db));
    }
    bump_generation(db);
    t.commit();
    pend_remove.insert(pend_remove.end(), deletions.begin(), deletions.end());
    // The copies' vectors, from the rows just written (fp16-decoded, as a rebuild would).
    if (!copy_ids.empty()) {
      Stmt q(db, "SELECT embedding, color_hist FROM photos WHERE id = ?");
      std::vector<float> v(dim);
      float c[kColorDim];
      for (int64_t id : copy_ids) {
        q.bind(1, id);
        if (q.step()) {
          decode_embedding(q.col_blob(0), q.col_bytes(0), v.data(), dim);
          pend_ids.push_back(id);
          pend_vecs.insert(pend_vecs.end(), v.begin(), v.end());
          if (q.col_bytes(1) == kColorDim * 4) {
            color_index_vector(static_cast<const float*>(q.col_blob(1)), c);
            pend_color_ids.push_back(id);
            pend_color.insert(pend_color.end(), c, c + kColorDim);
          }
        }
        q.reset();
      }
    }
    apply_pending();
  }

  // ---- decode + embed + commit
  if (!jobs.empty()) pipeline(jobs);

  // ---- final index: the type the library's size calls for, saved with its stamp
  emit("index", 0, 0, 0, 0);
  CatalogState st = read_state(db);
  std::string want = params.faiss_factory.empty() ? meta_get(db, "index_factory") : params.faiss_factory;
  if (want.empty()) want = choose_factory(st.sem_count, dim);
  auto kind = [](const std::string& f) { return f.substr(0, std::min(f.find_first_of("0123456789,"), f.size())); };
  if (lib.sem_ && kind(describe_index(lib.sem_.get())) != kind(want)) sem_dirty = true;
  if (lib.color_ && describe_index(lib.color_.get()) != choose_color_factory(st.color_count)) color_dirty = true;
  if ((lib.sem_ ? lib.sem_->ntotal : 0) != st.sem_count) sem_dirty = true;
  if ((lib.color_ ? lib.color_->ntotal : 0) != st.color_count) color_dirty = true;
  if (sem_dirty || color_dirty) {
    Transaction snapshot(db, false);
    st = read_state(db);
    if (sem_dirty) lib.rebuild_semantic(db, st, want == choose_factory(st.sem_count, dim) ? "" : want);
    if (color_dirty) lib.rebuild_color(db, st);
    snapshot.commit();
    sem_dirty = color_dirty = false;
  }
  lib.save_indexes(st);
  lib.dim_ = dim;
  report.seconds = now_s() - t_start;
  emit("done", report.scanned, report.scanned, report.images_per_s, 0);
  return report;
}

void Indexer::pipeline(std::vector<Job>& jobs) {
  const ModelInfo& mi = engine->info();
  const IngestParams ip = ingest_params_for(mi, params.ingest);
  const int S = mi.crop_size;
  const int batch = params.batch_size;
  int threads = params.decode_threads;
  if (threads <= 0) threads = std::clamp(static_cast<int>(std::thread::hardware_concurrency()) / 2, 2, 8);
  threads = std::min<int>(threads, static_cast<int>(jobs.size()));

  BoundedQueue<Decoded> queue(static_cast<size_t>(std::max(2 * batch, 4 * threads)));
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  const std::string dir = lib.dir();
  std::vector<std::thread> workers;
  std::atomic<int> live{threads};
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (;;) {
        size_t i = next.fetch_add(1);
        if (i >= jobs.size() || stop) break;
        Decoded d;
        d.job = jobs[i];
        try {
          IngestParams p = ip;
          const std::string& h = d.job.hash;
          // Thumbnails of known content are already on disk: skip re-encoding them.
          if (!h.empty() && thumb_exists(dir, thumb_rel_path(h, ".jpg"))) p.thumb_size = 0;
          if (!h.empty() && thumb_exists(dir, thumb_rel_path(h, ".preview.jpg"))) p.preview_size = 0;
          d.photo = ingest_file(d.job.path, p);
          const std::string& ch = d.photo.meta.content_hash;
          if (d.photo.model_input.size() != static_cast<size_t>(3) * S * S)
            throw Error(d.job.path + ": decoder returned no model input");
          if (!ch.empty()) {
            d.thumb_rel = thumb_rel_path(ch, ".jpg");
            d.preview_rel = thumb_rel_path(ch, ".preview.jpg");
            if (!d.photo.thumb_jpeg.empty()) write_thumb(dir, d.thumb_rel, d.photo.thumb_jpeg);
            if (!d.photo.preview_jpeg.empty()) write_thumb(dir, d.preview_rel, d.photo.preview_jpeg);
            if (!thumb_exists(dir, d.thumb_rel)) d.thumb_rel.clear();
            if (!thumb_exists(dir, d.preview_rel)) d.preview_rel.clear();
          }
          d.photo.thumb_jpeg.clear();
          d.photo.preview_jpeg.clear();
          d.ok = true;
        } catch (const std::exception& e) {
          d.ok = false;
          d.error = e.what();
          // Reasons are stored next to the path already; drop a repeated "path: " prefix.
          if (d.error.rfind(d.job.path + ": ", 0) == 0) d.error = d.error.substr(d.job.path.size() + 2);
        }
        if (!queue.push(std::move(d))) break;
      }
      if (--live == 0) queue.close();
    });
  }
  struct Joiner {
    std::vector<std::thread>& w;
    BoundedQueue<Decoded>& q;
    std::atomic<bool>& stop;
    ~Joiner() {
      stop = true;
      q.close();
      for (auto& t : w)
        if (t.joinable()) t.join();
    }
  } joiner{workers, queue, stop};

  Stmt ins(db,
           "INSERT OR REPLACE INTO photos (id, path, folder, format, mime, file_size, mtime_ns, content_hash, "
           "stored_width, stored_height, width, height, orientation, capture_time, capture_offset, "
           "capture_time_source, capture_unix, make, model, lens, focal_length, aperture, exposure, iso, "
           "gps_lat, gps_lon, gps_alt, rating, keywords, thumb_path, preview_path, color_hist, phash, embedding, "
           "model_id, pooling, precision, indexed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  Stmt fail(db, "INSERT OR REPLACE INTO failures (path, reason, mtime_ns, file_size) VALUES (?, ?, ?, ?)");
  Stmt unfail(db, "DELETE FROM failures WHERE path = ?");
  Stmt drop(db, "DELETE FROM photos WHERE id = ?");

  const int64_t total = static_cast<int64_t>(jobs.size());
  int64_t done = 0, since_commit = 0;
  double t0 = now_s();
  std::unique_ptr<Transaction> txn;
  auto commit = [&] {
    if (!txn) return;
    bump_generation(db);
    txn->commit();
    txn.reset();
    since_commit = 0;
    apply_pending();
    maybe_save(false);
  };

  std::vector<Decoded> pending;
  std::vector<float> pixels;
  auto flush_batch = [&] {
    if (pending.empty()) return;
    int b = static_cast<int>(pending.size());
    pixels.resize(static_cast<size_t>(b) * 3 * S * S);
    for (int i = 0; i < b; ++i)
      std::memcpy(&pixels[static_cast<size_t>(i) * 3 * S * S], pending[i].photo.model_input.data(), sizeof(float) * 3 * S * S);
    std::vector<float> emb = engine->embed(pixels.data(), b, S, S, params.pooling);
    if (!txn) txn = std::make_unique<Transaction>(db);
    std::string now = now_iso_utc();
    for (int i = 0; i < b; ++i) {
      Decoded& d = pending[i];
      const PhotoMetadata& m = d.photo.meta;
      auto half = encode_embedding(&emb[static_cast<size_t>(i) * dim], dim);
      nlohmann::json kw = m.keywords;
      int c = 1;
      if (d.job.id) ins.bind(c++, d.job.id); else ins.bind_null(c++);
      ins.bind(c++, d.job.path); ins.bind(c++, folder_of(d.job.path));
      ins.bind_text_or_null(c++, m.format); ins.bind_text_or_null(c++, m.mime);
      ins.bind(c++, d.job.st.size); ins.bind(c++, d.job.st.mtime_ns); ins.bind_text_or_null(c++, m.content_hash);
      ins.bind(c++, m.stored_width); ins.bind(c++, m.stored_height); ins.bind(c++, m.width); ins.bind(c++, m.height); ins.bind(c++, m.orientation);
      ins.bind_text_or_null(c++, m.capture_time); ins.bind_text_or_null(c++, m.capture_offset); ins.bind_text_or_null(c++, m.capture_time_source);
      if (m.capture_time.empty() && m.capture_unix == 0) ins.bind_null(c++); else ins.bind(c++, m.capture_unix);
      ins.bind_text_or_null(c++, m.make); ins.bind_text_or_null(c++, m.model); ins.bind_text_or_null(c++, m.lens);
      ins.bind(c++, m.focal_length_mm); ins.bind(c++, m.aperture_f); ins.bind(c++, m.exposure_s); ins.bind(c++, m.iso);
      ins.bind(c++, m.gps_lat); ins.bind(c++, m.gps_lon); ins.bind(c++, m.gps_alt); ins.bind(c++, m.rating);
      ins.bind(c++, kw.dump());
      ins.bind_text_or_null(c++, d.thumb_rel); ins.bind_text_or_null(c++, d.preview_rel);
      ins.bind_blob(c++, d.photo.color_hist.data(), sizeof(float) * kColorDim);
      ins.bind(c++, static_cast<int64_t>(d.photo.phash));
      ins.bind_blob(c++, half.data(), half.size() * 2);
      ins.bind(c++, model_id); ins.bind(c++, pooling); ins.bind(c++, precision); ins.bind(c++, now);
      ins.run();
      int64_t id = d.job.id ? d.job.id : sqlite3_last_insert_rowid(db);
      unfail.bind(1, d.job.path).run();
      if (d.job.id) pend_remove.push_back(id);
      // The index gets exactly what a rebuild from the catalog would: the fp16-rounded vector.
      std::vector<float> v(dim);
      decode_embedding(half.data(), static_cast<int>(half.size() * 2), v.data(), dim);
      pend_ids.push_back(id);
      pend_vecs.insert(pend_vecs.end(), v.begin(), v.end());
      float cv[kColorDim];
      color_index_vector(d.photo.color_hist.data(), cv);
      pend_color_ids.push_back(id);
      pend_color.insert(pend_color.end(), cv, cv + kColorDim);
      ++report.embedded;
      ++since_commit;
    }
    pending.clear();
    if (since_commit >= params.commit_every) commit();
  };

  Decoded d;
  while (queue.pop(&d)) {
    ++done;
    if (!d.ok) {
      ++report.failed;
      report.failures.push_back({d.job.path, d.error});
      if (!txn) txn = std::make_unique<Transaction>(db);
      fail.bind(1, d.job.path).bind(2, d.error).bind(3, d.job.st.mtime_ns).bind(4, d.job.st.size).run();
      // A photo whose file changed into something unreadable no longer has a valid row.
      if (d.job.id) {
        drop.bind(1, d.job.id).run();
        pend_remove.push_back(d.job.id);
      }
      ++since_commit;
      emit("embed", total, done, 0, 0, d.job.path, "failed: " + d.error);
    } else {
      pending.push_back(std::move(d));
      // Embed a full batch, or a partial one when the decoders have nothing ready (so the
      // model never idles waiting for a batch to fill at the end of the run).
      if (static_cast<int>(pending.size()) >= batch || (queue.empty() && live == 0)) flush_batch();
    }
    double el = now_s() - t0;
    double rate = el > 0 ? static_cast<double>(done) / el : 0;
    emit("embed", total, done, rate, rate > 0 ? static_cast<double>(total - done) / rate : 0, d.job.path);
    d = Decoded{};
  }
  flush_batch();
  commit();
  double el = now_s() - t0;
  report.images_per_s = el > 0 ? static_cast<double>(report.embedded) / el : 0;
  maybe_save(true);
}

EstimateReport LibraryImpl::estimate(const IndexParams& params, int sample) {
  EstimateReport er;
  std::vector<std::string> roots;
  for (const auto& r : params.roots) roots.push_back(normalize_path(r));
  auto files = scan_roots(roots, dir_, {});
  std::vector<std::string> photos;
  for (auto& f : files) {
    if (!looks_like_image(f)) continue;
    photos.push_back(f);
    std::error_code ec;
    er.bytes += static_cast<int64_t>(fs::file_size(f, ec));
  }
  er.files = static_cast<int64_t>(photos.size());
  if (photos.empty()) return er;
  sample = std::max(1, std::min<int>(sample, static_cast<int>(photos.size())));
  IndexParams p = params;
  p.roots.clear();
  for (int i = 0; i < sample; ++i) p.roots.push_back(photos[static_cast<size_t>(i) * photos.size() / sample]);
  // Index the sample into a scratch library: the same code path, this machine, these files.
  char tmpl[] = "/tmp/viewfinder-estimate-XXXXXX";
  if (!::mkdtemp(tmpl)) throw Error("cannot create a scratch directory in /tmp", ErrorCode::Io);
  std::string scratch = tmpl;
  struct Cleanup {
    std::string d;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(d, ec);
    }
  } cleanup{scratch};
  IndexReport r;
  LibraryInfo si;
  std::string model;
  {
    LibraryImpl tmp(scratch, false);
    r = tmp.index(p, {});
    si = tmp.info();
    model = tmp.model_dir();
  }
  er.sampled = sample;
  er.images_per_s = r.images_per_s;
  er.expected_seconds = r.images_per_s > 0 ? static_cast<double>(er.files) / r.images_per_s : 0;
  double per_photo_disk = static_cast<double>(si.catalog_bytes + si.thumbs_bytes) / std::max<int64_t>(1, r.embedded);
  std::string factory = choose_factory(er.files, si.dim);
  double per_vec = factory == "Flat" || factory.rfind("IVF", 0) == 0 ? si.dim * 4.0 + 16 : si.dim + 32 * 8.0 + 16;
  double color_vec = er.files < 100'000 ? kColorDim * 4.0 : kColorDim * 1.0;
  er.expected_disk_bytes = static_cast<int64_t>(er.files * (per_photo_disk + per_vec + color_vec));
  ModelInfo mi = inspect_model(model, false);
  er.expected_memory_bytes = static_cast<int64_t>(er.files * (per_vec + color_vec)) + mi.num_parameters * 4;
  return er;
}

}  // namespace vf::detail
