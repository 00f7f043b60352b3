// Options shared by the search-stage commands (search, dupes): metadata filters and the JSON
// form of a photo.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "cli.h"
#include "viewfinder/viewfinder.h"

namespace vf::cli_search {

inline void add_filter_options(vf::cli::Args& args) {
  args.option("from", "DATE", "captured on or after DATE (YYYY-MM-DD[THH:MM[:SS]] or unix seconds)");
  args.option("to", "DATE", "captured on or before DATE (a date alone includes that whole day)");
  args.option("make", "TEXT", "camera make contains TEXT (case-insensitive substring; =TEXT: exactly TEXT)");
  // Not --model: that is the model directory in every command.
  args.option("camera-model", "TEXT", "camera model contains TEXT (case-insensitive substring; =TEXT: exactly TEXT)");
  args.option("lens", "TEXT", "lens contains TEXT (case-insensitive substring; =TEXT: exactly TEXT)");
  args.option("folder", "PATH", "only photos under this folder (or path prefix)");
  args.option("format", "FMT", "jpeg, heif, png, webp, tiff, raw, ...");
  args.option("orientation", "O", "landscape | portrait | square");
  args.option("min-width", "PX", "minimum width after orientation");
  args.option("min-height", "PX", "minimum height after orientation");
  args.option("min-rating", "N", "minimum XMP rating");
  args.option("bbox", "LAT1,LON1,LAT2,LON2", "GPS bounding box: two opposite corners, degrees");
  args.flag("include-file-times", "--from/--to and newest-first also date photos without a capture time by their file time");
}

// The options as filter parameters of the search stage (vf::filters_from_params), so that a
// filter means here what it means to the server. Only --folder is resolved here: a relative
// folder is relative to the working directory of the command.
inline vf::Filters parse_filters(const vf::cli::Args& args) {
  std::map<std::string, std::string> params;
  const std::pair<const char*, const char*> option_to_key[] = {
      {"from", "date_from"},   {"to", "date_to"},   {"make", "make"},
      {"camera-model", "model"}, {"lens", "lens"},    {"format", "format"},
      {"orientation", "orientation"}, {"min-width", "min_width"}, {"min-height", "min_height"},
      {"min-rating", "min_rating"},   {"bbox", "bbox"}};
  for (auto& [option, key] : option_to_key)
    if (args.has(option)) params[key] = args.get(option);
  if (args.has("include-file-times")) params["include_file_times"] = "1";
  if (args.has("folder")) {
    namespace fs = std::filesystem;
    std::string abs = fs::weakly_canonical(fs::absolute(args.get("folder"))).string();
    // A directory means its contents; anything else is a path prefix ("/photos/IMG_").
    params[fs::is_directory(abs) ? "folder" : "path_prefix"] = abs;
  }
  return vf::filters_from_params(params);
}

// The API's photo detail form (viewfinder/photo_json.h) plus the local thumbnail path.
inline nlohmann::json photo_json(const vf::PhotoRecord& p) {
  nlohmann::json j = nlohmann::json::object();
  vf::put_photo_detail(j, p);
  j["thumb"] = p.thumb_path;
  return j;
}

}  // namespace vf::cli_search
