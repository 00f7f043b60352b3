// Photo routes: the filtered list, one photo's metadata, its files (thumbnail, preview,
// original, thumbnails of other sizes) and the example photos of the start page.
//
// Files are only ever served by catalog id: the handler looks the photo up, resolves its
// path with realpath, requires the result to lie inside the library roots (or the library's
// thumbs/ for thumbnails), opens it and checks size and mtime against the catalog, so a
// file swapped for a symlink to elsewhere, or replaced since indexing, is refused
// (read_photo_file in photo_files.cpp).
#include "common/value_parse.h"
#include "server/json_encode.h"
#include "server/photo_files.h"
#include "server/request_rules.h"
#include "server/routes.h"
#include "server/server_state.h"
#include "server/server_util.h"

namespace vf::server {

namespace {

Reply list_photos(ServerState& s, const Request& req) {
  auto m = params_map(req);
  int k = 60, offset = 0;
  if (m.count("k")) k = int(parse_int(m["k"], "k", 1, 1000));
  if (m.count("offset")) offset = int(parse_int(m["offset"], "offset", 0, 10'000'000));
  m.erase("k");
  m.erase("offset");
  Filters f = filters_named(m);
  auto g = s.gen();
  return s.limited([&](int slot, double queue_ms) {
    auto r = g->searcher(slot).list(f, k, offset);
    json items = json::array();
    for (auto& h : r.hits) items.push_back(photo_summary(h.photo));
    json t = timings_json(r.timings);
    t["queue_ms"] = round_to(queue_ms, 1);
    return json_reply({{"photos", items}, {"matched", r.matched}, {"filter_matches", filter_matches_json(r)}, {"k", k},
                       {"offset", offset}, {"timings", t}});
  });
}

Reply photo(ServerState& s, const Request& req) {
  auto g = s.gen();
  int64_t id = path_id(req);
  auto rec = g->library->photo(id);
  if (!rec) throw HttpError{404, "no photo with id " + std::to_string(id)};
  require_inside_roots(s, g->roots, *rec);
  return json_reply(photo_detail(*rec));
}

Reply examples(ServerState& s, const Request&) {
  auto g = s.gen();
  json items = json::array();
  for (auto id : g->examples)
    if (auto rec = g->library->photo(id)) items.push_back(photo_summary(*rec));
  return json_reply({{"examples", items}});
}

Reply photo_file(ServerState& s, const Request& req, const std::string& kind) {
  auto g = s.gen();
  int64_t id = path_id(req);
  auto rec = g->library->photo(id);
  if (!rec) throw HttpError{404, "no photo with id " + std::to_string(id)};
  if (kind == "thumb" && req.has_param("size")) return sized_thumb(s, *g, *rec, req.get_param_value("size"));
  std::string path;
  std::string mime = "image/jpeg";
  if (kind == "original") {
    path = rec->path;
    mime = rec->meta.mime.empty() ? "application/octet-stream" : rec->meta.mime;
  } else {
    require_inside_roots(s, g->roots, *rec);
    path = kind == "preview" ? rec->preview_path : rec->thumb_path;
    // None made at indexing (previews by default, everything in a reader library): made from
    // the original on first view, through its checked read, and cached by content hash.
    if (path.empty()) return resized_photo(s, *g, *rec, kind == "thumb" ? thumb_sizes().front() : kPreviewSize);
  }
  std::string body = read_photo_file(s, *g, *rec, path, kind == "original");
  Reply reply;
  if (kind == "original") {
    std::string name = basename_of(rec->path);
    std::string safe;
    for (char c : name) safe += (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) ? '_' : c;
    reply.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + safe + "\"");
    reply.headers.emplace_back("Cache-Control", "private, no-cache");
  } else {
    reply.headers.emplace_back("Cache-Control", "private, max-age=3600");
  }
  reply.body = std::move(body);
  reply.content_type = mime;
  return reply;
}

}  // namespace

void add_photo_routes(RouteTable& routes) {
  routes.get("/api/photos", list_photos, {{"k", "offset"}, true});
  routes.get(R"(/api/photos/(\d+))", photo);
  for (const char* kind : {"thumb", "preview", "original"}) {
    std::string k = kind;
    QueryParams accepted;
    if (k == "thumb") accepted.names = {"size"};
    routes.get(R"(/api/photos/(\d+)/)" + k, [k](ServerState& s, const Request& req) { return photo_file(s, req, k); },
               accepted);
  }
  routes.get("/api/examples", examples);
}

}  // namespace vf::server
