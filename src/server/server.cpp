// The HTTP server: JSON API over the public library/search API, and the static web UI.
//
// Request path: httplib worker thread -> pre-routing (start clock, auth) -> route handler.
// Search-like handlers (anything that embeds, scans the index or the catalog at length) go
// through the Limiter, the spec's request queue: at most max_concurrent run, at most
// max_queue wait, and anything beyond gets 503 + Retry-After at once, so an overloaded
// server answers instead of hanging.
//
// Files are only ever served by catalog id: the handler looks the photo up, resolves its
// path with realpath, requires the result to lie inside the library roots (or the library's
// thumbs/ for thumbnails), opens it and checks size and mtime against the catalog, so a
// file swapped for a symlink to elsewhere, or replaced since indexing, is refused.
#include <fcntl.h>
#include <httplib.h>
#include <signal.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "common/time_util.h"
#include "server/server_util.h"
#include "viewfinder/image.h"
#include "viewfinder/library.h"
#include "viewfinder/search.h"
#include "viewfinder/server.h"
#include "viewfinder/viewfinder.h"

namespace vf {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}


// An HTTP error with a JSON body; thrown inside handlers and turned into the response.
struct HttpError {
  int status;
  std::string message;
};

int status_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::NotFound: return 404;
    case ErrorCode::InvalidArgument: return 400;
    case ErrorCode::BadImage: return 415;
    case ErrorCode::TooLarge: return 413;
    case ErrorCode::Timeout: return 422;
    default: return 500;
  }
}

void send_json(httplib::Response& res, const json& body, int status = 200) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void send_error(httplib::Response& res, int status, const std::string& message) {
  send_json(res, json{{"error", message}, {"status", status}}, status);
}

// ---- request log ------------------------------------------------------------------------
class RequestLog {
 public:
  explicit RequestLog(const std::string& file) {
    if (!file.empty()) {
      file_ = std::fopen(file.c_str(), "a");
      if (!file_) throw Error("cannot open log file " + file + ": " + std::strerror(errno), ErrorCode::Io);
    }
  }
  ~RequestLog() {
    if (file_) std::fclose(file_);
  }
  void line(const std::string& text) {
    std::lock_guard<std::mutex> lock(mu_);
    FILE* f = file_ ? file_ : stderr;
    std::fprintf(f, "%s %s\n", now_iso_utc().c_str(), text.c_str());
    std::fflush(f);
  }

 private:
  FILE* file_ = nullptr;
  std::mutex mu_;
};

// Start of the request being handled on this worker thread (set in pre-routing; httplib
// runs pre-routing, the handler and the logger on one thread).
thread_local Clock::time_point t_request_start{};
thread_local bool t_request_started = false;

// ---- the request queue ------------------------------------------------------------------
class Limiter {
 public:
  Limiter(int max_concurrent, int max_queue, double timeout_s)
      : max_running_(max_concurrent), max_waiting_(max_queue), timeout_s_(timeout_s),
        slots_free_(max_concurrent, true) {}

  // Returns a slot index in [0, max_concurrent), or -1 when the queue is full or the wait
  // timed out. The slot index identifies the running search.
  int acquire() {
    std::unique_lock<std::mutex> lock(mu_);
    if (running_ >= max_running_) {
      if (waiting_ >= max_waiting_) {
        ++rejected_;
        return -1;
      }
      ++waiting_;
      bool ok = cv_.wait_for(lock, std::chrono::duration<double>(timeout_s_),
                             [&] { return running_ < max_running_; });
      --waiting_;
      if (!ok) {
        ++rejected_;
        return -1;
      }
    }
    ++running_;
    ++served_;
    for (size_t i = 0; i < slots_free_.size(); ++i)
      if (slots_free_[i]) {
        slots_free_[i] = false;
        return int(i);
      }
    return 0;  // unreachable: running_ < max_running_ guarantees a free slot
  }
  void release(int slot) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      --running_;
      slots_free_[size_t(slot)] = true;
    }
    cv_.notify_one();
  }
  json stats() {
    std::lock_guard<std::mutex> lock(mu_);
    return {{"max_concurrent", max_running_}, {"max_queue", max_waiting_}, {"running", running_},
            {"queued", waiting_}, {"served", served_}, {"rejected", rejected_}};
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int max_running_, max_waiting_;
  double timeout_s_;
  int running_ = 0, waiting_ = 0;
  int64_t served_ = 0, rejected_ = 0;
  std::vector<bool> slots_free_;
};

struct SlotGuard {
  Limiter& limiter;
  int slot;
  ~SlotGuard() { limiter.release(slot); }
};

// ---- one opened state of the library ----------------------------------------------------
// Rebuilt after re-indexing or re-clustering; requests hold a shared_ptr to the one they
// started with, so a swap never pulls a library out from under a running search.
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
  std::mutex cache_mu;
  std::map<std::string, json> dupes_cache;

  Searcher& searcher(int /*slot*/) { return *shared_searcher; }
};

json photo_summary(const PhotoRecord& p) {
  const auto& m = p.meta;
  std::string id = std::to_string(p.id);
  json j = {{"id", p.id},
            {"name", server::basename_of(p.path)},
            {"path", p.path},
            {"folder", p.folder},
            {"format", m.format},
            {"width", m.width},
            {"height", m.height},
            {"capture_time", m.capture_time},
            {"make", m.make},
            {"model", m.model},
            {"lens", m.lens},
            {"rating", m.rating ? json(*m.rating) : json(nullptr)},
            {"thumb_url", "/api/photos/" + id + "/thumb"},
            {"preview_url", "/api/photos/" + id + "/preview"},
            {"original_url", "/api/photos/" + id + "/original"}};
  return j;
}

template <class T>
json opt(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

json photo_detail(const PhotoRecord& p) {
  json j = photo_summary(p);
  const auto& m = p.meta;
  j["mime"] = m.mime;
  j["file_size"] = m.file_size;
  j["content_hash"] = m.content_hash;
  j["stored_width"] = m.stored_width;
  j["stored_height"] = m.stored_height;
  j["orientation"] = m.orientation;
  j["capture_offset"] = m.capture_offset;
  j["capture_time_source"] = m.capture_time_source;
  j["capture_unix"] = m.capture_unix;
  j["focal_length_mm"] = opt(m.focal_length_mm);
  j["aperture_f"] = opt(m.aperture_f);
  j["exposure_s"] = opt(m.exposure_s);
  j["iso"] = opt(m.iso);
  j["gps"] = m.gps_lat && m.gps_lon ? json{{"lat", *m.gps_lat}, {"lon", *m.gps_lon}, {"alt", opt(m.gps_alt)}}
                                    : json(nullptr);
  j["keywords"] = m.keywords;
  return j;
}

json hit_json(const SearchHit& h) {
  json j = photo_summary(h.photo);
  j["id"] = h.id;
  j["score"] = h.score;
  j["semantic"] = h.semantic;
  j["color"] = h.color;
  return j;
}

json timings_json(const SearchTimings& t) {
  return {{"decode_ms", t.decode_ms}, {"embed_ms", t.embed_ms}, {"search_ms", t.search_ms},
          {"total_ms", t.total_ms}};
}

json info_json(const LibraryInfo& i) {
  return {{"dir", i.dir},
          {"photos", i.photos},
          {"embedded", i.embedded},
          {"failed", i.failed},
          {"model_id", i.model_id},
          {"pooling", i.pooling},
          {"precision", i.precision},
          {"dim", i.dim},
          {"index_type", i.index_type},
          {"index_vectors", i.index_vectors},
          {"catalog_bytes", i.catalog_bytes},
          {"index_bytes", i.index_bytes},
          {"thumbs_bytes", i.thumbs_bytes},
          {"index_memory_bytes", i.index_memory_bytes},
          {"last_indexed", i.last_indexed}};
}

// ---- parsing requests into queries ------------------------------------------------------
std::string json_scalar_string(const json& v, const std::string& key) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number()) {
    std::ostringstream s;
    s << v.get<double>();
    return s.str();
  }
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  throw Error("'" + key + "' must be a string or number", ErrorCode::InvalidArgument);
}

