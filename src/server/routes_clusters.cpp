// GET /api/clusters (the stored clustering), POST /api/clusters (recompute, then reopen
// the library so that every route sees the new clusters) and POST /api/clusters/{id}
// {"name": ...} (rename one cluster of the stored run).
#include "common/value_parse.h"
#include "server/json_encode.h"
#include "server/routes.h"
#include "server/server_state.h"
#include "server/server_util.h"

namespace vf::server {

namespace {

Reply stored(ServerState& s, const Request&) {
  auto g = s.gen();
  auto c = stored_clusters(*g->library);
  if (!c) return json_reply({{"computed", false}, {"clusters", json::array()}});
  return json_reply(clusters_json(*g->library, *c));
}

Reply recompute(ServerState& s, const Request& req) {
  json q = req.body.empty() ? json::object() : json::parse(req.body);
  if (!q.is_object()) throw HttpError{400, "the request body must be a JSON object"};
  ClusterParams cp;
  if (q.contains("k")) cp.k = int(parse_int(json_scalar_string(q["k"], "k"), "k", 2, 1000));
  if (q.contains("auto_k") && q["auto_k"].is_boolean()) cp.auto_k = q["auto_k"].get<bool>();
  if (q.contains("seed")) cp.seed = int(parse_int(json_scalar_string(q["seed"], "seed"), "seed", 0, INT32_MAX));
  {
    std::lock_guard<std::mutex> l(s.index.mu);
    if (s.index.running) throw HttpError{409, "indexing is running; recompute clusters when it has finished"};
  }
  std::unique_lock<std::mutex> one(s.cluster_mu, std::try_to_lock);
  if (!one.owns_lock()) throw HttpError{409, "clustering is already running"};
  return s.limited([&](int, double) {
    auto t0 = std::chrono::steady_clock::now();
    ClusterResult result;
    {
      auto lib = Library::open(s.params.library_dir, /*read_only=*/false);
      result = cluster_library(*lib, cp);
    }
    s.reload();
    auto g = s.gen();
    json body = clusters_json(*g->library, result);
    body["timings"] = {{"total_ms", round_to(ms_since(t0), 1)}};
    return json_reply(body);
  });
}

// The name goes to the cluster store through the server's library (derived tables are
// written from read-only opens too); GET /api/clusters reads it back at once.
Reply rename(ServerState& s, const Request& req) {
  const int64_t id = parse_int(req.matches[1].str(), "cluster id", 0, INT32_MAX);  // clusters count from 0
  json q = req.body.empty() ? json() : json::parse(req.body, nullptr, false);
  if (!q.is_object() || !q.contains("name") || !(q["name"].is_string() || q["name"].is_null()))
    throw HttpError{400, "send a JSON object {\"name\": \"...\"} (\"\" or null gives back the automatic label)"};
  auto g = s.gen();
  rename_cluster(*g->library, static_cast<int>(id), q["name"].is_null() ? "" : q["name"].get<std::string>());
  auto c = stored_clusters(*g->library);
  json body = clusters_json(*g->library, *c);
  for (auto& cl : body["clusters"])
    if (cl["id"] == id) return json_reply(cl);
  throw HttpError{404, "no cluster " + std::to_string(id)};
}

}  // namespace

void add_cluster_routes(RouteTable& routes) {
  routes.get("/api/clusters", stored);
  routes.post("/api/clusters", recompute);
  routes.post(R"(/api/clusters/(\d+))", rename);
}

}  // namespace vf::server
