// Viewfinder public API: the JSON form of a photo that every output shares.
//
// The HTTP API (GET /api/photos, search hits, GET /api/photos/{id}) and the CLI's --json write
// a photo through these two functions, so a script reads the same field names and shapes
// from either; each adds only what is its own (the API its file URLs, the CLI the local
// thumbnail path). Templates over the JSON type, like put_path, so this header does not pull
// a JSON library into the public API.
#pragma once

#include <string>

#include "viewfinder/library.h"
#include "viewfinder/text.h"

namespace vf {

namespace photo_json_detail {
template <class Json, class T>
Json or_null(const std::optional<T>& v) {
  return v ? Json(*v) : Json(nullptr);
}
}  // namespace photo_json_detail

// id, name, path (+ path_bytes), folder, format, width, height (after orientation),
// capture_time ("" when the file records none), file_time, make, model, lens, rating (null).
template <class Json>
void put_photo_summary(Json& j, const PhotoRecord& p) {
  const auto& m = p.meta;
  j["id"] = p.id;
  j["name"] = p.path.substr(p.path.find_last_of('/') + 1);
  put_path(j, "path", p.path);
  put_path(j, "folder", p.folder);
  j["format"] = m.format;
  j["width"] = m.width;
  j["height"] = m.height;
  j["capture_time"] = m.capture_time;
  j["file_time"] = m.file_time;  // the file's modification time, never a capture time
  j["make"] = m.make;
  j["model"] = m.model;
  j["lens"] = m.lens;
  j["rating"] = photo_json_detail::or_null<Json>(m.rating);
}

// The summary plus everything the catalog knows of the file and its metadata.
template <class Json>
void put_photo_detail(Json& j, const PhotoRecord& p) {
  using photo_json_detail::or_null;
  put_photo_summary(j, p);
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
  j["focal_length_mm"] = or_null<Json>(m.focal_length_mm);
  j["aperture_f"] = or_null<Json>(m.aperture_f);
  j["exposure_s"] = or_null<Json>(m.exposure_s);
  j["iso"] = or_null<Json>(m.iso);
  if (m.gps_lat && m.gps_lon) {
    Json gps;
    gps["lat"] = *m.gps_lat;
    gps["lon"] = *m.gps_lon;
    gps["alt"] = or_null<Json>(m.gps_alt);
    j["gps"] = gps;
  } else {
    j["gps"] = nullptr;
  }
  j["keywords"] = m.keywords;
}

}  // namespace vf
