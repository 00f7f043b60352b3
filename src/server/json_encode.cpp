#include "server/json_encode.h"

#include <sstream>

#include "server/server_util.h"
#include "viewfinder/photo_json.h"
#include "viewfinder/text.h"

namespace vf::server {

namespace {

// The URLs of a photo's files (the file routes in routes_photos.cpp).
void put_file_urls(json& j, int64_t id) {
  std::string base = "/api/photos/" + std::to_string(id);
  j["thumb_url"] = base + "/thumb";
  j["preview_url"] = base + "/preview";
  j["original_url"] = base + "/original";
}

}  // namespace

json photo_summary(const PhotoRecord& p) {
  json j = json::object();
  put_photo_summary(j, p);  // the form the CLI's --json shares (viewfinder/photo_json.h)
  put_file_urls(j, p.id);
  return j;
}

json photo_detail(const PhotoRecord& p) {
  json j = json::object();
  put_photo_detail(j, p);
  put_file_urls(j, p.id);
  return j;
}

json hit_json(const SearchHit& h) {
  json j = photo_summary(h.photo);
  j["id"] = h.id;
  // Rounded for display: float noise past the 4th decimal means nothing to a ranking.
  j["score"] = round_to(h.score, 4);
  j["semantic"] = round_to(h.semantic, 4);
  j["color"] = round_to(h.color, 4);
  j["copies"] = h.copies;    // duplicates collapsed into this hit ("and N copies")
  j["stacked"] = h.stacked;  // other frames of its stack
  j["hidden_ids"] = h.hidden_ids;
  return j;
}

json timings_json(const SearchTimings& t) {
  return {{"decode_ms", round_to(t.decode_ms, 1)}, {"embed_ms", round_to(t.embed_ms, 1)},
          {"search_ms", round_to(t.search_ms, 1)}, {"total_ms", round_to(t.total_ms, 1)}};
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
          {"last_indexed", i.last_indexed},
          {"reader", i.reader}};
}

json filter_matches_json(const SearchResults& r) {
  json a = json::array();
  for (auto& m : r.filter_matches) a.push_back({{"filter", m.filter}, {"matched", m.matched}});
  return a;
}

static json unreadable_folders_json(const IndexReport& r) {
  json a = json::array();
  for (auto& f : r.unreadable_folders) {
    json j = {{"reason", f.reason}};
    put_path(j, "path", f.path);
    a.push_back(j);
  }
  return a;
}

json index_report_json(const IndexReport& r) {
  return {{"scanned", r.scanned},   {"added", r.added},         {"changed", r.changed},
          {"moved", r.moved},       {"deleted", r.deleted},     {"unchanged", r.unchanged},
          {"embedded", r.embedded}, {"reembedded", r.reembedded}, {"failed", r.failed},
          {"not_photos", r.not_photos}, {"still_failing", r.still_failing},
          {"unreadable_folders", unreadable_folders_json(r)},
          {"seconds", r.seconds},   {"images_per_s", r.images_per_s}};
}

json clusters_json(const Library& library, const ClusterResult& c) {
  json cl = json::array();
  for (auto& x : c.clusters) {
    json reps = json::array();
    for (auto id : x.representatives)
      if (auto rec = library.photo(id)) reps.push_back(photo_summary(*rec));
    json facts = json::array();
    for (auto& f : x.facts) facts.push_back({{"kind", f.kind}, {"text", f.text}, {"share", round_to(f.share, 4)}});
    // "label" is what to show: the user's name when there is one, else the automatic label.
    cl.push_back({{"id", x.id}, {"size", x.size}, {"label", x.title()}, {"auto_label", x.label},
                  {"name", x.name.empty() ? json(nullptr) : json(x.name)}, {"facts", facts},
                  {"representatives", reps}});
  }
  json sk = json::array();
  for (auto& [k, s] : c.silhouette_by_k) sk.push_back({{"k", k}, {"silhouette", round_to(s, 4)}});
  return json{{"computed", true}, {"k", c.k}, {"inertia", round_to(c.inertia, 4)}, {"silhouette", round_to(c.silhouette, 4)},
              {"silhouette_by_k", sk}, {"clusters", cl}, {"note", c.note}};
}

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

}  // namespace vf::server