// Filters from a flat string map (query parameters, form fields, or a JSON object's
// members rendered as strings). Unknown keys are ignored by the caller's choice of map.
Filters parse_filters(const std::map<std::string, std::string>& f) {
  Filters out;
  auto get = [&](const char* k) -> const std::string* {
    auto it = f.find(k);
    return it == f.end() || it->second.empty() ? nullptr : &it->second;
  };
  if (auto v = get("date_from")) out.date_from = server::parse_date(*v, false);
  if (auto v = get("date_to")) out.date_to = server::parse_date(*v, true);
  if (auto v = get("make")) out.make = *v;
  if (auto v = get("model")) out.model = *v;
  if (auto v = get("camera")) {
    // "Make Model" as the UI lists it: the model string alone identifies the camera well.
    out.model = *v;
  }
  if (auto v = get("lens")) out.lens = *v;
  if (auto v = get("folder")) out.path_prefix = *v;
  if (auto v = get("path_prefix")) out.path_prefix = *v;
  if (auto v = get("format")) out.format = *v;
  if (auto v = get("orientation")) {
    if (*v != "landscape" && *v != "portrait" && *v != "square")
      throw Error("bad orientation '" + *v + "' (landscape, portrait or square)", ErrorCode::InvalidArgument);
    out.orientation = *v;
  }
  if (auto v = get("min_width")) out.min_width = int(server::parse_int(*v, "min_width", 0, 1 << 20));
  if (auto v = get("min_height")) out.min_height = int(server::parse_int(*v, "min_height", 0, 1 << 20));
  if (auto v = get("min_rating")) out.min_rating = int(server::parse_int(*v, "min_rating", -1, 5));
  if (auto v = get("gps_bbox")) {
    std::array<double, 4> b{};
    std::stringstream ss(*v);
    std::string part;
    int n = 0;
    while (std::getline(ss, part, ',') && n < 4) b[size_t(n++)] = server::parse_number(part, "gps_bbox", -180, 180);
    if (n != 4) throw Error("gps_bbox wants min_lat,min_lon,max_lat,max_lon", ErrorCode::InvalidArgument);
    out.gps_bbox = b;
  }
  return out;
}

std::map<std::string, std::string> flatten_filters(const json& j) {
  std::map<std::string, std::string> m;
  if (j.is_null()) return m;
  if (!j.is_object()) throw Error("'filters' must be an object", ErrorCode::InvalidArgument);
  for (auto& [k, v] : j.items()) {
    if (v.is_null()) continue;
    if (k == "gps_bbox" && v.is_array()) {
      std::string s;
      for (auto& x : v) s += (s.empty() ? "" : ",") + json_scalar_string(x, k);
      m[k] = s;
    } else {
      m[k] = json_scalar_string(v, k);
    }
  }
  return m;
}

std::map<std::string, std::string> params_map(const httplib::Request& req) {
  std::map<std::string, std::string> m;
  for (auto& [k, v] : req.params) m[k] = v;
  return m;
}

std::vector<int64_t> id_list(const json& v, const std::string& key) {
  std::vector<int64_t> out;
  if (v.is_null()) return out;
  if (v.is_number_integer()) return {v.get<int64_t>()};
  if (!v.is_array()) throw Error("'" + key + "' must be an array of photo ids", ErrorCode::InvalidArgument);
  for (auto& x : v) {
    if (x.is_number_integer()) out.push_back(x.get<int64_t>());
    else if (x.is_string()) out.push_back(server::parse_int(x.get<std::string>(), key, 1, INT64_MAX));
    else throw Error("'" + key + "' must be an array of photo ids", ErrorCode::InvalidArgument);
  }
  return out;
}

// The common numeric knobs of every search request.
void apply_query_options(const json& q, SearchQuery& out) {
  auto num = [&](const char* k, double lo, double hi) -> std::optional<double> {
    if (!q.contains(k) || q[k].is_null()) return std::nullopt;
    return server::parse_number(json_scalar_string(q[k], k), k, lo, hi);
  };
  if (auto v = num("k", 1, 1000)) out.k = int(*v);
  if (auto v = num("offset", 0, 100000)) out.offset = int(*v);
  if (auto v = num("min_score", -2, 2)) out.min_score = float(*v);
  if (auto v = num("negative_weight", 0, 4)) out.negative_weight = float(*v);
  if (q.contains("preset") && q["preset"].is_string() && !q["preset"].get<std::string>().empty()) {
    auto name = q["preset"].get<std::string>();
    auto a = preset_alpha(name);
    if (!a) throw Error("unknown preset '" + name + "' (portrait, landscape, product)", ErrorCode::InvalidArgument);
    out.alpha = *a;
  }
  if (auto v = num("alpha", 0, 1)) out.alpha = float(*v);
  if (q.contains("exclude_query_ids") && q["exclude_query_ids"].is_boolean())
    out.exclude_query_ids = q["exclude_query_ids"].get<bool>();
  if (q.contains("colors") && !q["colors"].is_null()) {
    const auto& c = q["colors"];
    if (c.is_string()) {
      std::stringstream ss(c.get<std::string>());
      std::string part;
      while (std::getline(ss, part, ','))
        if (!part.empty()) out.colors.push_back(server::normalise_hex_color(part));
    } else if (c.is_array()) {
      for (auto& x : c) out.colors.push_back(server::normalise_hex_color(json_scalar_string(x, "colors")));
    } else {
      throw Error("'colors' must be an array of #rrggbb strings", ErrorCode::InvalidArgument);
    }
    if (out.colors.size() > 16) throw Error("at most 16 colours", ErrorCode::InvalidArgument);
  }
  out.filters = parse_filters(flatten_filters(q.contains("filters") ? q["filters"] : json(nullptr)));
  auto pos = id_list(q.contains("ids") ? q["ids"] : json(nullptr), "ids");
  auto pos2 = id_list(q.contains("positive_ids") ? q["positive_ids"] : json(nullptr), "positive_ids");
  pos.insert(pos.end(), pos2.begin(), pos2.end());
  out.positive_ids = pos;
  out.negative_ids = id_list(q.contains("negative_ids") ? q["negative_ids"] : json(nullptr), "negative_ids");
  if (out.positive_ids.size() + out.negative_ids.size() > 64)
    throw Error("at most 64 example ids", ErrorCode::InvalidArgument);
}

