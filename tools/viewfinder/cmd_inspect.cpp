// `viewfinder inspect FILE...`: what Viewfinder reads from each photo (format, size,
// orientation, capture time, camera, GPS, hash, dominant colours), or why it cannot.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "viewfinder/image.h"

namespace {

using nlohmann::json;

// The three most common 8x8x8 histogram cells, as the cell-centre colour and its share.
std::vector<std::pair<std::string, float>> top_colours(const std::array<float, 512>& hist) {
  std::vector<int> idx(512);
  for (int i = 0; i < 512; ++i) idx[i] = i;
  std::partial_sort(idx.begin(), idx.begin() + 3, idx.end(),
                    [&](int a, int b) { return hist[a] > hist[b]; });
  std::vector<std::pair<std::string, float>> out;
  for (int k = 0; k < 3; ++k) {
    const int i = idx[k];
    if (hist[i] <= 0) break;
    char buf[8];
    std::snprintf(buf, sizeof buf, "#%02x%02x%02x", (i / 64) * 32 + 16, (i / 8 % 8) * 32 + 16,
                  (i % 8) * 32 + 16);
    out.push_back({buf, hist[i]});
  }
  return out;
}

template <typename T>
json opt(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

json to_json(const vf::IngestedPhoto& p) {
  const vf::PhotoMetadata& m = p.meta;
  char phash[17];
  std::snprintf(phash, sizeof phash, "%016llx", static_cast<unsigned long long>(p.phash));
  json colours = json::array();
  for (const auto& [hex, share] : top_colours(p.color_hist)) colours.push_back({{"color", hex}, {"share", share}});
  return {{"path", p.path},
          {"ok", true},
          {"format", m.format},
          {"mime", m.mime},
          {"file_size", m.file_size},
          {"mtime_ns", m.mtime_ns},
          {"content_hash", m.content_hash},
          {"stored_width", m.stored_width},
          {"stored_height", m.stored_height},
          {"width", m.width},
          {"height", m.height},
          {"orientation", m.orientation},
          {"capture_time", m.capture_time},
          {"capture_offset", m.capture_offset},
          {"capture_time_source", m.capture_time_source},
          {"capture_unix", m.capture_unix},
          {"file_time", m.file_time},
          {"file_time_unix", m.file_time_unix},
          {"make", m.make},
          {"model", m.model},
          {"lens", m.lens},
          {"focal_length_mm", opt(m.focal_length_mm)},
          {"aperture_f", opt(m.aperture_f)},
          {"exposure_s", opt(m.exposure_s)},
          {"iso", opt(m.iso)},
          {"gps_lat", opt(m.gps_lat)},
          {"gps_lon", opt(m.gps_lon)},
          {"gps_alt", opt(m.gps_alt)},
          {"rating", opt(m.rating)},
          {"keywords", m.keywords},
          {"metadata_warning", m.metadata_warning},
          {"phash", phash},
          {"top_colors", colours}};
}

void print_text(const json& j) {
  std::cout << j["path"].get<std::string>() << "\n";
  auto line = [](const char* label, const std::string& value) {
    if (!value.empty()) std::cout << "  " << label << std::string(14 - std::strlen(label), ' ') << value << "\n";
  };
  auto num = [](const json& v, const char* fmt) -> std::string {
    if (v.is_null()) return "";
    char buf[64];
    std::snprintf(buf, sizeof buf, fmt, v.get<double>());
    return buf;
  };
  line("format", j["format"].get<std::string>() + " (" + j["mime"].get<std::string>() + ")");
  line("file size", vf::cli::format_bytes(j["file_size"].get<int64_t>()));
  line("dimensions", std::to_string(j["width"].get<int>()) + "x" + std::to_string(j["height"].get<int>()) +
                         " (stored " + std::to_string(j["stored_width"].get<int>()) + "x" +
                         std::to_string(j["stored_height"].get<int>()) + ", orientation " +
                         std::to_string(j["orientation"].get<int>()) + ")");
  if (!j["capture_time"].get<std::string>().empty())
    line("taken", j["capture_time"].get<std::string>() + j["capture_offset"].get<std::string>() + " (" +
                      j["capture_time_source"].get<std::string>() + ")");
  else
    line("taken", "unknown (no capture date in the file)");
  if (!j["file_time"].get<std::string>().empty())
    line("file time", j["file_time"].get<std::string>() + " (file modification, not a capture time)");
  line("camera", j["make"].get<std::string>() + (j["model"].get<std::string>().empty() ? "" : " " + j["model"].get<std::string>()));
  line("lens", j["lens"].get<std::string>());
  std::string exposure;
  if (!j["focal_length_mm"].is_null()) exposure += num(j["focal_length_mm"], "%.1f mm  ");
  if (!j["aperture_f"].is_null()) exposure += num(j["aperture_f"], "f/%.1f  ");
  if (!j["exposure_s"].is_null()) {
    const double e = j["exposure_s"].get<double>();
    char buf[32];
    if (e > 0 && e < 1) std::snprintf(buf, sizeof buf, "1/%.0f s  ", 1 / e);
    else std::snprintf(buf, sizeof buf, "%.1f s  ", e);
    exposure += buf;
  }
  if (!j["iso"].is_null()) exposure += "ISO " + std::to_string(j["iso"].get<int>());
  line("exposure", exposure);
  if (!j["gps_lat"].is_null())
    line("gps", num(j["gps_lat"], "%.6f") + ", " + num(j["gps_lon"], "%.6f") +
                    (j["gps_alt"].is_null() ? "" : num(j["gps_alt"], "  %.1f m")));
  if (!j["rating"].is_null()) line("rating", std::to_string(j["rating"].get<int>()));
  std::string kw;
  for (const auto& k : j["keywords"]) kw += (kw.empty() ? "" : ", ") + k.get<std::string>();
  line("keywords", kw);
  line("warning", j["metadata_warning"].get<std::string>());
  line("hash", "xxh3-128 " + j["content_hash"].get<std::string>());
  line("phash", j["phash"].get<std::string>());
  std::string colours;
  for (const auto& c : j["top_colors"])
    colours += c["color"].get<std::string>() + " " + std::to_string(int(c["share"].get<double>() * 100 + 0.5)) + "%  ";
  line("top colours", colours);
}

int cmd_inspect(int argc, char** argv) {
  vf::cli::Args args("inspect", "FILE...",
                     "Show what Viewfinder reads from photos: format, size, orientation, capture "
                     "time, camera and exposure, GPS, content hash and dominant colours, or why a "
                     "file cannot be read. Exit code 1 if any file failed.");
  args.flag("json", "print one JSON array (one object per file, \"ok\": false with \"error\" on failure)");
  args.flag("as-stored", "do not apply EXIF orientation");
  args.epilog("examples:\n  viewfinder inspect IMG_0001.HEIC\n  viewfinder inspect --json photos/*.jpg");
  if (!args.parse(argc, argv)) return args.exit_code();
  return vf::cli::guarded([&] {
    if (args.positionals().empty()) throw vf::Error("inspect: no files given (see --help)", vf::ErrorCode::InvalidArgument);
    vf::IngestParams params;
    params.model_input_size = 0;
    params.thumb_size = 0;
    params.preview_size = 0;
    params.apply_orientation = !args.has("as-stored");
    const bool as_json = args.has("json");
    json all = json::array();
    int failed = 0;
    for (const std::string& path : args.positionals()) {
      json j;
      try {
        j = to_json(vf::ingest_file(path, params));
      } catch (const std::exception& e) {
        ++failed;
        j = {{"path", path}, {"ok", false}, {"error", e.what()}};
        if (!as_json) std::cerr << "viewfinder inspect: " << e.what() << "\n";
      }
      if (as_json) all.push_back(j);
      else if (j["ok"].get<bool>()) print_text(j);
    }
    if (as_json) std::cout << all.dump(2) << "\n";
    return failed ? 1 : 0;
  });
}

}  // namespace

VF_COMMAND("inspect", "show a photo's format, metadata, hash and colours (or why it cannot be read)", cmd_inspect);
