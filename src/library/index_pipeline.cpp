// The decode -> embed -> commit pipeline, three stages on their own threads joined by bounded
// queues so that the engine never waits on anything but decoding:
//   decoder threads  ingest files (pixels, metadata, thumbnails written to the cache)
//   this thread      embeds them in batches (the engine; nothing else runs here)
//   commit thread    writes the rows, commits every params.commit_every photos and brings the
//                    vector stores along; the only thread that touches the Indexer's report
// Each stage's time lands in report.stages (what `bench/run index` prints).
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "catalog/photo_row.h"
#include "library/index_pipeline_cpu.h"
#include "library/indexer.h"

namespace vf::detail {
namespace fs = std::filesystem;

namespace {

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
  size_t size() {
    std::lock_guard<std::mutex> lk(mu_);
    return q_.size();
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
    if (!out) {
      out.close();
      fs::remove(tmp, ec);  // a full disk must not keep the half-written file
      throw Error(path + ": cannot write thumbnail (disk full?)", ErrorCode::Io);
    }
  }
  fs::rename(tmp, path, ec);
  if (ec) throw Error(path + ": cannot write thumbnail: " + ec.message(), ErrorCode::Io);
}

bool thumb_exists(const std::string& library_dir, const std::string& rel) {
  std::error_code ec;
  auto n = fs::file_size(library_dir + "/" + rel, ec);
  return !ec && n > 0;
}

// One file through ingestion (decoder thread): pixels for the model, metadata, thumbnails
// written to the cache. Never throws: a failure is recorded in the result.
struct DecoderClock {
  std::atomic<int64_t> decode_ns{0}, write_ns{0};
};

int64_t ns_since(double t0) { return static_cast<int64_t>((now_s() - t0) * 1e9); }

Decoded decode_job(const Job& job, const IngestParams& ip, int crop, const std::string& dir, DecoderClock& clock) {
  Decoded d;
  double t0 = now_s();
  d.job = job;
  try {
    IngestParams p = ip;
    const std::string& h = d.job.hash;
    // Thumbnails of known content are already on disk: skip re-encoding them.
    if (!h.empty() && thumb_exists(dir, thumb_rel_path(h, ".jpg"))) p.thumb_size = 0;
    if (!h.empty() && thumb_exists(dir, thumb_rel_path(h, ".preview.jpg"))) p.preview_size = 0;
    d.photo = ingest_file(d.job.path, p);
    clock.decode_ns += ns_since(t0);
    t0 = now_s();
    const std::string& ch = d.photo.meta.content_hash;
    if (d.photo.model_input.size() != static_cast<size_t>(3) * crop * crop)
      throw Error(d.job.path + ": decoder returned no model input");
    if (!ch.empty()) {
      d.thumb_rel = thumb_rel_path(ch, ".jpg");
      d.preview_rel = thumb_rel_path(ch, ".preview.jpg");
      if (!d.photo.thumb_jpeg.empty()) write_thumb(dir, d.thumb_rel, d.photo.thumb_jpeg);
      if (!d.photo.preview_jpeg.empty()) write_thumb(dir, d.preview_rel, d.photo.preview_jpeg);
      if (!thumb_exists(dir, d.thumb_rel)) d.thumb_rel.clear();
      if (!thumb_exists(dir, d.preview_rel)) d.preview_rel.clear();
    }
    clock.write_ns += ns_since(t0);
    d.photo.thumb_jpeg.clear();
    d.photo.preview_jpeg.clear();
    d.ok = true;
  } catch (const std::exception& e) {
    d.ok = false;
    d.error = e.what();
    // Reasons are stored next to the path already; drop a repeated "path: " prefix.
    if (d.error.rfind(d.job.path + ": ", 0) == 0) d.error = d.error.substr(d.job.path.size() + 2);
  }
  return d;
}

// The decoder threads: each takes the next job, decodes it and queues the result. Joined
// (after closing the queue) when the pool dies, on every path out of the pipeline.
class DecoderPool {
 public:
  DecoderPool(const std::vector<Job>& jobs, int threads, size_t queue_size, const IngestParams& ip, int crop,
              const std::string& dir)
      : queue_(queue_size), live_(threads) {
    for (int t = 0; t < threads; ++t)
      workers_.emplace_back([this, &jobs, ip, crop, dir] {
        name_this_thread(kDecoderThreadName);  // not the engine's (index_pipeline_cpu.h)
        for (;;) {
          size_t i = next_.fetch_add(1);
          if (i >= jobs.size() || stop_) break;
          if (!queue_.push(decode_job(jobs[i], ip, crop, dir, clock_))) break;
        }
        if (--live_ == 0) queue_.close();
      });
  }
  ~DecoderPool() {
    stop_ = true;
    queue_.close();
    for (auto& t : workers_)
      if (t.joinable()) t.join();
  }
  bool pop(Decoded* d) { return queue_.pop(d); }
  // Nothing decoded is waiting and nothing more will come.
  bool drained() { return queue_.empty() && live_ == 0; }
  size_t waiting() { return queue_.size(); }
  const DecoderClock& clock() const { return clock_; }