// Query parameters of a GET (?k=..&alpha=..&date_from=..) as a JSON query object.
json query_from_params(const httplib::Request& req) {
  json q = json::object();
  json filters = json::object();
  static const std::set<std::string> options = {"k", "offset", "min_score", "alpha", "preset",
                                                "colors", "negative_weight"};
  for (auto& [k, v] : req.params) {
    if (options.count(k)) q[k] = v;
    else filters[k] = v;
  }
  q["filters"] = filters;
  return q;
}

// ---- server state -----------------------------------------------------------------------
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
};

struct StopIndexing {};

class App {
 public:
  explicit App(const ServerParams& p)
      : params_(p), log_(p.log_file), limiter_(p.max_concurrent, p.max_queue, p.queue_timeout_s) {
    started_ = Clock::now();
    web_root_ = resolve_web_root();
    for (auto& r : params_.roots) {
      auto rp = server::real_path(r);
      if (!rp) throw Error("root " + r + " does not exist", ErrorCode::NotFound);
      configured_roots_.push_back(*rp);
    }
    gen_ = load_generation();
  }

  ~App() {
    index_.stop = true;
    if (index_.thread.joinable()) index_.thread.join();
  }

  void install(httplib::Server& svr);
  RequestLog& log() { return log_; }
  const std::string& web_root() const { return web_root_; }

 private:
  std::string resolve_web_root() const {
    std::vector<std::string> candidates;
    if (!params_.web_root.empty()) candidates.push_back(params_.web_root);
#ifdef VF_WEB_ROOT_SOURCE
    candidates.push_back(VF_WEB_ROOT_SOURCE);
#endif
#ifdef VF_WEB_ROOT_INSTALL
    candidates.push_back(VF_WEB_ROOT_INSTALL);
#endif
    for (auto& c : candidates) {
      struct stat st{};
      if (::stat((c + "/index.html").c_str(), &st) == 0) {
        auto rp = server::real_path(c);
        if (rp) return *rp;
      }
      if (!params_.web_root.empty() && c == params_.web_root)
        throw Error("web root " + c + " has no index.html", ErrorCode::NotFound);
    }
    return "";  // the API still works; "/" explains that the UI is missing
  }

  std::shared_ptr<Generation> load_generation() {
    auto g = std::make_shared<Generation>();
    g->library = Library::open(params_.library_dir, /*read_only=*/true);
    g->engine = params_.engine;
    if (g->engine.model_dir.empty()) g->engine.model_dir = g->library->model_dir();
    g->shared_searcher = std::make_unique<Searcher>(*g->library, g->engine);
    g->info = g->library->info();
    auto rp = server::real_path(g->library->dir());
    g->thumbs_root = rp ? *rp : g->library->dir();

    // One pass over the catalog (filters alone, all photos) for the facets the UI offers,
    // the example queries, and the folders that bound what may be served.
    std::vector<PhotoRecord> all;
    if (g->info.photos > 0) {
      auto r = g->shared_searcher->list(Filters{}, int(std::min<int64_t>(g->info.photos, 10'000'000)), 0);
      all.reserve(r.hits.size());
      for (auto& h : r.hits) all.push_back(std::move(h.photo));
    }
    std::map<std::string, int64_t> folders, years, formats;
    // Camera facet keyed by the model string (what the model filter matches), labelled
    // "Make Model" for people.
    std::map<std::string, std::pair<std::string, int64_t>> cameras;
    std::map<int, int64_t> ratings;
    std::set<std::string> canon_folders;
    std::map<std::string, std::string> folder_canon;
    for (auto& p : all) {
      if (!p.meta.model.empty()) {
        auto& c = cameras[p.meta.model];
        if (c.first.empty()) {
          std::string first_word = p.meta.make.substr(0, p.meta.make.find(' '));
          bool has_make = first_word.empty() ||
                          strncasecmp(p.meta.model.c_str(), first_word.c_str(), first_word.size()) == 0;
          c.first = has_make ? p.meta.model : first_word + " " + p.meta.model;
        }
        c.second++;
      }
      folders[p.folder]++;
      if (p.meta.capture_time.size() >= 4) years[p.meta.capture_time.substr(0, 4)]++;
      if (!p.meta.format.empty()) formats[p.meta.format]++;
      if (p.meta.rating) ratings[*p.meta.rating]++;
      if (!folder_canon.count(p.folder)) {
        auto fr = server::real_path(p.folder);
        folder_canon[p.folder] = fr ? *fr : "";
        if (fr) canon_folders.insert(*fr);
      }
    }
    if (!configured_roots_.empty()) {
      g->roots = configured_roots_;
    } else {
      // Minimal set: drop folders that lie under another indexed folder.
      for (auto& f : canon_folders) {
        bool covered = false;
        for (auto& r : g->roots) covered = covered || server::path_within(f, r);
        if (!covered) g->roots.push_back(f);
      }
    }
    auto to_list = [](const auto& m) {
      json a = json::array();
      for (auto& [k, v] : m) a.push_back({{"value", k}, {"count", v}});
      return a;
    };
    json cams = json::array();
    for (auto& [model, c] : cameras) cams.push_back({{"value", model}, {"label", c.first}, {"count", c.second}});
    g->facets = {{"cameras", cams}, {"folders", to_list(folders)},
                 {"years", to_list(years)},     {"formats", to_list(formats)},
                 {"ratings", to_list(ratings)}};

    // Example queries: one representative per stored cluster, else photos spread over time.
    try {
      if (auto c = stored_clusters(*g->library)) {
        std::vector<Cluster> cl = c->clusters;
        std::sort(cl.begin(), cl.end(), [](auto& a, auto& b) { return a.size > b.size; });
        for (auto& x : cl)
          if (!x.representatives.empty() && g->examples.size() < 8) g->examples.push_back(x.representatives[0]);
      }
    } catch (const Error&) {
      // No clusters stored yet: fall through to the spread below.
    }
    if (g->examples.empty() && !all.empty()) {
      size_t n = std::min<size_t>(8, all.size());
      for (size_t i = 0; i < n; ++i) g->examples.push_back(all[i * all.size() / n].id);
    }
    return g;
  }

  std::shared_ptr<Generation> gen() {
    std::lock_guard<std::mutex> lock(gen_mu_);
    return gen_;
  }
  void reload() {
    auto g = load_generation();
    std::lock_guard<std::mutex> lock(gen_mu_);
    gen_ = std::move(g);
  }

  // Runs `fn(slot)` inside the request queue, or answers 503 when it is full.
  template <class Fn>
  void limited(httplib::Response& res, Fn&& fn) {
    auto t0 = Clock::now();
    int slot = limiter_.acquire();
    if (slot < 0) {
      res.set_header("Retry-After", "1");
      send_error(res, 503, "server busy: the search queue is full (max_concurrent=" +
                               std::to_string(params_.max_concurrent) +
                               ", max_queue=" + std::to_string(params_.max_queue) + "); retry shortly");
      return;
    }
    SlotGuard guard{limiter_, slot};
    fn(slot, ms_since(t0));
  }

  void run_search(const httplib::Request& req, httplib::Response& res, SearchQuery q,
                  const std::function<void(SearchQuery&)>& prepare = {});
  void serve_file(const httplib::Request& req, httplib::Response& res, const std::string& kind);
  void start_index(httplib::Response& res);
  json index_status();

