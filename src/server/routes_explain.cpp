// GET /api/explain: why a photo matched a query (patch similarity maps), and the region
// search used by the search routes (region_query.h).
#include <chrono>

#include "common/time_util.h"
#include "server/photo_files.h"
#include "server/region_query.h"
#include "server/routes.h"
#include "server/server_util.h"

namespace vf::server {

namespace {

using Clock = std::chrono::steady_clock;

int64_t id_param(const std::map<std::string, std::string>& p, const std::string& key) {
  auto it = p.find(key);
  if (it == p.end() || it->second.empty()) throw HttpError{400, "give '" + key + "': a photo id"};
  try {
    size_t pos = 0;
    int64_t v = std::stoll(it->second, &pos);
    if (pos == it->second.size() && v > 0) return v;
  } catch (const std::exception&) {
  }
  throw HttpError{400, "'" + key + "' must be a photo id, got '" + it->second + "'"};
}

Reply explain(ServerState& s, const Request& req) {
  auto p = params_map(req);
  int64_t photo = id_param(p, "photo");
  bool by_token = p.count("query_token") && !p["query_token"].empty();
  if (!by_token && !p.count("query"))
    throw HttpError{400, "give 'query' (a photo id) or 'query_token' (from an upload search)"};
  int64_t query = by_token ? 0 : id_param(p, "query");
  std::optional<Region> region;
  if (p.count("region") && !p["region"].empty()) region = parse_region(p["region"]);
  auto g = s.gen();
  for (int64_t id : {photo, query}) {
    if (!id) continue;
    auto rec = g->library->photo(id);
    if (!rec) throw HttpError{404, "no photo with id " + std::to_string(id)};
    require_inside_roots(s, g->roots, *rec);  // its pixels are read, as for a preview
  }
  return s.limited([&](int, double queue_ms) {
    auto t0 = Clock::now();
    Explainer& ex = explainer(s, *g);
    PatchGrid q;
    if (by_token) {
      auto kept = ex.recall_query(p["query_token"]);
      if (!kept) throw HttpError{410, "the query upload has expired: search again"};
      q = std::move(*kept);
    } else {
      q = ex.photo_patches({query})[0];
    }
    PatchGrid ph = ex.photo_patches({photo})[0];
    Heatmaps maps = region ? match_region_heatmaps(q, *region, ph) : match_heatmaps(q, ph);
    json out = {{"query_map", maps.query_map}, {"photo_map", maps.photo_map}};
    if (maps.query_rows == maps.photo_rows && maps.query_cols == maps.photo_cols) {
      out["grid"] = {maps.query_rows, maps.query_cols};
    } else {
      out["query_grid"] = {maps.query_rows, maps.query_cols};
      out["photo_grid"] = {maps.photo_rows, maps.photo_cols};
    }
    if (region) out["region"] = {region->x, region->y, region->w, region->h};
    out["ms"] = ms_since(t0);
    out["queue_ms"] = queue_ms;
    return json_reply(out);
  });
}

}  // namespace

std::optional<Region> region_from_json(const json& q) {
  if (!q.contains("region") || q["region"].is_null()) return std::nullopt;
  const json& r = q["region"];
  if (r.is_string()) return r.get<std::string>().empty() ? std::nullopt : std::optional(parse_region(r.get<std::string>()));
  if (!r.is_array() || r.size() != 4)
    throw Error("'region' must be [x, y, w, h] (fractions 0..1 of the query picture)", ErrorCode::InvalidArgument);
  for (auto& v : r)
    if (!v.is_number()) throw Error("'region' must hold four numbers", ErrorCode::InvalidArgument);
  Region out{r[0].get<double>(), r[1].get<double>(), r[2].get<double>(), r[3].get<double>()};
  validate_region(out);
  return out;
}

Explainer& explainer(ServerState& s, Generation& g) {
  ExplainParams params;
  params.may_read_file = [&s, roots = g.roots](const PhotoRecord& rec) { return inside_roots(s, roots, rec); };
  return g.explain(std::move(params));
}

SearchResults region_search(ServerState& s, Generation& g, int slot, const SearchQuery& q, const Region& region,
                            double& region_ms) {
  size_t pictures = q.positive_ids.size() + q.positive_bytes.size() + q.positive_files.size();
  if (pictures != 1 || !q.negative_ids.empty())
    throw HttpError{400, "a region applies to a single query picture: give one upload or one id, no negatives"};
  auto t0 = Clock::now();
  RgbImage picture;
  std::optional<int64_t> exclude;
  if (!q.positive_ids.empty()) {
    auto rec = g.library->photo(q.positive_ids[0]);
    if (!rec) throw HttpError{404, "no photo with id " + std::to_string(q.positive_ids[0])};
    require_inside_roots(s, g.roots, *rec);
    picture = load_display_picture(*rec, 1280);
    if (q.exclude_query_ids) exclude = rec->id;
  } else {
    picture = decode_picture_bytes(q.positive_bytes[0], "upload");
  }
  RegionSearchTimings t;
  SearchResults r = explainer(s, g).region_search(g.searcher(slot), q, picture, region, exclude, &t);
  region_ms = ms_since(t0);
  return r;
}

void add_explain_routes(RouteTable& routes) {
  routes.get("/api/explain", explain, {{"photo", "query", "query_token", "region"}});
}

}  // namespace vf::server
