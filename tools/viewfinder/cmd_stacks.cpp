// viewfinder stacks: RAW+JPEG pairs, bursts and exposure brackets, each with its pick and why.
#include <cmath>
#include <iomanip>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli.h"
#include "search_cli_common.h"
#include "viewfinder/viewfinder.h"

namespace {
using nlohmann::json;

// Rounded for display: dividing by a power of ten gives the double nearest the decimal.
double round_to(double v, double unit) { return std::round(v / unit) / std::round(1 / unit); }

json stack_json(const vf::Stack& s) {
  json members = json::array();
  for (const auto& m : s.members) {
    json j = {{"id", m.id},
              {"path", m.path},
              {"format", m.format},
              {"width", m.width},
              {"height", m.height},
              {"capture_unix", m.capture_unix},
              {"sharpness", round_to(m.sharpness, 0.1)},
              {"exposure", round_to(m.exposure, 0.001)},
              {"clipped", round_to(m.clipped, 0.0001)},
              {"mean_luma", round_to(m.mean_luma, 0.1)},
              {"pick", m.id == s.pick}};
    if (m.exposure_s) j["exposure_s"] = *m.exposure_s;
    members.push_back(j);
  }
  return {{"kind", s.kind}, {"evidence", s.evidence}, {"pick", s.pick}, {"pick_reason", s.pick_reason},
          {"members", members}};
}

int cmd_stacks(int argc, char** argv) {
  vf::cli::Args args("stacks", "",
                     "Group photos into stacks: a RAW and a JPEG of the same frame (same folder and stem,\n"
                     "or the same capture time and camera serial), bursts and exposure brackets (one camera,\n"
                     "consecutive captures at most --window seconds apart, embedding similarity >=\n"
                     "--similarity; differing shutter times make a bracket). Each stack has a pick: the RAW\n"
                     "of a pair; otherwise the best product of sharpness (variance of the Laplacian on the\n"
                     "preview, relative to the stack's sharpest) and exposure (clipping, mean brightness).\n"
                     "Stacks are not duplicates: each frame is a different photo.");
  args.option("library", "DIR", "library directory", vf::default_library_dir()).alias('l');
  args.option("window", "SECONDS", "largest gap between consecutive frames of a burst", "2");
  args.option("similarity", "S", "smallest embedding cosine between consecutive frames", "0.8");
  args.flag("raw-jpeg-only", "only RAW+JPEG pairs");
  args.flag("bursts-only", "only bursts and brackets");
  vf::cli_search::add_filter_options(args);
  args.flag("json", "print JSON");
  args.epilog("examples:\n  viewfinder stacks\n  viewfinder stacks --window 1 --json\n"
              "  viewfinder stacks --folder ~/Pictures/2024-05-wedding --bursts-only");
  if (!args.parse(argc, argv)) return args.exit_code();
  return vf::cli::guarded([&] {
    auto lib = vf::Library::open(args.get("library"), /*read_only=*/true);
    vf::StackParams p;
    p.window_s = args.get_double("window");
    p.min_similarity = static_cast<float>(args.get_double("similarity"));
    if (args.has("raw-jpeg-only") && args.has("bursts-only"))
      throw vf::Error("give --raw-jpeg-only or --bursts-only, not both", vf::ErrorCode::InvalidArgument);
    if (args.has("raw-jpeg-only")) p.bursts = false;
    if (args.has("bursts-only")) p.raw_jpeg = false;
    p.filters = vf::cli_search::parse_filters(args);
    auto stacks = vf::find_stacks(*lib, p);
    if (args.has("json")) {
      json out = json::array();
      for (const auto& s : stacks) out.push_back(stack_json(s));
      std::cout << json{{"window_s", p.window_s}, {"similarity", round_to(p.min_similarity, 0.001)}, {"stacks", out}}.dump(1) << "\n";
      return 0;
    }
    size_t frames = 0;
    for (const auto& s : stacks) {
      std::cout << s.kind << " of " << s.members.size() << " (" << s.evidence << ")\n  pick #" << s.pick << ": "
                << s.pick_reason << "\n";
      for (const auto& m : s.members) {
        std::cout << (m.id == s.pick ? "  pick " : "       ") << m.path << "  " << m.format << " " << m.width << "x"
                  << m.height << std::fixed << std::setprecision(0) << ", sharpness " << m.sharpness
                  << std::setprecision(2) << ", exposure " << m.exposure << "  #" << m.id << "\n";
      }
      frames += s.members.size();
    }
    std::cout << stacks.size() << " stacks, " << frames << " photos\n";
    return 0;
  });
}

}  // namespace

VF_COMMAND("stacks", "group RAW+JPEG pairs, bursts and brackets, each with a pick", cmd_stacks);