  ServerParams params_;
  RequestLog log_;
  Limiter limiter_;
  std::string web_root_;
  std::vector<std::string> configured_roots_;
  std::mutex gen_mu_;
  std::shared_ptr<Generation> gen_;
  IndexJob index_;
  std::mutex cluster_mu_;
  Clock::time_point started_;
  std::atomic<int64_t> requests_{0};
};

int64_t path_id(const httplib::Request& req) {
  return server::parse_int(req.matches[1].str(), "photo id", 1, INT64_MAX);
}

// Wraps a handler: vf::Error and bad JSON become 4xx/5xx JSON answers.
template <class Fn>
httplib::Server::Handler guarded(Fn fn) {
  return [fn](const httplib::Request& req, httplib::Response& res) {
    try {
      fn(req, res);
    } catch (const HttpError& e) {
      send_error(res, e.status, e.message);
    } catch (const Error& e) {
      send_error(res, status_for(e.code()), e.what());
    } catch (const json::exception& e) {
      send_error(res, 400, std::string("bad JSON: ") + e.what());
    } catch (const std::bad_alloc&) {
      send_error(res, 503, "out of memory");
    } catch (const std::exception& e) {
      send_error(res, 500, e.what());
    }
  };
}

void App::run_search(const httplib::Request& req, httplib::Response& res, SearchQuery q,
                     const std::function<void(SearchQuery&)>& prepare) {
  if (q.positive_ids.empty() && q.negative_ids.empty() && !prepare && q.colors.empty())
    throw HttpError{400, "empty query: give an image upload, photo ids or colours"};
  auto g = gen();
  for (auto ids : {&q.positive_ids, &q.negative_ids})
    for (auto id : *ids)
      if (!g->library->photo(id)) throw HttpError{404, "no photo with id " + std::to_string(id)};
  limited(res, [&](int slot, double queue_ms) {
    // Upload checks decode image headers: they run inside the slot so that the queue bounds
    // decoding work too.
    double extra_ms = 0;
    if (prepare) {
      auto tp = Clock::now();
      prepare(q);
      extra_ms = ms_since(tp);
    }
    auto t0 = Clock::now();
    SearchResults r = g->searcher(slot).search(q);
    json hits = json::array();
    for (auto& h : r.hits) hits.push_back(hit_json(h));
    json t = timings_json(r.timings);
    t["queue_ms"] = queue_ms;
    t["validate_ms"] = extra_ms;
    t["server_ms"] = ms_since(t0) + queue_ms + extra_ms;
    send_json(res, {{"hits", hits},
                    {"matched", r.matched},
                    {"k", q.k},
                    {"offset", q.offset},
                    {"alpha", q.alpha},
                    {"query", {{"positive_ids", q.positive_ids},
                               {"negative_ids", q.negative_ids},
                               {"uploads", q.positive_bytes.size()},
                               {"colors", q.colors}}},
                    {"timings", t}});
  });
}

void App::serve_file(const httplib::Request& req, httplib::Response& res, const std::string& kind) {
  auto g = gen();
  int64_t id = path_id(req);
  auto rec = g->library->photo(id);
  if (!rec) throw HttpError{404, "no photo with id " + std::to_string(id)};
  std::string path;
  std::vector<std::string> allowed;
  std::string mime = "image/jpeg";
  if (kind == "original") {
    path = rec->path;
    allowed = g->roots;
    mime = rec->meta.mime.empty() ? "application/octet-stream" : rec->meta.mime;
  } else {
    path = kind == "preview" && !rec->preview_path.empty() ? rec->preview_path : rec->thumb_path;
    allowed = {g->thumbs_root};
    if (path.empty()) throw HttpError{404, "photo " + std::to_string(id) + " has no cached " + kind};
  }
  auto real = server::real_path(path);
  if (!real) throw HttpError{404, "the file of photo " + std::to_string(id) + " is missing; re-index"};
  bool inside = false;
  for (auto& r : allowed) inside = inside || server::path_within(*real, r);
  if (!inside) {
    log_.line("refused: photo " + std::to_string(id) + " resolves outside the library: " + *real);
    throw HttpError{403, "the file of photo " + std::to_string(id) + " now resolves outside the library"};
  }
  int fd = ::open(real->c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) throw HttpError{404, "cannot open the file of photo " + std::to_string(id)};
  struct stat st{};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw HttpError{403, "the file of photo " + std::to_string(id) + " is not a regular file"};
  }
  if (kind == "original") {
    int64_t mtime_ns = int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
    // The catalog's size and mtime identify the indexed file; anything else is a different
    // file now sitting at that path.
    if (st.st_size != rec->meta.file_size || (rec->meta.mtime_ns && mtime_ns != rec->meta.mtime_ns)) {
      ::close(fd);
      throw HttpError{409, "the file of photo " + std::to_string(id) + " changed since it was indexed; re-index"};
    }
  }
  std::string body;
  body.resize(size_t(st.st_size));
  size_t got = 0;
  while (got < body.size()) {
    ssize_t n = ::read(fd, body.data() + got, body.size() - got);
    if (n <= 0) break;
    got += size_t(n);
  }
  ::close(fd);
  if (got != body.size()) throw HttpError{500, "short read on the file of photo " + std::to_string(id)};
  if (kind == "original") {
    std::string name = server::basename_of(rec->path);
    std::string safe;
    for (char c : name) safe += (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) ? '_' : c;
    res.set_header("Content-Disposition", "attachment; filename=\"" + safe + "\"");
    res.set_header("Cache-Control", "private, no-cache");
  } else {
    res.set_header("Cache-Control", "private, max-age=3600");
  }
  res.set_content(std::move(body), mime.c_str());
}

json App::index_status() {
  std::lock_guard<std::mutex> lock(index_.mu);
  const auto& p = index_.progress;
  json j = {{"running", index_.running},
            {"phase", index_.running ? p.phase : (index_.last_report ? "done" : "idle")},
            {"total", p.total},
            {"done", p.done},
            {"failed", p.failed},
            {"rate", p.rate},
            {"eta_s", p.eta_s},
            {"current", p.current},
            {"message", p.message},
            {"started_at", index_.started_at},
            {"finished_at", index_.finished_at},
            {"roots", index_.roots},
            {"last_error", index_.last_error}};
  if (index_.last_report) {
    auto& r = *index_.last_report;
    j["last_report"] = {{"scanned", r.scanned},   {"added", r.added},         {"changed", r.changed},
                        {"moved", r.moved},       {"deleted", r.deleted},     {"unchanged", r.unchanged},
                        {"embedded", r.embedded}, {"reembedded", r.reembedded}, {"failed", r.failed},
                        {"seconds", r.seconds},   {"images_per_s", r.images_per_s}};
  } else {
    j["last_report"] = nullptr;
  }
  auto g = gen();
  j["library"] = {{"photos", g->info.photos}, {"embedded", g->info.embedded}, {"last_indexed", g->info.last_indexed}};
  return j;
}

