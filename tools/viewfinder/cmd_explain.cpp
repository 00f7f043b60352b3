// viewfinder explain: why a photo matched a query. For each patch of one picture, its best
// cosine against the other picture's patches, drawn as a heatmap over the photo (PNG), and
// the maps themselves with --json.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli.h"
#include "explain_cli.h"

namespace {
using nlohmann::json;

void write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  if (!out) throw vf::Error(path + ": cannot write", vf::ErrorCode::Io);
}

// The picture shrunk to `size` on its long edge (never enlarged).
vf::RgbImage fit(vf::RgbImage pic, int size) {
  int long_edge = std::max(pic.width, pic.height);
  if (long_edge <= size) return pic;
  double s = double(size) / long_edge;
  return vf::resize_picture(pic, std::max(1, int(std::lround(pic.width * s))), std::max(1, int(std::lround(pic.height * s))));
}

int cmd_explain(int argc, char** argv) {
  vf::cli::Args args("explain", "QUERY PHOTO",
                     "Show why PHOTO matched QUERY: for each patch of PHOTO, its best cosine against\n"
                     "QUERY's patches (and the other way round), as a heatmap drawn over the picture.\n"
                     "QUERY and PHOTO: an image file, an indexed photo's path, or id:N.");
  args.option("library", "DIR", "library directory", vf::default_library_dir()).alias('l');
  args.option("output", "FILE", "write PHOTO with its heatmap drawn over it (PNG)").alias('o');
  args.option("query-output", "FILE", "write QUERY with its heatmap drawn over it (PNG)");
  args.option("region", "X,Y,W,H", "match only this box of QUERY (fractions 0..1 of the picture as displayed)");
  args.option("size", "PX", "long edge of the PNG overlays (never enlarged)", "512");
  args.option("model-dir", "DIR", "model to compute patch features with (default: the library's)");
  args.flag("json", "print the maps (row-major, top-left first) and timings as JSON");
  args.epilog("examples:\n"
              "  viewfinder explain query.jpg id:42 -o why.png\n"
              "  viewfinder explain id:7 id:42 --region 0.2,0.3,0.4,0.4 --json");
  if (!args.parse(argc, argv)) return args.exit_code();
  return vf::cli::guarded([&] {
    if (args.positionals().size() != 2)
      throw vf::Error("give a QUERY and a PHOTO (see --help)", vf::ErrorCode::InvalidArgument);
    if (!args.has("output") && !args.has("query-output") && !args.has("json"))
      throw vf::Error("nothing to do: give -o FILE, --query-output FILE or --json", vf::ErrorCode::InvalidArgument);
    auto lib = vf::Library::open(args.get("library"), /*read_only=*/true);
    auto query = vf::cli_explain::resolve_query_word(args.positionals()[0], *lib);
    auto photo = vf::cli_explain::resolve_query_word(args.positionals()[1], *lib);
    std::optional<vf::Region> region;
    if (args.has("region")) region = vf::parse_region(args.get("region"));
    int size = args.get_int("size");
    if (size < 16 || size > 4096) throw vf::Error("--size must be 16..4096", vf::ErrorCode::InvalidArgument);
    vf::EngineParams ep;
    if (args.has("model-dir")) ep.model_dir = args.get("model-dir");
    vf::Explainer ex(*lib, ep);

    auto t0 = std::chrono::steady_clock::now();
    vf::PatchGrid q = vf::cli_explain::query_patches(query, *lib, ex);
    vf::PatchGrid p = vf::cli_explain::query_patches(photo, *lib, ex);
    vf::Heatmaps maps = region ? vf::match_region_heatmaps(q, *region, p) : vf::match_heatmaps(q, p);
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();

    if (args.has("output")) {
      auto pic = fit(vf::cli_explain::query_picture(photo, *lib, size), size);
      write_file(args.get("output"), vf::encode_png(vf::heatmap_overlay(pic, maps.photo_map, maps.photo_rows, maps.photo_cols)));
    }
    if (args.has("query-output")) {
      auto pic = fit(vf::cli_explain::query_picture(query, *lib, size), size);
      write_file(args.get("query-output"), vf::encode_png(vf::heatmap_overlay(pic, maps.query_map, maps.query_rows, maps.query_cols)));
    }
    if (args.has("json")) {
      json out = {{"query_grid", {maps.query_rows, maps.query_cols}},
                  {"photo_grid", {maps.photo_rows, maps.photo_cols}},
                  {"query_map", maps.query_map},
                  {"photo_map", maps.photo_map},
                  {"ms", ms}};
      if (region) out["region"] = {region->x, region->y, region->w, region->h};
      std::cout << out.dump() << "\n";
    } else {
      std::cerr << "heatmaps " << maps.query_rows << "x" << maps.query_cols << " (query) and "
                << maps.photo_rows << "x" << maps.photo_cols << " (photo) in " << int(ms) << " ms\n";
    }
    return 0;
  });
}

}  // namespace

VF_COMMAND("explain", "why a photo matched a query: patch similarity heatmaps (PNG, JSON)", cmd_explain);
