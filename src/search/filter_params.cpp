// The one parser of metadata filters given as text: the server's query parameters and JSON
// filters and the CLI's options all come through here, so a filter means the same thing
// wherever it is typed.
#include <algorithm>
#include <array>
#include <sstream>

#include "common/value_parse.h"
#include "viewfinder/search.h"

namespace vf {

namespace {

// Four comma-separated numbers in [-180, 180].
std::array<double, 4> parse_four_coordinates(const std::string& value, const std::string& key,
                                             const char* want) {
  std::array<double, 4> b{};
  std::stringstream ss(value);
  std::string part;
  int n = 0;
  while (std::getline(ss, part, ',')) {
    if (n == 4) throw Error(key + " wants " + want, ErrorCode::InvalidArgument);
    b[size_t(n++)] = parse_number(part, key, -180, 180);
  }
  if (n != 4) throw Error(key + " wants " + want, ErrorCode::InvalidArgument);
  return b;
}

// Keys in the order they are applied: a later key overrides an earlier one that sets the
// same field (path_prefix over folder, camera over model).
const char* const kFilterKeys[] = {"include_file_times", "date_from", "date_to", "make",       "model",      "camera",
                                   "lens",      "folder",      "path_prefix", "format",    "orientation",
                                   "min_width", "min_height",  "min_rating", "gps_bbox",   "bbox"};

// "=text" -> (text, exact); anything else is a substring.
bool exact_or_substring(const std::string& value, std::string& out) {
  bool exact = value.size() > 1 && value[0] == '=';
  out = exact ? value.substr(1) : value;
  return exact;
}

}  // namespace

bool parse_filter_param(const std::string& name, const std::string& value, Filters& out) {
  if (std::find(std::begin(kFilterKeys), std::end(kFilterKeys), name) == std::end(kFilterKeys)) return false;
  if (value.empty()) return true;
  const std::string& v = value;
  if (name == "include_file_times") {
    if (v == "1" || v == "true" || v == "yes") out.include_file_times = true;
    else if (v == "0" || v == "false" || v == "no") out.include_file_times = false;
    else throw Error("include_file_times wants 1/true/yes or 0/false/no (got '" + v + "')", ErrorCode::InvalidArgument);
  } else if (name == "date_from") out.date_from = parse_date_bound(v, false);
  else if (name == "date_to") out.date_to = parse_date_bound(v, true);
  // Text filters are substrings; "=value" is the exact value (what a dropdown sends).
  else if (name == "make") out.make_exact = exact_or_substring(v, out.make);
  // "camera" is the UI's camera facet: the model string alone identifies the camera well.
  else if (name == "model" || name == "camera") out.model_exact = exact_or_substring(v, out.model);
  else if (name == "lens") out.lens_exact = exact_or_substring(v, out.lens);
  // A folder matches its contents only, not a sibling sharing the prefix (2019 vs 2019-old).
  else if (name == "folder") out.path_prefix = v.back() == '/' ? v : v + "/";
  else if (name == "path_prefix") out.path_prefix = v;
  else if (name == "format") out.format = v;
  else if (name == "orientation") {
    if (v != "landscape" && v != "portrait" && v != "square")
      throw Error("bad orientation '" + v + "' (landscape, portrait or square)", ErrorCode::InvalidArgument);
    out.orientation = v;
  } else if (name == "min_width") out.min_width = int(parse_int(v, "min_width", 0, 1 << 20));
  else if (name == "min_height") out.min_height = int(parse_int(v, "min_height", 0, 1 << 20));
  else if (name == "min_rating") out.min_rating = int(parse_int(v, "min_rating", -1, 5));
  else if (name == "gps_bbox") out.gps_bbox = parse_four_coordinates(v, name, "min_lat,min_lon,max_lat,max_lon");
  else if (name == "bbox") {
    auto b = parse_four_coordinates(v, name, "lat1,lon1,lat2,lon2 (two opposite corners)");
    out.gps_bbox = std::array<double, 4>{std::min(b[0], b[2]), std::min(b[1], b[3]), std::max(b[0], b[2]),
                                         std::max(b[1], b[3])};
  }
  return true;
}

Filters filters_from_params(const std::map<std::string, std::string>& params) {
  Filters out;
  for (const char* key : kFilterKeys)
    if (auto it = params.find(key); it != params.end()) parse_filter_param(key, it->second, out);
  return out;
}

}  // namespace vf