void App::start_index(httplib::Response& res) {
  std::lock_guard<std::mutex> lock(index_.mu);
  if (index_.running) {
    send_json(res, {{"started", false}, {"error", "indexing is already running"}, {"status", 409}}, 409);
    return;
  }
  auto roots = configured_roots_.empty() ? gen()->roots : configured_roots_;
  if (roots.empty())
    throw HttpError{409, "no library roots known: start the server with --root DIR (or index once from the CLI)"};
  if (index_.thread.joinable()) index_.thread.join();
  index_.running = true;
  index_.progress = IndexProgress{};
  index_.progress.phase = "scan";
  index_.last_error.clear();
  index_.started_at = now_iso_utc();
  index_.finished_at.clear();
  index_.roots = roots;
  index_.thread = std::thread([this, roots] {
    std::string error;
    std::optional<IndexReport> report;
    try {
      auto lib = Library::open(params_.library_dir, /*read_only=*/false);
      IndexParams ip;
      ip.roots = roots;
      ip.engine = params_.engine;
      if (ip.engine.model_dir.empty()) ip.engine.model_dir = lib->model_dir();
      report = lib->index(ip, [this](const IndexProgress& p) {
        if (index_.stop) throw StopIndexing{};
        std::lock_guard<std::mutex> l(index_.mu);
        index_.progress = p;
      });
      lib.reset();
      reload();
    } catch (const StopIndexing&) {
      error = "stopped: the server is shutting down";
    } catch (const std::exception& e) {
      error = e.what();
    }
    std::lock_guard<std::mutex> l(index_.mu);
    index_.running = false;
    index_.finished_at = now_iso_utc();
    index_.last_error = error;
    if (report) {
      index_.last_report = report;
      index_.progress.phase = "done";
    }
    log_.line(error.empty() ? "re-index finished" : "re-index failed: " + error);
  });
  log_.line("re-index started on " + std::to_string(roots.size()) + " root(s)");
  send_json(res, {{"started", true}, {"roots", roots}}, 202);
}