 private:
  DecoderClock clock_;
  BoundedQueue<Decoded> queue_;
  std::atomic<size_t> next_{0};
  std::atomic<bool> stop_{false};
  std::atomic<int> live_;
  std::vector<std::thread> workers_;
};

}  // namespace

// Photos the engine is done with, in the order they were decoded: failures (ok == false) and
// embedded photos, whose vectors are the rows of `embeddings` in order.
struct CommitItem {
  std::vector<Decoded> photos;
  std::vector<float> embeddings;
};

// The commit thread's work: writes rows (and failures), commits every params.commit_every
// photos, reports progress. Only this thread touches the Indexer's report and stores.
class Committer {
 public:
  Committer(Indexer& ix, int64_t total)
      : ix_(ix), db_(ix.db), total_(total), t0_(now_s()),
        ins_(db_, catalog::photo_upsert_sql()),
        fail_(db_, "INSERT OR REPLACE INTO failures (path, reason, mtime_ns, file_size) VALUES (?, ?, ?, ?)"),
        unfail_(db_, "DELETE FROM failures WHERE path = ?"),
        drop_(db_, "DELETE FROM photos WHERE id = ?") {}

  void write(CommitItem& item) {
    const double t = now_s();
    const std::string now = now_iso_utc();
    size_t row = 0;
    for (Decoded& d : item.photos) {
      ++done_;
      if (!d.ok) {
        record_failure(d);
        progress(d.job.path, "failed: " + d.error);
        continue;
      }
      write_photo(d, &item.embeddings[row++ * static_cast<size_t>(ix_.dim)], now);
      progress(d.job.path, "");
    }
    if (since_commit_ >= ix_.params.commit_every) commit();
    ix_.report.stages.commit += now_s() - t;
  }

  void commit() {
    if (!txn_) return;
    bump_generation(db_);
    txn_->commit();
    txn_.reset();
    since_commit_ = 0;
    ix_.apply_pending();
    ix_.maybe_save(false);
  }

 private:
  void progress(const std::string& path, const std::string& message) {
    const double el = now_s() - t0_;
    const double rate = el > 0 ? static_cast<double>(done_) / el : 0;
    ix_.emit("embed", total_, done_, rate, rate > 0 ? static_cast<double>(total_ - done_) / rate : 0, path, message);
  }

  void record_failure(const Decoded& d) {
    ++ix_.report.failed;
    ix_.report.failures.push_back({d.job.path, d.error});
    begin();
    fail_.bind(1, d.job.path).bind(2, d.error).bind(3, d.job.st.mtime_ns).bind(4, d.job.st.size).run();
    // A photo whose file changed into something unreadable no longer has a valid row.
    if (d.job.id) {
      drop_.bind(1, d.job.id).run();
      ix_.pend_remove.push_back(d.job.id);
    }
    ++since_commit_;
  }

  void begin() {
    if (!txn_) txn_ = std::make_unique<Transaction>(db_);
  }

