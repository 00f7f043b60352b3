// What the server holds between requests: its parameters, the opened library (a
// Generation), the request queue and log, and the background re-index job.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/time_util.h"
#include "server/http_server.h"
#include "viewfinder/explain.h"
#include "viewfinder/library.h"
#include "viewfinder/search.h"
#include "viewfinder/server.h"

namespace vf::server {

// One opened state of the library. Rebuilt after re-indexing or re-clustering; requests
// hold a shared_ptr to the one they started with, so a swap never pulls a library out from
// under a running search.
struct Generation {
  std::unique_ptr<Library> library;
  EngineParams engine;
  // One Searcher for all requests: it is thread-safe (its engine loads once under a lock,
  // catalog reads take the library's lock) and holds the only copy of the model weights.
  std::unique_ptr<Searcher> shared_searcher;
  std::vector<std::string> roots;                    // canonical directories we may serve from
  std::string thumbs_root;                           // canonical library dir
  LibraryInfo info;
  json facets;
  std::vector<int64_t> examples;
  // Answers of whole-library walks (GET /api/duplicates, /api/stacks), most recently used
  // first, keyed by the parameters that change the answer; at most kDupesCacheEntries (each
  // can hold every photo).
  static constexpr size_t kDupesCacheEntries = 16;
  std::mutex cache_mu;
  std::list<std::pair<std::string, json>> dupes_cache;
  std::optional<json> cached_walk(const std::string& key) {
    std::lock_guard<std::mutex> lock(cache_mu);
    for (auto it = dupes_cache.begin(); it != dupes_cache.end(); ++it)
      if (it->first == key) {
        dupes_cache.splice(dupes_cache.begin(), dupes_cache, it);  // most recent first
        return it->second;
      }
    return std::nullopt;
  }
  void remember_walk(const std::string& key, const json& body) {
    std::lock_guard<std::mutex> lock(cache_mu);
    dupes_cache.emplace_front(key, body);
    if (dupes_cache.size() > kDupesCacheEntries) dupes_cache.pop_back();
  }

  Searcher& searcher(int /*slot*/) { return *shared_searcher; }

  // Patch features for /api/explain and region search (routes_explain.cpp), made on first use
  // with `params` (which say whose files may be read).
  std::mutex explain_mu;
  std::unique_ptr<Explainer> explainer;
  Explainer& explain(ExplainParams params) {
    std::lock_guard<std::mutex> lock(explain_mu);
    if (!explainer) explainer = std::make_unique<Explainer>(*library, engine, std::move(params));
    return *explainer;
  }
};

// POST /api/index runs here, one at a time, on its own thread.
struct IndexJob {
  std::mutex mu;
  bool running = false;
  IndexProgress progress;
  std::optional<IndexReport> last_report;
  std::string last_error;
  std::string started_at, finished_at;
  std::vector<std::string> roots;
  std::thread thread;
  std::atomic<bool> stop{false};
  std::thread refresher;             // a reader library's periodic sync (start_reader_refresh)
  std::condition_variable wake;      // wakes the refresher to stop
};

class ServerState {
 public:
  explicit ServerState(const ServerParams& params);
  ~ServerState();  // stops and joins a running re-index
  ServerState(const ServerState&) = delete;
  ServerState& operator=(const ServerState&) = delete;

  std::shared_ptr<Generation> gen();
  // Opens the library again (after re-indexing or clustering) and swaps it in.
  void reload();

  // Runs `fn(slot, queue_ms)` inside the request queue and returns its reply, or a 503 with
  // Retry-After when the queue is full.
  template <class Fn>
  Reply limited(Fn&& fn) {
    return limited(limiter, std::forward<Fn>(fn));
  }
  // The same in a given lane (limiter or upload_limiter).
  template <class Fn>
  Reply limited(Limiter& lane, Fn&& fn) {
    auto t0 = std::chrono::steady_clock::now();
    int slot = lane.acquire();
    if (slot < 0) {
      Reply r = error_reply(503, std::string("server busy: the ") + (&lane == &limiter ? "search" : "upload") +
                                     " queue is full (" + lane.stats().dump() + "); retry shortly");
      r.headers.emplace_back("Retry-After", "1");
      return r;
    }
    SlotGuard guard{lane, slot};
    return fn(slot, ms_since(t0));
  }

  const ServerParams params;
  RequestLog log;
  Limiter limiter;          // searches by id or colour, lists, duplicates, clusters
  Limiter upload_limiter;   // searches that decode and embed uploaded images
  std::string web_root;                        // canonical; "" when the UI is not installed
  std::vector<std::string> configured_roots;   // canonical --root directories
  IndexJob index;
  std::mutex cluster_mu;                       // one clustering at a time
  const std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::atomic<int64_t> requests{0};

 private:
  std::shared_ptr<Generation> load_generation() const;
  std::string resolve_web_root() const;

  std::mutex gen_mu_;
  std::shared_ptr<Generation> gen_;
};

}  // namespace vf::server
