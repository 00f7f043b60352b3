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

// The re-index thread: indexes the roots with a writable library, then swaps the server's
// library for the new state.
void run_index_job(ServerState& s, const std::vector<std::string>& roots) {
  IndexJob& job = s.index;
  std::string error;
  std::optional<IndexReport> report;
  try {
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
    lib.reset();
    s.reload();
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
  s.log.line(error.empty() ? "re-index finished" : "re-index failed: " + error);
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
  auto roots = s.configured_roots.empty() ? s.gen()->roots : s.configured_roots;
  if (roots.empty())
    throw HttpError{409, "no library roots known: start the server with --root DIR (or index once from the CLI)"};
  if (job.thread.joinable()) job.thread.join();
  job.running = true;
  job.progress = IndexProgress{};
  job.progress.phase = "scan";
  job.last_error.clear();
  job.started_at = now_iso_utc();
  job.finished_at.clear();
  job.roots = roots;
  job.thread = std::thread([&s, roots] { run_index_job(s, roots); });
  s.log.line("re-index started on " + std::to_string(roots.size()) + " root(s)");
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

void add_library_routes(RouteTable& routes) {
  routes.get("/api/stats", stats);
  routes.get("/api/index/status", index_status);
  routes.post("/api/index", start_index);
  routes.get("/api/health", health);
  routes.get("/api/openapi.yaml", openapi);
}

}  // namespace vf::server