  void write_photo(Decoded& d, const float* embedding, const std::string& now) {
    // In the batch's transaction: commit() brings the stores up to it (a Milvus store gets
    // its upserts there), and a crash never leaves half a batch.
    begin();
    const int dim = ix_.dim;
    catalog::PhotoRow row;
    row.id = d.job.id;
    row.path = d.job.path;
    row.folder = folder_of(d.job.path);
    row.meta = std::move(d.photo.meta);
    row.meta.file_size = d.job.st.size;
    row.meta.mtime_ns = d.job.st.mtime_ns;
    row.thumb_rel = d.thumb_rel;
    row.preview_rel = d.preview_rel;
    row.color_hist.assign(d.photo.color_hist.begin(), d.photo.color_hist.end());
    row.has_phash = true;
    row.phash = d.photo.phash;
    row.embedding = encode_embedding(embedding, dim);
    row.model_id = ix_.model_id;
    row.pooling = ix_.pooling;
    row.precision = ix_.precision;
    row.indexed_at = now;
    catalog::bind_photo_row(ins_, row);
    ins_.run();
    int64_t id = d.job.id ? d.job.id : sqlite3_last_insert_rowid(db_);
    unfail_.bind(1, d.job.path).run();
    if (d.job.id) ix_.pend_remove.push_back(id);
    // The store gets exactly what a rebuild from the catalog would: the fp16-rounded vector.
    std::vector<float> v(dim);
    decode_embedding(row.embedding.data(), static_cast<int>(row.embedding.size() * 2), v.data(), dim);
    ix_.queue_vectors(id, v.data(), d.photo.color_hist.data());
    ++ix_.report.embedded;
    ++since_commit_;
  }

  Indexer& ix_;
  sqlite3* db_;
  const int64_t total_;
  const double t0_;
  int64_t done_ = 0;
  Stmt ins_, fail_, unfail_, drop_;
  std::unique_ptr<Transaction> txn_;
  int64_t since_commit_ = 0;
};


// The commit stage on its own thread. Closing and joining happen in the destructor on every
// path out of the pipeline; an error on the thread is rethrown by finish().
class CommitThread {
 public:
  CommitThread(Indexer& ix, int64_t total, size_t queue_size) : queue_(queue_size), committer_(ix, total) {
    thread_ = std::thread([this] {
      name_this_thread(kCommitThreadName);
      try {
        CommitItem item;
        while (queue_.pop(&item)) committer_.write(item);
        committer_.commit();
      } catch (...) {
        error_ = std::current_exception();
        queue_.close();  // the engine thread stops at its next push
      }
      cpu_s_ = thread_cpu_s();
    });
  }
  ~CommitThread() {
    queue_.close();
    if (thread_.joinable()) thread_.join();
  }
  // False when the commit thread has stopped on an error (finish() rethrows it).
  bool push(CommitItem item) { return queue_.push(std::move(item)); }
  void finish() {
    queue_.close();
    if (thread_.joinable()) thread_.join();
    if (error_) std::rethrow_exception(error_);
  }
  double cpu_s() const { return cpu_s_; }  // after finish()

 private:
  BoundedQueue<CommitItem> queue_;
  Committer committer_;
  std::exception_ptr error_;
  double cpu_s_ = 0;
  std::thread thread_;
};

// The engine stage: batches of decoded photos through the model, handed on to the commit thread.
class Embedder {
 public:
  Embedder(Indexer& ix, CommitThread& commits) : ix_(ix), commits_(commits), crop_(ix.engine->info().crop_size) {}

  void add(Decoded d) { pending_.push_back(std::move(d)); }
  size_t pending() const { return pending_.size(); }
  bool pass_failure(Decoded d) {
    CommitItem item;
    item.photos.push_back(std::move(d));
    return send(std::move(item));
  }
  bool flush() {
    if (pending_.empty()) return true;
    const double t = now_s();
    const int b = static_cast<int>(pending_.size());
    const size_t plane = static_cast<size_t>(3) * crop_ * crop_;
    pixels_.resize(static_cast<size_t>(b) * plane);
    for (int i = 0; i < b; ++i)
      std::memcpy(&pixels_[static_cast<size_t>(i) * plane], pending_[i].photo.model_input.data(), sizeof(float) * plane);
    CommitItem item;
    item.embeddings = ix_.engine->embed(pixels_.data(), b, crop_, crop_, ix_.params.pooling);
    embed_s += now_s() - t;
    for (auto& d : pending_) d.photo.model_input = {};  // the committer needs no pixels
    item.photos = std::move(pending_);
    pending_.clear();
    return send(std::move(item));
  }