void App::install(httplib::Server& svr) {
  // ---- search ----
  svr.Post("/api/search", guarded([this](const httplib::Request& req, httplib::Response& res) {
    json q = json::object();
    SearchQuery sq;
    std::vector<const httplib::MultipartFormData*> uploads;
    if (req.is_multipart_form_data()) {
      for (auto& [name, part] : req.files) {
        if (!part.filename.empty()) {
          if (name == "negative") throw HttpError{400, "negative uploads are not supported; use negative_ids"};
          uploads.push_back(&part);
        } else if (name == "query") {
          json extra = json::parse(part.content);
          if (!extra.is_object()) throw HttpError{400, "the 'query' field must hold a JSON object"};
          for (auto& [k, v] : extra.items()) q[k] = v;
        } else if (name == "filters") {
          q["filters"] = json::parse(part.content);
        } else if (name == "ids" || name == "positive_ids" || name == "negative_ids") {
          if (!q.contains(name)) q[name] = json::array();
          q[name].push_back(part.content);
        } else {
          q[name] = part.content;
        }
      }
      if (uploads.size() > 8) throw HttpError{400, "at most 8 uploaded images per query"};
      for (auto* up : uploads) {
        std::string label = "upload '" + up->filename + "'";
        if (up->content.empty()) throw HttpError{400, label + " is empty"};
        if (!server::sniff_image(up->content)) throw HttpError{415, label + " is not an image we can read"};
      }
    } else if (!req.body.empty()) {
      q = json::parse(req.body);
      if (!q.is_object()) throw HttpError{400, "the request body must be a JSON object"};
    } else {
      q = query_from_params(req);
    }
    apply_query_options(q, sq);
    std::function<void(SearchQuery&)> prepare;
    if (!uploads.empty()) prepare = [this, &uploads](SearchQuery& sq) {
      for (auto* up : uploads) {
        const std::string& b = up->content;
        std::string label = "upload '" + up->filename + "'";
        if (int64_t(b.size()) > params_.max_upload_bytes)
          throw HttpError{413, label + " is larger than the " + std::to_string(params_.max_upload_bytes >> 20) + " MB limit"};
        // Decode the header under the server's pixel limit before the searcher sees it: a
        // decompression bomb is refused here with a 413 instead of eating memory.
        IngestParams ip;
        ip.limits.max_pixels = params_.max_upload_pixels;
        ip.limits.max_file_bytes = params_.max_upload_bytes;
        ip.model_input_size = 0;
        ip.thumb_size = 0;
        ip.preview_size = 0;
        ip.features = false;
        try {
          ingest_bytes(reinterpret_cast<const uint8_t*>(b.data()), b.size(), up->filename, ip);
        } catch (const Error& e) {
          // The decoder's message already names the upload.
          throw HttpError{e.code() == ErrorCode::TooLarge ? 413 : 415, std::string("upload ") + e.what()};
        }
        sq.positive_bytes.emplace_back(b.begin(), b.end());
      }
    };
    run_search(req, res, std::move(sq), prepare);
  }));

  svr.Get(R"(/api/search/similar/(\d+))", guarded([this](const httplib::Request& req, httplib::Response& res) {
    SearchQuery sq;
    apply_query_options(query_from_params(req), sq);
    sq.positive_ids = {path_id(req)};
    run_search(req, res, std::move(sq));
  }));

  svr.Post("/api/search/color", guarded([this](const httplib::Request& req, httplib::Response& res) {
    json q = req.body.empty() ? query_from_params(req) : json::parse(req.body);
    if (!q.is_object()) throw HttpError{400, "the request body must be a JSON object"};
    SearchQuery sq;
    sq.alpha = 0.0f;
    apply_query_options(q, sq);
    if (sq.colors.empty()) throw HttpError{400, "give 'colors': [\"#rrggbb\", ...]"};
    run_search(req, res, std::move(sq));
  }));

  // ---- photos ----
  svr.Get("/api/photos", guarded([this](const httplib::Request& req, httplib::Response& res) {
    auto m = params_map(req);
    int k = 60, offset = 0;
    if (m.count("k")) k = int(server::parse_int(m["k"], "k", 1, 1000));
    if (m.count("offset")) offset = int(server::parse_int(m["offset"], "offset", 0, 10'000'000));
    m.erase("k");
    m.erase("offset");
    Filters f = parse_filters(m);
    auto g = gen();
    limited(res, [&](int slot, double queue_ms) {
      auto r = g->searcher(slot).list(f, k, offset);
      json items = json::array();
      for (auto& h : r.hits) items.push_back(photo_summary(h.photo));
      json t = timings_json(r.timings);
      t["queue_ms"] = queue_ms;
      send_json(res, {{"photos", items}, {"matched", r.matched}, {"k", k}, {"offset", offset}, {"timings", t}});
    });
  }));

  svr.Get(R"(/api/photos/(\d+))", guarded([this](const httplib::Request& req, httplib::Response& res) {
    auto g = gen();
    int64_t id = path_id(req);
    auto rec = g->library->photo(id);
    if (!rec) throw HttpError{404, "no photo with id " + std::to_string(id)};
    send_json(res, photo_detail(*rec));
  }));
  for (const char* kind : {"thumb", "preview", "original"}) {
    std::string k = kind;
    svr.Get(R"(/api/photos/(\d+)/)" + k, guarded([this, k](const httplib::Request& req, httplib::Response& res) {
      serve_file(req, res, k);
    }));
  }

  svr.Get("/api/examples", guarded([this](const httplib::Request&, httplib::Response& res) {
    auto g = gen();
    json items = json::array();
    for (auto id : g->examples)
      if (auto rec = g->library->photo(id)) items.push_back(photo_summary(*rec));
    send_json(res, {{"examples", items}});
  }));

  // ---- duplicates and clusters ----
  svr.Get("/api/duplicates", guarded([this](const httplib::Request& req, httplib::Response& res) {
    auto m = params_map(req);
    DupeParams dp;
    if (m.count("threshold")) dp.threshold = float(server::parse_number(m["threshold"], "threshold", 0.5, 1.0));
    if (m.count("exact")) dp.exact = m["exact"] != "0" && m["exact"] != "false";
    if (m.count("near")) dp.near = m["near"] != "0" && m["near"] != "false";
    std::string key = std::to_string(dp.threshold) + "|" + std::to_string(dp.exact) + std::to_string(dp.near);
    for (auto& k : {"threshold", "exact", "near"}) m.erase(k);
    dp.filters = parse_filters(m);
    for (auto& [k, v] : m) key += "|" + k + "=" + v;
    auto g = gen();
    {
      std::lock_guard<std::mutex> lock(g->cache_mu);
      auto it = g->dupes_cache.find(key);
      if (it != g->dupes_cache.end()) return send_json(res, it->second);
    }
    limited(res, [&](int, double queue_ms) {
      auto t0 = Clock::now();
      auto groups = find_duplicates(*g->library, dp);
      json out = json::array();
      int64_t photos = 0;
      for (auto& grp : groups) {
        json members = json::array();
        for (auto& mem : grp.members) {
          json s;
          if (auto rec = g->library->photo(mem.id)) s = photo_summary(*rec);
          else s = {{"id", mem.id}, {"path", mem.path}};
          s["similarity"] = mem.similarity;
          s["keeper"] = mem.id == grp.keeper;
          members.push_back(s);
        }
        photos += int64_t(grp.members.size());
        out.push_back({{"kind", grp.kind}, {"keeper", grp.keeper}, {"keeper_reason", grp.keeper_reason},
                       {"members", members}});
      }
      json body = {{"groups", out},
                   {"photos", photos},
                   {"threshold", dp.threshold},
                   {"timings", {{"total_ms", ms_since(t0)}, {"queue_ms", queue_ms}}}};
      {
        std::lock_guard<std::mutex> lock(g->cache_mu);
        g->dupes_cache[key] = body;
      }
      send_json(res, body);
    });
  }));

  auto clusters_json = [](Generation& g, const ClusterResult& c) {
    json cl = json::array();
    for (auto& x : c.clusters) {
      json reps = json::array();
      for (auto id : x.representatives)
        if (auto rec = g.library->photo(id)) reps.push_back(photo_summary(*rec));
      cl.push_back({{"id", x.id}, {"size", x.size}, {"label", x.label}, {"representatives", reps}});
    }
    json sk = json::array();
    for (auto& [k, s] : c.silhouette_by_k) sk.push_back({{"k", k}, {"silhouette", s}});
    return json{{"computed", true}, {"k", c.k}, {"inertia", c.inertia}, {"silhouette", c.silhouette},
                {"silhouette_by_k", sk}, {"clusters", cl}};
  };
  svr.Get("/api/clusters", guarded([this, clusters_json](const httplib::Request&, httplib::Response& res) {
    auto g = gen();
    auto c = stored_clusters(*g->library);
    if (!c) return send_json(res, {{"computed", false}, {"clusters", json::array()}});
    send_json(res, clusters_json(*g, *c));
  }));
  svr.Post("/api/clusters", guarded([this, clusters_json](const httplib::Request& req, httplib::Response& res) {
    json q = req.body.empty() ? json::object() : json::parse(req.body);
    if (!q.is_object()) throw HttpError{400, "the request body must be a JSON object"};
    ClusterParams cp;
    if (q.contains("k")) cp.k = int(server::parse_int(json_scalar_string(q["k"], "k"), "k", 2, 1000));
    if (q.contains("auto_k") && q["auto_k"].is_boolean()) cp.auto_k = q["auto_k"].get<bool>();
    if (q.contains("seed")) cp.seed = int(server::parse_int(json_scalar_string(q["seed"], "seed"), "seed", 0, INT32_MAX));
    {
      std::lock_guard<std::mutex> l(index_.mu);
      if (index_.running) throw HttpError{409, "indexing is running; recompute clusters when it has finished"};
    }
    std::unique_lock<std::mutex> one(cluster_mu_, std::try_to_lock);
    if (!one.owns_lock()) throw HttpError{409, "clustering is already running"};
    limited(res, [&](int, double) {
      auto t0 = Clock::now();
      ClusterResult result;
      {
        auto lib = Library::open(params_.library_dir, /*read_only=*/false);
        result = cluster_library(*lib, cp);
      }
      reload();
      auto g = gen();
      json body = clusters_json(*g, result);
      body["timings"] = {{"total_ms", ms_since(t0)}};
      send_json(res, body);
    });
  }));

  // ---- library and server state ----
  svr.Get("/api/stats", guarded([this](const httplib::Request&, httplib::Response& res) {
    auto g = gen();
    send_json(res, {{"library", info_json(g->info)},
                    {"facets", g->facets},
                    {"roots", g->roots},
                    {"server", {{"version", version()},
                                {"uptime_s", std::chrono::duration<double>(Clock::now() - started_).count()},
                                {"requests", requests_.load()},
                                {"queue", limiter_.stats()},
                                {"max_upload_bytes", params_.max_upload_bytes},
                                {"auth", !params_.auth_token.empty() ? "token"
                                         : !params_.basic_user.empty() ? "basic" : "none"},
                                {"tls", !params_.tls_cert.empty()}}}});
  }));
  svr.Get("/api/index/status", guarded([this](const httplib::Request&, httplib::Response& res) {
    send_json(res, index_status());
  }));
  svr.Post("/api/index", guarded([this](const httplib::Request& req, httplib::Response& res) {
    if (!req.body.empty()) {
      json q = json::parse(req.body);
      // Clients never choose what gets indexed (and so served): only the configured roots.
      if (q.is_object() && q.contains("roots"))
        throw HttpError{400, "roots cannot be set over the API; configure them on the server (--root)"};
    }
    start_index(res);
  }));
  svr.Get("/api/health", guarded([this](const httplib::Request&, httplib::Response& res) {
    auto g = gen();
    send_json(res, {{"status", "ok"}, {"version", version()}, {"photos", g->info.photos}});
  }));
  svr.Get("/api/openapi.yaml", guarded([this](const httplib::Request&, httplib::Response& res) {
    std::vector<std::string> candidates;
    if (!web_root_.empty()) candidates.push_back(web_root_ + "/openapi.yaml");
#ifdef VF_WEB_ROOT_SOURCE
    candidates.push_back(std::string(VF_WEB_ROOT_SOURCE) + "/../../docs/openapi.yaml");
#endif
    for (auto& c : candidates) {
      std::ifstream in(c, std::ios::binary);
      if (!in) continue;
      std::stringstream ss;
      ss << in.rdbuf();
      res.set_content(ss.str(), "application/yaml");
      return;
    }
    throw HttpError{404, "openapi.yaml is not installed"};
  }));

  // ---- the web UI: static files under the web root, nothing else ----
  svr.Get(".*", [this](const httplib::Request& req, httplib::Response& res) {
    if (req.path.rfind("/api/", 0) == 0 || req.path == "/api")
      return send_error(res, 404, "no such API endpoint: " + req.path);
    auto rel = server::safe_static_path(req.path);
    if (!rel) return send_error(res, 400, "bad path");
    if (web_root_.empty())
      return send_error(res, 404, "the web UI is not installed (pass --web-root DIR); the API is at /api/");
    auto real = server::real_path(web_root_ + "/" + *rel);
    if (!real || !server::path_within(*real, web_root_)) return send_error(res, 404, "not found: " + req.path);
    std::ifstream in(*real, std::ios::binary);
    struct stat st{};
    if (!in || ::stat(real->c_str(), &st) != 0 || !S_ISREG(st.st_mode))
      return send_error(res, 404, "not found: " + req.path);
    std::stringstream ss;
    ss << in.rdbuf();
    res.set_header("Cache-Control", "no-cache");
    if (rel->size() >= 5 && rel->compare(rel->size() - 5, 5, ".html") == 0) {
      res.set_header("X-Frame-Options", "DENY");
      res.set_header("Content-Security-Policy",
                     "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; "
                     "script-src 'self'; connect-src 'self'; frame-ancestors 'none'");
    }
    res.set_content(ss.str(), server::mime_for(*rel).c_str());
  });

  // ---- cross-cutting: auth, logging, errors ----
  std::string expected_basic;
  if (!params_.basic_user.empty())
    expected_basic = "Basic " + server::base64_encode(params_.basic_user + ":" + params_.basic_password);
  svr.set_pre_routing_handler([this, expected_basic](const httplib::Request& req, httplib::Response& res) {
    t_request_start = Clock::now();
    t_request_started = true;
    ++requests_;
    bool token_mode = !params_.auth_token.empty();
    bool basic_mode = !expected_basic.empty();
    if (!token_mode && !basic_mode) return httplib::Server::HandlerResponse::Unhandled;
    if (req.path == "/api/health") return httplib::Server::HandlerResponse::Unhandled;
    bool is_api = req.path.rfind("/api/", 0) == 0 || req.path == "/api";
    // With a token only, the UI's own files carry no data and load without it so that the
    // page can ask for the token; with basic auth the browser asks, so everything is closed.
    if (token_mode && !basic_mode && !is_api) return httplib::Server::HandlerResponse::Unhandled;
    std::string authz = req.get_header_value("Authorization");
    bool ok = false;
    if (token_mode && authz.rfind("Bearer ", 0) == 0)
      ok = server::constant_time_equal(authz.substr(7), params_.auth_token);
    if (!ok && basic_mode && authz.rfind("Basic ", 0) == 0) ok = server::constant_time_equal(authz, expected_basic);
    // Images in <img> tags cannot send headers: a cookie carries the token, for reads only
    // (SameSite=Strict; writes need the header, so a cross-site form cannot post).
    if (!ok && token_mode && (req.method == "GET" || req.method == "HEAD")) {
      std::string cookies = req.get_header_value("Cookie");
      std::stringstream ss(cookies);
      std::string c;
      while (std::getline(ss, c, ';')) {
        size_t b = c.find_first_not_of(' ');
        if (b == std::string::npos) continue;
        c = c.substr(b);
        if (c.rfind("vf_token=", 0) == 0) ok = ok || server::constant_time_equal(c.substr(9), params_.auth_token);
      }
    }
    if (ok) return httplib::Server::HandlerResponse::Unhandled;
    if (basic_mode) res.set_header("WWW-Authenticate", "Basic realm=\"Viewfinder\", charset=\"UTF-8\"");
    else res.set_header("WWW-Authenticate", "Bearer realm=\"Viewfinder\"");
    send_error(res, 401, authz.empty() ? "authentication required" : "bad credentials");
    return httplib::Server::HandlerResponse::Handled;
  });

  svr.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    std::string msg = res.status == 413 ? "request body too large"
                      : res.status == 400 ? "malformed request"
                      : res.status == 404 ? "not found"
                      : res.status == 414 ? "URI too long"
                      : res.status == 405 ? "method not allowed"
                                          : "HTTP error " + std::to_string(res.status);
    send_error(res, res.status, msg);
    return httplib::Server::HandlerResponse::Handled;
  }));
  svr.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string msg = "internal error";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      msg = e.what();
    } catch (...) {
    }
    send_error(res, 500, msg);
  });

  svr.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    char lat[32] = "-";
    if (t_request_started) std::snprintf(lat, sizeof lat, "%.1fms", ms_since(t_request_start));
    t_request_started = false;
    log_.line(req.method + " " + req.path + " " + std::to_string(res.status) + " " + lat + " " +
              req.remote_addr);
  });
}

