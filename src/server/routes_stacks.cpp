// GET /api/stacks: RAW+JPEG pairs, bursts and brackets, each with its pick and why. Cached
// per library generation and parameters (it measures the stacked photos' previews).
#include <cmath>

#include "common/value_parse.h"
#include "server/json_encode.h"
#include "server/routes.h"
#include "server/server_util.h"
#include "server/server_state.h"

namespace vf::server {

namespace {


json stacks_json(const Library& library, const std::vector<Stack>& stacks, int64_t& photos) {
  json out = json::array();
  for (const auto& st : stacks) {
    json members = json::array();
    for (const auto& m : st.members) {
      json j;
      if (auto rec = library.photo(m.id)) j = photo_summary(*rec);
      else j = {{"id", m.id}, {"path", m.path}};
      j["format"] = m.format;
      j["width"] = m.width;
      j["height"] = m.height;
      j["capture_unix"] = m.capture_unix;
      j["sharpness"] = round_to(m.sharpness, 1);
      j["exposure"] = round_to(m.exposure, 3);
      j["clipped"] = round_to(m.clipped, 4);
      j["mean_luma"] = round_to(m.mean_luma, 1);
      j["exposure_s"] = m.exposure_s ? json(*m.exposure_s) : json(nullptr);
      j["pick"] = m.id == st.pick;
      members.push_back(j);
    }
    photos += int64_t(st.members.size());
    out.push_back({{"kind", st.kind}, {"evidence", st.evidence}, {"pick", st.pick},
                   {"pick_reason", st.pick_reason}, {"members", members}});
  }
  return out;
}

bool flag_value(const std::string& v, const char* name) {
  if (v == "1" || v == "true") return true;
  if (v == "0" || v == "false") return false;
  throw Error(std::string("'") + name + "' must be true or false, got '" + v + "'", ErrorCode::InvalidArgument);
}

Reply stacks(ServerState& s, const Request& req) {
  auto m = params_map(req);
  StackParams sp;
  if (m.count("window")) sp.window_s = parse_number(m["window"], "window", 0, 3600);
  if (m.count("similarity")) sp.min_similarity = float(parse_number(m["similarity"], "similarity", 0, 1));
  if (m.count("raw_jpeg")) sp.raw_jpeg = flag_value(m["raw_jpeg"], "raw_jpeg");
  if (m.count("bursts")) sp.bursts = flag_value(m["bursts"], "bursts");
  std::string key = "stacks|" + std::to_string(sp.window_s) + "|" + std::to_string(sp.min_similarity) + "|" +
                    std::to_string(sp.raw_jpeg) + std::to_string(sp.bursts);
  for (auto& k : {"window", "similarity", "raw_jpeg", "bursts"}) m.erase(k);
  sp.filters = filters_from_params(m);
  for (auto& [k, v] : m) key += "|" + k + "=" + v;
  auto g = s.gen();
  if (auto hit = g->cached_walk(key)) return json_reply(*hit);
  return s.limited([&](int, double queue_ms) {
    auto t0 = std::chrono::steady_clock::now();
    auto found = find_stacks(*g->library, sp);
    int64_t photos = 0;
    json body = {{"stacks", stacks_json(*g->library, found, photos)},
                 {"photos", photos},
                 {"window_s", sp.window_s},
                 {"similarity", round_to(sp.min_similarity, 4)},
                 {"timings", {{"total_ms", round_to(ms_since(t0), 1)}, {"queue_ms", round_to(queue_ms, 1)}}}};
    g->remember_walk(key, body);
    return json_reply(body);
  });
}

}  // namespace

void add_stack_routes(RouteTable& routes) {
  routes.get("/api/stacks", stacks, {{"window", "similarity", "raw_jpeg", "bursts"}, true});
}

}  // namespace vf::server