  double embed_s = 0, wait_s = 0;

 private:
  bool send(CommitItem item) {
    const double t = now_s();
    const bool ok = commits_.push(std::move(item));
    wait_s += now_s() - t;  // a full commit queue stalls the engine too
    return ok;
  }

  Indexer& ix_;
  CommitThread& commits_;
  const int crop_;
  std::vector<Decoded> pending_;
  std::vector<float> pixels_;
};

void Indexer::pipeline(std::vector<Job>& jobs) {
  const ModelInfo& mi = engine->info();
  IngestParams ip = ingest_params_for(mi, params.ingest);
  // Previews are the server's to make on first view (and cache) unless asked for: at indexing
  // they cost a second, larger decode of every big photo (IndexParams::make_previews; the
  // library remembers the last explicit choice).
  if (!params.make_previews.value_or(meta_get(db, "make_previews") == "1")) ip.preview_size = 0;
  const int batch = params.batch_size;
  int threads = params.decode_threads;
  if (threads <= 0) threads = std::clamp(static_cast<int>(std::thread::hardware_concurrency()) / 2, 2, 8);
  threads = std::min<int>(threads, static_cast<int>(jobs.size()));
  const size_t queue_size = static_cast<size_t>(std::max(2 * batch, 4 * threads));

  const double t0 = now_s(), cpu0 = process_cpu_s();
  const auto tasks0 = task_cpu_snapshot();
  CommitThread commits(*this, static_cast<int64_t>(jobs.size()), 4);
  Embedder embedder(*this, commits);
  double queue_sum = 0;
  int64_t batches = 0;
  {
    DecoderPool decoders(jobs, threads, queue_size, ip, mi.crop_size, lib.dir());
    Decoded d;
    bool running = true;
    for (;;) {
      const double tw = now_s();
      if (!decoders.pop(&d)) break;
      embedder.wait_s += now_s() - tw;
      if (!d.ok) {
        running = embedder.pass_failure(std::move(d));
      } else {
        embedder.add(std::move(d));
        // Embed a full batch, or a partial one when the decoders have nothing ready (so the
        // model never idles waiting for a batch to fill at the end of the run).
        if (static_cast<int>(embedder.pending()) >= batch || decoders.drained()) {
          queue_sum += static_cast<double>(decoders.waiting());
          ++batches;
          running = embedder.flush();
        }
      }
      d = Decoded{};
      if (!running) break;  // the commit thread failed: finish() says why
    }
    if (running) embedder.flush();
    report.stages.decode = static_cast<double>(decoders.clock().decode_ns.load()) / 1e9;
    report.stages.thumb_write = static_cast<double>(decoders.clock().write_ns.load()) / 1e9;
  }
  commits.finish();
  report.stages.cpu_engine = engine_cpu_between(tasks0, task_cpu_snapshot());
  report.stages.cpu_total = process_cpu_s() - cpu0;
  report.stages.cpu_commit = commits.cpu_s();
  report.stages.cpu_decode = std::max(0.0, report.stages.cpu_total - report.stages.cpu_engine - report.stages.cpu_commit);
  const double el = now_s() - t0;
  report.images_per_s = el > 0 ? static_cast<double>(report.embedded) / el : 0;
  report.stages.pipeline = el;
  report.stages.embed = embedder.embed_s;
  report.stages.engine_wait = embedder.wait_s;
  report.stages.queue_mean = batches > 0 ? queue_sum / static_cast<double>(batches) : 0;
  report.stages.queue_capacity = static_cast<int>(queue_size);
  report.stages.decode_threads = threads;
  maybe_save(true);
}

}  // namespace vf::detail
