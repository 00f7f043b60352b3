// Search routes: POST /api/search (JSON, form or multipart with image uploads), GET
// /api/search/similar/{id}, POST /api/search/color. All run inside the request queue.
#include <functional>
#include <set>
#include <sstream>

#include "common/value_parse.h"
#include "server/json_encode.h"
#include "server/request_rules.h"
#include "server/region_query.h"
#include "server/routes.h"
#include "server/server_state.h"
#include "server/server_util.h"
#include "viewfinder/image.h"

namespace vf::server {

namespace {

using Clock = std::chrono::steady_clock;

std::map<std::string, std::string> flatten_filters(const json& j) {
  std::map<std::string, std::string> m;
  if (j.is_null()) return m;
  if (!j.is_object()) throw Error("'filters' must be an object", ErrorCode::InvalidArgument);
  for (auto& [k, v] : j.items()) {
    if (!is_filter_param(k)) throw HttpError{400, "unknown filter '" + k + "'"};
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

std::vector<int64_t> id_list(const json& v, const std::string& key) {
  std::vector<int64_t> out;
  if (v.is_null()) return out;
  if (v.is_number_integer()) return {v.get<int64_t>()};
  if (!v.is_array()) throw Error("'" + key + "' must be an array of photo ids", ErrorCode::InvalidArgument);
  for (auto& x : v) {
    if (x.is_number_integer()) out.push_back(x.get<int64_t>());
    else if (x.is_string()) out.push_back(parse_int(x.get<std::string>(), key, 1, INT64_MAX));
    else throw Error("'" + key + "' must be an array of photo ids", ErrorCode::InvalidArgument);
  }
  return out;
}

// The common numeric knobs of every search request.
void apply_query_options(const json& q, SearchQuery& out) {
  auto num = [&](const char* k, double lo, double hi) -> std::optional<double> {
    if (!q.contains(k) || q[k].is_null()) return std::nullopt;
    return parse_number(json_scalar_string(q[k], k), k, lo, hi);
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
  // Collapsing: one hit per duplicate group / stack unless these ask for every photo.
  for (auto [key, collapse] : {std::pair{"all_copies", &out.collapse_duplicates}, std::pair{"expand_stacks", &out.collapse_stacks}})
    if (q.contains(key) && !q[key].is_null()) {
      const std::string v = q[key].is_boolean() ? (q[key].get<bool>() ? "1" : "0") : json_scalar_string(q[key], key);
      if (v != "0" && v != "1" && v != "true" && v != "false")
        throw Error(std::string("'") + key + "' must be true or false, got '" + v + "'", ErrorCode::InvalidArgument);
      *collapse = !(v == "1" || v == "true");
    }
  if (q.contains("exclude_query_ids") && q["exclude_query_ids"].is_boolean())
    out.exclude_query_ids = q["exclude_query_ids"].get<bool>();
  if (q.contains("colors") && !q["colors"].is_null()) {
    const auto& c = q["colors"];
    if (c.is_string()) {
      std::stringstream ss(c.get<std::string>());
      std::string part;
      while (std::getline(ss, part, ','))
        if (!part.empty()) out.colors.push_back(normalise_hex_color(part));
    } else if (c.is_array()) {
      for (auto& x : c) out.colors.push_back(normalise_hex_color(json_scalar_string(x, "colors")));
    } else {
      throw Error("'colors' must be an array of #rrggbb strings", ErrorCode::InvalidArgument);
    }
    if (out.colors.size() > 16) throw Error("at most 16 colours", ErrorCode::InvalidArgument);
  }
  out.filters = filters_named(flatten_filters(q.contains("filters") ? q["filters"] : json(nullptr)));
  auto pos = id_list(q.contains("ids") ? q["ids"] : json(nullptr), "ids");
  auto pos2 = id_list(q.contains("positive_ids") ? q["positive_ids"] : json(nullptr), "positive_ids");
  pos.insert(pos.end(), pos2.begin(), pos2.end());
  out.positive_ids = pos;
  out.negative_ids = id_list(q.contains("negative_ids") ? q["negative_ids"] : json(nullptr), "negative_ids");
  if (out.positive_ids.size() + out.negative_ids.size() > 64)
    throw Error("at most 64 example ids", ErrorCode::InvalidArgument);
}

// The query parameters of the search routes: these options and every filter.
const QueryParams kSearchParams{{"k", "offset", "min_score", "alpha", "preset", "colors", "negative_weight", "region", "all_copies", "expand_stacks"}, true};

// Query parameters of a GET (?k=..&alpha=..&date_from=..) as a JSON query object (the route
// has refused unknown parameters already).
json query_from_params(const httplib::Request& req) {
  json q = json::object();
  json filters = json::object();
  for (auto& [k, v] : req.params) {
    if (std::find(kSearchParams.names.begin(), kSearchParams.names.end(), k) != kSearchParams.names.end()) q[k] = v;
    else filters[k] = v;
  }
  q["filters"] = filters;
  return q;
}

// Runs a search in the request queue. `prepare` (upload checks) runs inside the slot too.
Reply run_search(ServerState& s, SearchQuery q, const std::function<void(SearchQuery&)>& prepare = {},
                 std::optional<Region> region = std::nullopt) {
  if (q.positive_ids.empty() && q.negative_ids.empty() && !prepare && q.colors.empty())
    throw HttpError{400, "empty query: give an image upload, photo ids or colours"};
  auto g = s.gen();
  for (auto ids : {&q.positive_ids, &q.negative_ids})
    for (auto id : *ids)
      if (!g->library->photo(id)) throw HttpError{404, "no photo with id " + std::to_string(id)};
  // Uploads are decoded and embedded in their own lane (max_upload_decodes at once), so a
  // costly upload never makes a search by id or colour wait.
  return s.limited(prepare ? s.upload_limiter : s.limiter, [&](int slot, double queue_ms) {
    // Upload checks read image headers: they run inside the slot too.
    double extra_ms = 0;
    if (prepare) {
      auto tp = Clock::now();
      prepare(q);
      extra_ms = ms_since(tp);
    }
    auto t0 = Clock::now();
    double region_ms = 0;
    SearchResults r = region ? region_search(s, *g, slot, q, *region, region_ms) : g->searcher(slot).search(q);
    json hits = json::array();
    for (auto& h : r.hits) hits.push_back(hit_json(h));
    json t = timings_json(r.timings);
    t["queue_ms"] = round_to(queue_ms, 1);
    t["validate_ms"] = round_to(extra_ms, 1);
    t["server_ms"] = round_to(ms_since(t0) + queue_ms + extra_ms, 1);
    json query = {{"positive_ids", q.positive_ids}, {"negative_ids", q.negative_ids},
                  {"uploads", q.positive_bytes.size()}, {"colors", q.colors}};
    if (region) {
      query["region"] = {region->x, region->y, region->w, region->h};
      t["region_ms"] = round_to(region_ms, 1);
    }
    // A single upload is kept under a token, so the heatmap of any result can be asked for.
    if (q.positive_bytes.size() == 1) query["token"] = explainer(s, *g).remember_query(q.positive_bytes[0]);
    return json_reply({{"hits", hits},
                       {"matched", r.matched},
                       {"filter_matches", filter_matches_json(r)},
                       {"k", q.k},
                       {"offset", q.offset},
                       {"alpha", round_to(q.alpha, 4)},
                       {"query", query},
                       {"timings", t}});
  });
}

// A multipart search form: image files become uploads, "query" a JSON object of options,
// "filters" a JSON object, id fields lists, anything else an option. Cheap checks of the
// uploads (count, empty, magic bytes) happen here, before the queue.
json query_from_multipart(const Request& req, std::vector<const httplib::MultipartFormData*>& uploads) {
  json q = json::object();
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
    if (!sniff_image(up->content)) throw HttpError{415, label + " is not an image we can read"};
  }
  return q;
}

// Reads an upload's header (no pixels) under the server's size and pixel limits before the
// searcher decodes it, once: a decompression bomb is refused with a 413 before any pixel
// buffer exists.
void check_upload(const ServerParams& params, const httplib::MultipartFormData& up) {
  const std::string& b = up.content;
  std::string label = "upload '" + up.filename + "'";
  if (int64_t(b.size()) > params.max_upload_bytes)
    throw HttpError{413, label + " is larger than the " + std::to_string(params.max_upload_bytes >> 20) +
                             " MB limit (--max-upload-mb)"};
  DecodeLimits limits;
  limits.max_pixels = params.max_upload_pixels;
  limits.max_file_bytes = params.max_upload_bytes;
  try {
    probe_image_bytes(reinterpret_cast<const uint8_t*>(b.data()), b.size(), up.filename, limits);
  } catch (const Error& e) {
    // The decoder's message already names the upload.
    if (e.code() == ErrorCode::TooLarge)
      throw HttpError{413, std::string("upload ") + e.what() + " (" + std::to_string(params.max_upload_pixels / 1'000'000) +
                               " MP: --max-upload-mp, config max_upload_mp)"};
    throw HttpError{415, std::string("upload ") + e.what()};
  }
}

}  // namespace

SearchQuery search_request_query(const Request& req, std::vector<const httplib::MultipartFormData*>& uploads,
                                 std::optional<Region>* region) {
  json q;
  if (req.is_multipart_form_data()) {
    q = query_from_multipart(req, uploads);
  } else if (!req.body.empty()) {
    q = json::parse(req.body);
    if (!q.is_object()) throw HttpError{400, "the request body must be a JSON object"};
  } else {
    q = query_from_params(req);
  }
  SearchQuery sq;
  apply_query_options(q, sq);
  if (region) *region = region_from_json(q);
  return sq;
}

namespace {

Reply search(ServerState& s, const Request& req) {
  std::vector<const httplib::MultipartFormData*> uploads;
  std::optional<Region> region;
  SearchQuery sq = search_request_query(req, uploads, &region);
  std::function<void(SearchQuery&)> prepare;
  if (!uploads.empty()) prepare = [&s, &uploads](SearchQuery& sq) {
    for (auto* up : uploads) {
      check_upload(s.params, *up);
      sq.positive_bytes.emplace_back(up->content.begin(), up->content.end());
    }
  };
  return run_search(s, std::move(sq), prepare, region);
}

Reply search_similar(ServerState& s, const Request& req) {
  SearchQuery sq;
  apply_query_options(query_from_params(req), sq);
  sq.positive_ids = {path_id(req)};
  return run_search(s, std::move(sq), {}, region_from_json(query_from_params(req)));
}

Reply search_color(ServerState& s, const Request& req) {
  json q = req.body.empty() ? query_from_params(req) : json::parse(req.body);
  if (!q.is_object()) throw HttpError{400, "the request body must be a JSON object"};
  SearchQuery sq;
  sq.alpha = 0.0f;
  apply_query_options(q, sq);
  if (sq.colors.empty()) throw HttpError{400, "give 'colors': [\"#rrggbb\", ...]"};
  return run_search(s, std::move(sq));
}

}  // namespace

void add_search_routes(RouteTable& routes) {
  routes.post("/api/search", search, kSearchParams);
  routes.get(R"(/api/search/similar/(\d+))", search_similar, kSearchParams);
  routes.post("/api/search/color", search_color, kSearchParams);
}

}  // namespace vf::server
