// GET /api/duplicates: identical-bytes, identical-pixels and near-duplicate groups, each with
// its keeper, the keeper's reason and every member's evidence. The answer is
// cached per library generation and parameters (it walks the whole index).
#include <cmath>

#include "common/value_parse.h"
#include "server/json_encode.h"
#include "server/request_rules.h"
#include "server/server_util.h"
#include "server/routes.h"
#include "server/server_state.h"

namespace vf::server {

namespace {

json duplicate_groups_json(const Library& library, const std::vector<DupeGroup>& groups, int64_t& photos) {
  json out = json::array();
  for (auto& grp : groups) {
    json members = json::array();
    for (auto& mem : grp.members) {
      json s;
      if (auto rec = library.photo(mem.id)) s = photo_summary(*rec);
      else s = {{"id", mem.id}, {"path", mem.path}};
      put_dupe_evidence(s, mem, grp.keeper);
      members.push_back(s);
    }
    photos += int64_t(grp.members.size());
    out.push_back({{"kind", grp.kind}, {"keeper", grp.keeper}, {"keeper_reason", grp.keeper_reason},
                   {"members", members}});
  }
  return out;
}

// The cache key: the parameters that change the answer, after parsing (unknown parameters
// were refused by the route, so no request can mint keys at will beyond these).
std::string dupes_key(const DupeParams& dp, const std::map<std::string, std::string>& filter_params) {
  std::string key = std::to_string(dp.threshold) + "|" + std::to_string(dp.exact) + std::to_string(dp.near) + "|" +
                    std::to_string(dp.phash_max_distance);
  for (auto& [k, v] : filter_params)
    if (!v.empty()) key += "|" + k + "=" + v;
  return key;
}

Reply duplicates(ServerState& s, const Request& req) {
  auto m = params_map(req);
  DupeParams dp;
  if (m.count("threshold")) dp.threshold = float(parse_number(m["threshold"], "threshold", 0.5, 1.0));
  if (m.count("exact")) dp.exact = m["exact"] != "0" && m["exact"] != "false";
  if (m.count("near")) dp.near = m["near"] != "0" && m["near"] != "false";
  if (m.count("phash")) dp.phash_max_distance = int(parse_number(m["phash"], "phash", 0, 32));
  for (auto& k : {"threshold", "exact", "near", "phash"}) m.erase(k);
  dp.filters = filters_named(m);
  const std::string key = dupes_key(dp, m);
  auto g = s.gen();
  if (auto hit = g->cached_walk(key)) return json_reply(*hit);
  return s.limited([&](int, double queue_ms) {
    auto t0 = std::chrono::steady_clock::now();
    auto groups = find_duplicates(*g->library, dp);
    int64_t photos = 0;
    json out = duplicate_groups_json(*g->library, groups, photos);
    json body = {{"groups", out},
                 {"photos", photos},
                 {"threshold", round_to(dp.threshold, 4)},
                 {"timings", {{"total_ms", round_to(ms_since(t0), 1)}, {"queue_ms", round_to(queue_ms, 1)}}}};
    g->remember_walk(key, body);
    return json_reply(body);
  });
}

}  // namespace

void add_duplicate_routes(RouteTable& routes) {
  routes.get("/api/duplicates", duplicates, {{"threshold", "exact", "near", "phash"}, true});
}

}  // namespace vf::server
