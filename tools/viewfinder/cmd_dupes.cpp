// viewfinder dupes: exact and near-duplicate groups, each with the copy to keep and why.
#include <iomanip>
#include <cmath>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli.h"
#include "store_option.h"
#include "search_cli_common.h"
#include "viewfinder/viewfinder.h"

namespace {
using nlohmann::json;

// "jpeg 2268x1512, 534 KB, #12"
std::string describe(const vf::DupeMember& m) {
  std::ostringstream o;
  o << (m.format.empty() ? "?" : m.format) << " " << m.width << "x" << m.height << ", " << std::fixed
    << std::setprecision(0) << static_cast<double>(m.file_size) / 1024.0 << " KB, #" << m.id;
  return o.str();
}

json group_json(const vf::DupeGroup& g) {
  json members = json::array();
  for (const auto& m : g.members) {
    json j = {{"id", m.id}};
    vf::put_path(j, "path", m.path);  // lossless for names that are not UTF-8
    vf::put_dupe_evidence(j, m, g.keeper);
    members.push_back(j);
  }
  return {{"kind", g.kind}, {"keeper", g.keeper}, {"keeper_reason", g.keeper_reason}, {"members", members}};
}

int cmd_dupes(int argc, char** argv) {
  vf::cli::Args args("dupes", "",
                     "Find duplicate photos, of three kinds, each with its evidence:\n"
                     "  identical_bytes   the same content hash;\n"
                     "  identical_pixels  the same decoded pixels in another file or format (checked by\n"
                     "                    decoding both at full size);\n"
                     "  near              re-encodes, resizes, crops, small edits: embedding cosine >=\n"
                     "                    --threshold (through the index, never all pairs), or pHash distance.\n"
                     "A photo is in one group only. Each group names a keeper, for a photographer's reason:\n"
                     "RAW over its JPEG, more pixels, lossless over lossy, the larger file at equal pixels,\n"
                     "richer metadata, the earliest capture, then the path. Bursts are not duplicates: see\n"
                     "`viewfinder stacks`.");
  args.option("library", "DIR", "library directory", vf::default_library_dir()).alias('l');
  args.option("threshold", "T", "cosine for near-duplicates; lower finds more (and more false pairs)", "0.95");
  args.option("neighbors", "N", "neighbours examined per photo", "16");
  args.option("phash", "BITS", "also join colour-index neighbours whose perceptual hashes differ in at most BITS bits (off by default; try 8)");
  args.flag("exact-only", "only identical bytes and identical pixels");
  args.flag("near-only", "only near duplicates (no identical-bytes/pixels check)");
  vf::cli_search::add_filter_options(args);
  args.flag("json", "print JSON");
  args.epilog("Tuning: start at the default 0.95 and look at the groups; lower it (0.92, 0.90) to catch\n"
              "heavier crops and edits, raise it (0.97) if distinct shots of one scene get grouped.\n"
              "examples:\n  viewfinder dupes\n  viewfinder dupes --threshold 0.9 --json\n"
              "  viewfinder dupes --folder ~/Pictures/2021 --exact-only");
  vf::cli::add_store_option(args);
  if (!args.parse(argc, argv)) return args.exit_code();
  return vf::cli::guarded([&] {
    auto lib = vf::cli::open_library(args, args.get("library"), /*read_only=*/true);
    vf::DupeParams p;
    p.threshold = static_cast<float>(args.get_double("threshold"));
    p.max_neighbors = args.get_int("neighbors");
    if (args.has("phash")) p.phash_max_distance = args.get_int("phash");
    if (args.has("exact-only") && args.has("near-only"))
      throw vf::Error("give --exact-only or --near-only, not both", vf::ErrorCode::InvalidArgument);
    if (args.has("exact-only")) p.near = false, p.phash_max_distance = -1;
    if (args.has("near-only")) p.exact = false;
    p.filters = vf::cli_search::parse_filters(args);
    auto groups = vf::find_duplicates(*lib, p);
    if (args.has("json")) {
      json out = json::array();
      for (const auto& g : groups) out.push_back(group_json(g));
      std::cout << json{{"threshold", std::round(p.threshold * 1e4) / 1e4}, {"groups", out}}.dump(
                       1, ' ', false, json::error_handler_t::replace)
                << "\n";
      return 0;
    }
    int64_t extra = 0;
    for (const auto& g : groups) {
      std::cout << g.kind << " group of " << g.members.size() << ", keep #" << g.keeper << ": " << g.keeper_reason << "\n";
      for (const auto& m : g.members) {
        std::cout << (m.relation == "keeper" ? "  keep " : "       ") << m.path << "\n          " << describe(m);
        if (m.relation != "keeper") std::cout << "; " << m.relation << ": " << m.evidence;
        if (m.copy_of) std::cout << "; " << m.copy_kind << " copy of #" << m.copy_of;
        std::cout << "\n";
      }
      extra += static_cast<int64_t>(g.members.size()) - 1;
    }
    std::cout << groups.size() << " groups, " << extra << " photos beyond the keepers\n";
    return 0;
  });
}

}  // namespace

VF_COMMAND("dupes", "find identical and near-duplicate photos, with the copy to keep and why", cmd_dupes);