volatile sig_atomic_t g_stop_requested = 0;

}  // namespace

// ---- configuration ----------------------------------------------------------------------
void load_server_config(const std::string& file, ServerParams& p) {
  std::ifstream in(file);
  if (!in) throw Error("cannot read config file " + file, ErrorCode::NotFound);
  json j;
  try {
    j = json::parse(in, nullptr, true, /*ignore_comments=*/true);
  } catch (const json::exception& e) {
    throw Error("config file " + file + " is not valid JSON: " + e.what(), ErrorCode::InvalidArgument);
  }
  if (!j.is_object()) throw Error("config file " + file + " must hold a JSON object", ErrorCode::InvalidArgument);
  auto str = [&](const char* key, std::string& out) {
    if (!j.contains(key)) return;
    if (!j[key].is_string()) throw Error(file + ": '" + key + "' must be a string", ErrorCode::InvalidArgument);
    out = j[key].get<std::string>();
  };
  auto integer = [&](const char* key, auto& out) {
    if (!j.contains(key)) return;
    if (!j[key].is_number_integer()) throw Error(file + ": '" + key + "' must be an integer", ErrorCode::InvalidArgument);
    out = j[key].get<std::decay_t<decltype(out)>>();
  };
  static const std::set<std::string> known = {
      "library", "host", "port", "web_root", "max_concurrent", "max_queue", "max_upload_mb",
      "max_upload_pixels", "token", "basic_auth", "allow_insecure_remote", "tls_cert", "tls_key",
      "log", "roots", "model", "precision", "threads", "engine_threads", "queue_timeout_s"};
  for (auto& [k, v] : j.items())
    if (!known.count(k)) throw Error(file + ": unknown key '" + k + "'", ErrorCode::InvalidArgument);
  str("library", p.library_dir);
  str("host", p.host);
  integer("port", p.port);
  str("web_root", p.web_root);
  integer("max_concurrent", p.max_concurrent);
  integer("max_queue", p.max_queue);
  if (j.contains("max_upload_mb")) {
    int64_t mb = 0;
    integer("max_upload_mb", mb);
    p.max_upload_bytes = mb << 20;
  }
  integer("max_upload_pixels", p.max_upload_pixels);
  str("token", p.auth_token);
  if (j.contains("basic_auth")) {
    std::string ba;
    str("basic_auth", ba);
    auto colon = ba.find(':');
    if (colon == std::string::npos || colon == 0)
      throw Error(file + ": 'basic_auth' must be \"user:password\"", ErrorCode::InvalidArgument);
    p.basic_user = ba.substr(0, colon);
    p.basic_password = ba.substr(colon + 1);
  }
  if (j.contains("allow_insecure_remote")) {
    if (!j["allow_insecure_remote"].is_boolean())
      throw Error(file + ": 'allow_insecure_remote' must be true or false", ErrorCode::InvalidArgument);
    p.allow_unauthenticated_remote = j["allow_insecure_remote"].get<bool>();
  }
  str("tls_cert", p.tls_cert);
  str("tls_key", p.tls_key);
  str("log", p.log_file);
  if (j.contains("roots")) {
    if (!j["roots"].is_array()) throw Error(file + ": 'roots' must be an array of directories", ErrorCode::InvalidArgument);
    p.roots.clear();
    for (auto& r : j["roots"]) {
      if (!r.is_string()) throw Error(file + ": 'roots' must be an array of directories", ErrorCode::InvalidArgument);
      p.roots.push_back(r.get<std::string>());
    }
  }
  str("model", p.engine.model_dir);
  if (j.contains("precision")) {
    std::string s;
    str("precision", s);
    p.engine.precision = parse_precision(s);
  }
  integer("threads", p.threads);
  integer("engine_threads", p.engine.threads);
  if (j.contains("queue_timeout_s")) {
    if (!j["queue_timeout_s"].is_number()) throw Error(file + ": 'queue_timeout_s' must be a number", ErrorCode::InvalidArgument);
    p.queue_timeout_s = j["queue_timeout_s"].get<double>();
  }
}

