// Library and server routes: /api/stats (library info, facets, queue), the background
// re-index (POST /api/index, GET /api/index/status), /api/health and /api/openapi.yaml.
#include <fstream>
#include <sstream>

#include "server/json_encode.h"
#include "server/photo_files.h"
#include "server/routes.h"
#include "server/server_state.h"
#include "server/server_util.h"
#include "viewfinder/viewfinder.h"

namespace vf::server {

namespace {

struct StopIndexing {};

size_t dupes_cache_size(Generation& g) {
  std::lock_guard<std::mutex> lock(g.cache_mu);
  return g.dupes_cache.size();
}

Reply stats(ServerState& s, const Request&) {
  auto g = s.gen();
  const ServerParams& p = s.params;
  return json_reply({{"library", info_json(g->info)},
                     {"facets", g->facets},
                     {"roots", g->roots},
                     {"server", {{"version", version()},
                                 {"uptime_s", round_to(std::chrono::duration<double>(std::chrono::steady_clock::now() - s.started).count(), 1)},
                                 {"requests", s.requests.load()},
                                 {"queue", s.limiter.stats()},
                                 {"upload_queue", s.upload_limiter.stats()},
                                 {"max_upload_pixels", p.max_upload_pixels},
                                 {"duplicates_cache_entries", dupes_cache_size(*g)},
                                 {"max_upload_bytes", p.max_upload_bytes},
                                 {"auth", !p.auth_token.empty() ? "token" : !p.basic_user.empty() ? "basic" : "none"},
                                 {"tls", !p.tls_cert.empty()}}}});
}

Reply index_status(ServerState& s, const Request&) {
  IndexJob& job = s.index;
  std::lock_guard<std::mutex> lock(job.mu);
  const auto& p = job.progress;
  json j = {{"running", job.running},
            {"phase", job.running ? p.phase : (job.last_report ? "done" : "idle")},
            {"total", p.total},
            {"done", p.done},
            {"failed", p.failed},
            {"rate", round_to(p.rate, 1)},
            {"eta_s", round_to(p.eta_s, 1)},
            {"current", p.current},
            {"message", p.message},
            {"started_at", job.started_at},
            {"finished_at", job.finished_at},
            {"roots", job.roots},
            {"last_error", job.last_error}};
  j["last_report"] = job.last_report ? index_report_json(*job.last_report) : json(nullptr);
  auto g = s.gen();
  j["library"] = {{"photos", g->info.photos}, {"embedded", g->info.embedded}, {"last_indexed", g->info.last_indexed}};
  return json_reply(j);
}

// What a reader library's sync did, in the shape of an index report (scanned = rows in the
// collection, added/changed = catalog rows written, deleted = rows gone from it).
IndexReport mirror_as_index_report(const MirrorReport& m) {
  IndexReport r;
  r.scanned = m.photos;
  r.added = m.added;
  r.changed = m.changed;
  r.deleted = m.removed;
  r.unchanged = m.photos - m.added - m.changed;
  r.seconds = m.seconds;
  return r;
}

// The re-index thread: indexes the roots with a writable library (a reader library: syncs it
// from its collection instead), then swaps the server's library for the new state.
void run_index_job(ServerState& s, const std::vector<std::string>& roots, const std::string& mirror_of) {
  IndexJob& job = s.index;
  std::string error, summary;
  std::optional<IndexReport> report;
  try {
    if (!mirror_of.empty()) {
      MirrorParams mp;
      mp.store = mirror_of;
      mp.model_dir = s.params.engine.model_dir;
      mp.roots = s.params.roots;
      mp.progress = [&job](const IndexProgress& p) {
        if (job.stop) throw StopIndexing{};
        std::lock_guard<std::mutex> l(job.mu);
        job.progress = p;
      };
      const MirrorReport m = mirror_collection(s.params.library_dir, mp);
      report = mirror_as_index_report(m);
      summary = ": " + mirror_summary(m);
    } else {
      auto lib = Library::open(s.params.library_dir, /*read_only=*/false);
      IndexParams ip;
      ip.roots = roots;
      ip.engine = s.params.engine;
      if (ip.engine.model_dir.empty()) ip.engine.model_dir = lib->model_dir();
      report = lib->index(ip, [&job](const IndexProgress& p) {
        if (job.stop) throw StopIndexing{};
        std::lock_guard<std::mutex> l(job.mu);
        job.progress = p;
      });
    }
    // A sync that changed nothing keeps the open library (periodic syncs are frequent).
    if (mirror_of.empty() || report->added + report->changed + report->deleted > 0) s.reload();
  } catch (const StopIndexing&) {
    error = "stopped: the server is shutting down";
  } catch (const std::exception& e) {
    error = e.what();
  }
  std::lock_guard<std::mutex> l(job.mu);
  job.running = false;
  job.finished_at = now_iso_utc();
  job.last_error = error;
  if (report) {
    job.last_report = report;
    job.progress.phase = "done";
  }
  const std::string what = mirror_of.empty() ? "re-index" : "reader sync of " + mirror_of;
  s.log.line(error.empty() ? what + " finished" + summary : what + " failed: " + error);
}

// Starts the background job unless one runs (job.mu held by the caller). Returns the roots,
// or throws HttpError.
std::vector<std::string> begin_index_job(ServerState& s) {
  IndexJob& job = s.index;
  auto g = s.gen();
  const std::string mirror_of = g->info.reader ? g->info.index_type : "";
  auto roots = s.configured_roots.empty() ? g->roots : s.configured_roots;
  if (roots.empty() && mirror_of.empty())
    throw HttpError{409, "no library roots known: start the server with --root DIR (or index once from the CLI)"};
  if (job.thread.joinable()) job.thread.join();
  job.running = true;
  job.progress = IndexProgress{};
  job.progress.phase = mirror_of.empty() ? "scan" : "sync";
  job.last_error.clear();
  job.started_at = now_iso_utc();
  job.finished_at.clear();
  job.roots = roots;
  job.thread = std::thread([&s, roots, mirror_of] { run_index_job(s, roots, mirror_of); });
  // A reader's sync logs one line when it ends (periodic syncs are frequent).
  if (mirror_of.empty()) s.log.line("re-index started on " + std::to_string(roots.size()) + " root(s)");
  return roots;
}

Reply start_index(ServerState& s, const Request& req) {
  if (!req.body.empty()) {
    json q = json::parse(req.body);
    // Clients never choose what gets indexed (and so served): only the configured roots.
    if (q.is_object() && q.contains("roots"))
      throw HttpError{400, "roots cannot be set over the API; configure them on the server (--root)"};
  }
  IndexJob& job = s.index;
  std::lock_guard<std::mutex> lock(job.mu);
  if (job.running) return json_reply({{"started", false}, {"error", "indexing is already running"}, {"status", 409}}, 409);
  auto roots = begin_index_job(s);
  return json_reply({{"started", true}, {"roots", roots}}, 202);
}

Reply health(ServerState& s, const Request&) {
  auto g = s.gen();
  // What the web UI may offer (docs/api.md "features").
  json body = {{"status", "ok"}, {"version", version()}, {"photos", g->info.photos},
               {"features", {{"explain", true}, {"region_search", true}}}};
  add_thumb_features(body);
  return json_reply(body);
}

Reply openapi(ServerState& s, const Request&) {
  std::vector<std::string> candidates;
  if (!s.web_root.empty()) candidates.push_back(s.web_root + "/openapi.yaml");
#ifdef VF_WEB_ROOT_SOURCE
  candidates.push_back(std::string(VF_WEB_ROOT_SOURCE) + "/../../docs/openapi.yaml");
#endif
  for (auto& c : candidates) {
    std::ifstream in(c, std::ios::binary);
    if (!in) continue;
    std::stringstream ss;
    ss << in.rdbuf();
    Reply r;
    r.body = ss.str();
    r.content_type = "application/yaml";
    return r;
  }
  throw HttpError{404, "openapi.yaml is not installed"};
}

}  // namespace

void start_reader_refresh(ServerState& s) {
  if (s.params.reader_refresh_s <= 0 || !s.gen()->info.reader) return;
  IndexJob& job = s.index;
  job.refresher = std::thread([&s, &job] {
    const auto period = std::chrono::duration<double>(s.params.reader_refresh_s);
    std::unique_lock<std::mutex> lock(job.mu);
    while (!job.stop) {
      if (job.wake.wait_for(lock, period, [&] { return job.stop.load(); })) break;
      if (job.running) continue;
      try {
        begin_index_job(s);
      } catch (const std::exception& e) {
        s.log.line(std::string("reader sync not started: ") + e.what());
      }
    }
  });
}

void add_library_routes(RouteTable& routes) {
  routes.get("/api/stats", stats);
  routes.get("/api/index/status", index_status);
  routes.post("/api/index", start_index);
  routes.get("/api/health", health);
  routes.get("/api/openapi.yaml", openapi);
}

}  // namespace vf::server
