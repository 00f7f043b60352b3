// viewfinder dupes: exact and near-duplicate groups, each with the copy to keep and why.
#include <iomanip>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli.h"
#include "store_option.h"
#include "search_cli_common.h"
#include "viewfinder/viewfinder.h"

namespace {
using nlohmann::json;

int cmd_dupes(int argc, char** argv) {
  vf::cli::Args args("dupes", "",
                     "Find duplicate photos. Exact: byte-identical files (same content hash), or the same\n"
                     "pixels saved in another format (equal perceptual hash and embedding cosine >= 0.999).\n"
                     "Near: re-encodes, resizes, crops and bursts, found through the index (each photo's\n"
                     "nearest neighbours, never all pairs) with embedding cosine >= --threshold.\n"
                     "Each group names a keeper: the largest resolution, then RAW over JPEG, then the\n"
                     "earliest capture.");
  args.option("library", "DIR", "library directory", vf::default_library_dir()).alias('l');
  args.option("threshold", "T", "cosine for near-duplicates; lower finds more (and more false pairs)", "0.95");
  args.option("neighbors", "N", "neighbours examined per photo", "16");
  args.option("phash", "BITS", "also join colour-index neighbours whose perceptual hashes differ in at most BITS bits (off by default; try 8)");
  args.flag("exact-only", "only exact duplicates");
  args.flag("near-only", "only near duplicates");
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
      for (const auto& g : groups) {
        json members = json::array();
        for (const auto& m : g.members) members.push_back({{"id", m.id}, {"path", m.path}, {"similarity", m.similarity}});
        out.push_back({{"kind", g.kind}, {"keeper", g.keeper}, {"keeper_reason", g.keeper_reason}, {"members", members}});
      }
      std::cout << json{{"threshold", p.threshold}, {"groups", out}}.dump(1) << "\n";
      return 0;
    }
    int64_t extra = 0;
    for (const auto& g : groups) {
      std::cout << g.kind << " group of " << g.members.size() << " (keep #" << g.keeper << ": " << g.keeper_reason << ")\n";
      for (size_t i = 0; i < g.members.size(); ++i) {
        const auto& m = g.members[i];
        std::cout << (i == 0 ? "  keep " : "       ") << std::fixed << std::setprecision(3) << m.similarity << "  "
                  << m.path << "  #" << m.id << "\n";
      }
      extra += static_cast<int64_t>(g.members.size()) - 1;
    }
    std::cout << groups.size() << " groups, " << extra << " photos beyond the keepers\n";
    return 0;
  });
}

}  // namespace

VF_COMMAND("dupes", "find exact and near-duplicate photos, with the copy to keep", cmd_dupes);
