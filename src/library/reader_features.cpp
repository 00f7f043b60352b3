// The colour histogram and perceptual hash of a reader's photos. A Milvus collection carries
// the workers' vectors and metadata but no pixel features (512 floats a photo would cost the
// server more RAM than the vector), so a reader computes them from the shared files, with the
// decode a worker's indexing uses (ingest_file with the model's preprocessing): colour search
// and near duplicates then answer on the reader as on the worker's own library. Only photos
// without them are read (new and changed ones: a rewritten row has none), so a sync of an
// unchanged collection reads no file. A file that cannot be read, or resolves outside the
// reader's roots, stays without features and is tried again at the next sync.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include "common/real_paths.h"
#include "library/library_impl.h"
#include "viewfinder/image.h"
#include "viewfinder/system.h"

namespace vf::detail {
namespace {

constexpr size_t kFeatureBatch = 64;  // photos per transaction and progress report

struct PhotoFile {
  int64_t id;
  std::string path;
};

struct Features {
  bool ok = false;
  std::array<float, 512> color_hist{};
  uint64_t phash = 0;
};

// Which files a reader may read: those resolving inside one of its roots (all when it has none).
class ReadableFiles {
 public:
  explicit ReadableFiles(const std::vector<std::string>& roots) : limited_(!roots.empty()) {
    for (const auto& r : roots)
      if (auto real = real_path(r)) real_roots_.push_back(*real);
  }
  bool allows(const std::string& path) const {
    if (!limited_) return true;
    const auto real = real_path(path);
    return real && path_within_any(*real, real_roots_);
  }

 private:
  bool limited_;
  std::vector<std::string> real_roots_;
};

// Decodes the batch on `threads` threads (ingest_file is thread-safe: the indexer's decoders
// share it too).
std::vector<Features> read_features(const std::vector<PhotoFile>& batch, const IngestParams& ip,
                                    const ReadableFiles& readable, int threads) {
  std::vector<Features> out(batch.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next++) < batch.size();) {
      if (!readable.allows(batch[i].path)) continue;
      try {
        const IngestedPhoto p = ingest_file(batch[i].path, ip);
        out[i] = {true, p.color_hist, p.phash};
      } catch (const std::exception&) {
        // counted as failed by the caller; the next sync tries again
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  return out;
}

// Rows about to be removed (the collection no longer has them) are not read.
std::vector<PhotoFile> photos_without_features(sqlite3* db, const std::vector<int64_t>& kept) {
  std::vector<PhotoFile> todo;
  Stmt s(db, "SELECT id, path FROM photos WHERE color_hist IS NULL ORDER BY id");
  while (s.step())
    if (std::binary_search(kept.begin(), kept.end(), s.col_int64(0))) todo.push_back({s.col_int64(0), s.col_text(1)});
  return todo;
}

}  // namespace

void LibraryImpl::compute_reader_features(sqlite3* db, const MirrorParams& params, const std::string& model_dir,
                                          const std::vector<int64_t>& kept, MirrorReport& report) {
  const std::vector<PhotoFile> todo = photos_without_features(db, kept);
  if (todo.empty()) return;
  const auto t0 = std::chrono::steady_clock::now();
  IngestParams ip = model_dir.empty() ? IngestParams{} : ingest_params_for(inspect_model(model_dir, false));
  ip.thumb_size = 0;  // thumbnails and previews: made by the server on first view
  ip.preview_size = 0;
  const ReadableFiles readable(params.roots);
  const int threads = physical_core_count();
  const int64_t total = static_cast<int64_t>(todo.size());
  Stmt up(db, "UPDATE photos SET color_hist = ?, phash = ? WHERE id = ?");
  for (size_t at = 0; at < todo.size(); at += kFeatureBatch) {
    const std::vector<PhotoFile> batch(todo.begin() + at, todo.begin() + std::min(todo.size(), at + kFeatureBatch));
    const std::vector<Features> features = read_features(batch, ip, readable, threads);
    Transaction t(db);
    for (size_t i = 0; i < batch.size(); ++i) {
      if (!features[i].ok) {
        ++report.features_failed;
        continue;
      }
      up.bind_blob(1, features[i].color_hist.data(), sizeof(float) * features[i].color_hist.size())
          .bind(2, static_cast<int64_t>(features[i].phash))
          .bind(3, batch[i].id)
          .run();
      up.reset();
      ++report.features;
    }
    t.commit();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    report_sync_progress(params.progress, "features", static_cast<int64_t>(at + batch.size()), total, seconds);
  }
}

}  // namespace vf::detail
