// Options shared by the search-stage commands (search, dupes): metadata filters and the JSON
// form of a photo.
#pragma once

#include <ctime>
#include <filesystem>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "cli.h"
#include "viewfinder/viewfinder.h"

namespace vf::cli_search {

inline void add_filter_options(vf::cli::Args& args) {
  args.option("from", "DATE", "captured on or after DATE (YYYY-MM-DD[THH:MM:SS])");
  args.option("to", "DATE", "captured on or before DATE (a date alone includes that whole day)");
  args.option("make", "TEXT", "camera make contains TEXT (case-insensitive)");
  args.option("model", "TEXT", "camera model contains TEXT (case-insensitive)");
  args.option("lens", "TEXT", "lens contains TEXT (case-insensitive)");
  args.option("folder", "PATH", "only photos under this folder (or path prefix)");
  args.option("format", "FMT", "jpeg, heif, png, webp, tiff, raw, ...");
  args.option("orientation", "O", "landscape | portrait | square");
  args.option("min-width", "PX", "minimum width after orientation");
  args.option("min-height", "PX", "minimum height after orientation");
  args.option("min-rating", "N", "minimum XMP rating");
  args.option("bbox", "LAT1,LON1,LAT2,LON2", "GPS bounding box: two opposite corners, degrees");
}

// "2019-03-14" or "2019-03-14T09:30:12" (or with a space) as seconds, read like capture times
// (local wall-clock time taken as UTC, see image.h). `end_of_day` extends a date alone to 23:59:59.
inline int64_t parse_date(const std::string& text, bool end_of_day) {
  std::tm tm{};
  std::string t = text;
  for (auto& c : t)
    if (c == 'T') c = ' ';
  const char* rest = strptime(t.c_str(), "%Y-%m-%d %H:%M:%S", &tm);
  bool date_only = false;
  if (!rest || *rest) {
    tm = {};
    rest = strptime(t.c_str(), "%Y-%m-%d", &tm);
    date_only = true;
    if (!rest || *rest)
      throw vf::Error("bad date \"" + text + "\": expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS",
                      vf::ErrorCode::InvalidArgument);
  }
  int64_t s = static_cast<int64_t>(timegm(&tm));
  if (date_only && end_of_day) s += 86399;
  return s;
}

inline vf::Filters parse_filters(const vf::cli::Args& args) {
  vf::Filters f;
  if (args.has("from")) f.date_from = parse_date(args.get("from"), false);
  if (args.has("to")) f.date_to = parse_date(args.get("to"), true);
  f.make = args.get("make");
  f.model = args.get("model");
  f.lens = args.get("lens");
  if (args.has("folder")) {
    namespace fs = std::filesystem;
    std::string p = args.get("folder");
    std::string abs = fs::weakly_canonical(fs::absolute(p)).string();
    // A folder matches its contents only, not a sibling sharing the prefix (2019 vs 2019-old).
    if (fs::is_directory(abs) && abs.back() != '/') abs += '/';
    f.path_prefix = abs;
  }
  f.format = args.get("format");
  f.orientation = args.get("orientation");
  if (args.has("min-width")) f.min_width = args.get_int("min-width");
  if (args.has("min-height")) f.min_height = args.get_int("min-height");
  if (args.has("min-rating")) f.min_rating = args.get_int("min-rating");
  if (args.has("bbox")) {
    std::array<double, 4> b{};
    std::stringstream ss(args.get("bbox"));
    std::string part;
    int i = 0;
    while (std::getline(ss, part, ',')) {
      if (i >= 4) break;
      try {
        b[i++] = std::stod(part);
      } catch (...) {
        i = -1;
        break;
      }
    }
    if (i != 4 || std::getline(ss, part, ','))
      throw vf::Error("bad --bbox \"" + args.get("bbox") + "\": expected lat1,lon1,lat2,lon2",
                      vf::ErrorCode::InvalidArgument);
    // Opposite corners in any order. (Boxes across the antimeridian need the API:
    // Filters::gps_bbox with min_lon > max_lon.)
    f.gps_bbox = std::array<double, 4>{std::min(b[0], b[2]), std::min(b[1], b[3]),
                                       std::max(b[0], b[2]), std::max(b[1], b[3])};
  }
  return f;
}

inline nlohmann::json photo_json(const vf::PhotoRecord& p) {
  const auto& m = p.meta;
  nlohmann::json j = {{"path", p.path},     {"folder", p.folder},   {"format", m.format},
                      {"width", m.width},   {"height", m.height},   {"capture_time", m.capture_time},
                      {"make", m.make},     {"model", m.model},     {"lens", m.lens},
                      {"thumb", p.thumb_path}};
  if (m.rating) j["rating"] = *m.rating;
  if (m.gps_lat && m.gps_lon) j["gps"] = {*m.gps_lat, *m.gps_lon};
  if (!m.keywords.empty()) j["keywords"] = m.keywords;
  return j;
}

}  // namespace vf::cli_search