void validate_server_params(const ServerParams& p) {
  bool auth = !p.auth_token.empty() || !p.basic_user.empty();
  if (!server::is_loopback_host(p.host) && !auth && !p.allow_unauthenticated_remote)
    throw Error("refusing to listen on " + p.host +
                    " without authentication: anyone on the network could browse and download the library. "
                    "Set a token (--token, VIEWFINDER_TOKEN or the config file) or basic auth, or pass "
                    "--allow-insecure-remote if this network is trusted",
                ErrorCode::InvalidArgument);
  if (!p.basic_user.empty() && p.basic_password.empty())
    throw Error("basic auth needs a password (user:password)", ErrorCode::InvalidArgument);
  if (!p.auth_token.empty() && p.auth_token.size() < 8)
    throw Error("the auth token is too short (use at least 8 characters, e.g. `openssl rand -hex 16`)",
                ErrorCode::InvalidArgument);
  if (p.tls_cert.empty() != p.tls_key.empty())
    throw Error("TLS needs both --tls-cert and --tls-key", ErrorCode::InvalidArgument);
  if (p.port < 0 || p.port > 65535) throw Error("port " + std::to_string(p.port) + " out of range", ErrorCode::InvalidArgument);
  if (p.max_concurrent < 1 || p.max_concurrent > 256)
    throw Error("max-concurrent must be in [1, 256]", ErrorCode::InvalidArgument);
  if (p.max_queue < 0 || p.max_queue > 10000) throw Error("max-queue must be in [0, 10000]", ErrorCode::InvalidArgument);
  if (p.max_upload_bytes < (1 << 20) || p.max_upload_bytes > (int64_t(4) << 30))
    throw Error("max-upload-mb must be in [1, 4096]", ErrorCode::InvalidArgument);
  if (p.library_dir.empty()) throw Error("no library directory given", ErrorCode::InvalidArgument);
}

int serve(const ServerParams& params) {
  validate_server_params(params);
  for (auto* f : {&params.tls_cert, &params.tls_key})
    if (!f->empty() && ::access(f->c_str(), R_OK) != 0)
      throw Error("cannot read TLS file " + *f, ErrorCode::NotFound);

  // SIGINT/SIGTERM only set a flag (libraries may have started threads before us, so the
  // signal can land on any thread); a watcher thread turns it into an orderly stop.
  g_stop_requested = 0;
  struct sigaction sa{};
  sa.sa_handler = [](int) { g_stop_requested = 1; };
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  App app(params);
  std::unique_ptr<httplib::Server> svr;
  if (!params.tls_cert.empty()) {
    auto ssl = std::make_unique<httplib::SSLServer>(params.tls_cert.c_str(), params.tls_key.c_str());
    if (!ssl->is_valid())
      throw Error("cannot load the TLS certificate " + params.tls_cert + " / key " + params.tls_key, ErrorCode::InvalidArgument);
    svr = std::move(ssl);
  } else {
    svr = std::make_unique<httplib::Server>();
  }
  int threads = params.threads > 0 ? params.threads : params.max_concurrent + params.max_queue + 16;
  svr->new_task_queue = [threads] { return new httplib::ThreadPool(size_t(threads)); };
  // Multipart overhead on top of the image bytes; a larger body is refused with 413 before
  // it is read.
  svr->set_payload_max_length(size_t(params.max_upload_bytes) + (1 << 20));
  svr->set_default_headers({{"X-Content-Type-Options", "nosniff"}, {"Referrer-Policy", "same-origin"}});
  // Small JSON answers on kept-alive connections otherwise wait ~40 ms for Nagle + delayed ACK.
  svr->set_tcp_nodelay(true);
  svr->set_keep_alive_max_count(1000);
  svr->set_read_timeout(30, 0);
  svr->set_write_timeout(30, 0);
  app.install(*svr);

  int port = params.port;
  if (port == 0) {
    port = svr->bind_to_any_port(params.host);
    if (port < 0) throw Error("cannot bind " + params.host, ErrorCode::Io);
  } else if (!svr->bind_to_port(params.host, port)) {
    throw Error("cannot listen on " + params.host + ":" + std::to_string(port) +
                    " (in use, or not an address of this machine)",
                ErrorCode::Io);
  }
  if (!server::is_loopback_host(params.host) && params.auth_token.empty() && params.basic_user.empty())
    app.log().line("WARNING: listening on " + params.host +
                   " without authentication (--allow-insecure-remote): anyone who can reach this port can read the library");
  if (!server::is_loopback_host(params.host) && params.tls_cert.empty())
    app.log().line("note: no TLS; put the server behind an HTTPS reverse proxy (docs/deploy.md) on untrusted networks");
  std::string scheme = params.tls_cert.empty() ? "http" : "https";
  std::string host = params.host.find(':') != std::string::npos ? "[" + params.host + "]" : params.host;
  app.log().line("viewfinder " + std::string(version()) + " listening on " + scheme + "://" + host + ":" +
                 std::to_string(port) + "/ (library " + params.library_dir + ", UI " +
                 (app.web_root().empty() ? std::string("not found") : app.web_root()) + ")");

  std::atomic<bool> done{false};
  std::thread stopper([&] {
    while (!done && !g_stop_requested) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (g_stop_requested) svr->stop();
  });
  bool ok = svr->listen_after_bind();
  done = true;
  stopper.join();
  app.log().line(g_stop_requested ? "server stopped by signal" : "server stopped");
  return ok ? 0 : 1;
}

}  // namespace vf
