// viewfinder eval: retrieval quality (P@k, R@k, mAP) of a library against a ground truth.
#include <iomanip>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli.h"
#include "viewfinder/viewfinder.h"

namespace {
using nlohmann::json;

int cmd_eval(int argc, char** argv) {
  vf::cli::Args args("eval", "",
                     "Measure retrieval quality. Every ground-truth query must be an indexed photo; it is\n"
                     "searched for (\"more like this\", itself left out) and the ranking is scored: P@k,\n"
                     "R@k and mAP (AP over the full ranking, up to 10,000 results).\n"
                     "Ground truth formats:\n"
                     "  {\"queries\": {\"q.jpg\": [\"relevant.jpg\", ...]}}   (Holidays / Oxford style)\n"
                     "  {\"labels\": {\"a.jpg\": \"class\"}}, or {\"a.jpg\": {\"class_id\": 0}}   (same class = relevant)\n"
                     "  {\"groups\": {\"name\": [\"a.jpg\", \"b.jpg\"]}}   (near_duplicate_groups also read)\n"
                     "  TSV: path<TAB>label[<TAB>...], optional header line\n"
                     "Relative paths resolve against --base (default: the ground-truth file's folder, then\n"
                     "its sub-folders, e.g. images/).");
  args.option("library", "DIR", "library directory", vf::default_library_dir()).alias('l');
  args.option("ground-truth", "FILE", "ground-truth file (JSON or TSV)");
  args.option("base", "DIR", "folder that relative ground-truth paths are relative to");
  args.option("k", "LIST", "cut-offs for P@k and R@k", "1,5,10").alias('k');
  args.option("alpha", "A", "hybrid weight (1: semantic only, 0: colour only)", "1");
  args.flag("json", "print JSON");
  args.epilog("examples:\n  viewfinder eval --ground-truth photos/flowers17/labels.tsv\n"
              "  viewfinder eval --ground-truth gt.json --k 1,10,100 --alpha 0.6 --json");
  if (!args.parse(argc, argv)) return args.exit_code();
  return vf::cli::guarded([&] {
    if (!args.has("ground-truth")) throw vf::Error("--ground-truth FILE is required", vf::ErrorCode::InvalidArgument);
    vf::EvalParams p;
    p.ks.clear();
    std::stringstream ss(args.get("k"));
    std::string part;
    while (std::getline(ss, part, ',')) {
      try {
        p.ks.push_back(std::stoi(part));
      } catch (...) {
        throw vf::Error("bad --k list \"" + args.get("k") + "\": expected numbers like 1,5,10", vf::ErrorCode::InvalidArgument);
      }
    }
    p.alpha = static_cast<float>(args.get_double("alpha"));
    auto truth = vf::load_ground_truth(args.get("ground-truth"), args.get("base"));
    auto lib = vf::Library::open(args.get("library"), /*read_only=*/true);
    auto r = vf::evaluate(*lib, truth, p);
    if (r.queries == 0)
      throw vf::Error("none of the " + std::to_string(truth.queries.size()) + " ground-truth queries is in the library " +
                          args.get("library") + " (check --base)", vf::ErrorCode::NotFound);
    if (args.has("json")) {
      json pk, rk;
      for (const auto& [k, v] : r.precision_at) pk[std::to_string(k)] = v;
      for (const auto& [k, v] : r.recall_at) rk[std::to_string(k)] = v;
      std::cout << json{{"queries", r.queries}, {"alpha", p.alpha}, {"precision_at", pk}, {"recall_at", rk},
                        {"map", r.mean_average_precision}, {"missing_queries", r.missing_queries},
                        {"missing_relevant", r.missing_relevant}, {"ranked_depth", r.ranked_depth}}.dump(1) << "\n";
      return 0;
    }
    std::cout << std::fixed << std::setprecision(4);
    std::cout << r.queries << " queries, alpha " << p.alpha << "\n";
    for (int k : p.ks) std::cout << "P@" << k << " " << r.precision_at[k] << "   R@" << k << " " << r.recall_at[k] << "\n";
    std::cout << "mAP " << r.mean_average_precision << "\n";
    if (r.missing_queries || r.missing_relevant)
      std::cout << "(" << r.missing_queries << " queries and " << r.missing_relevant
                << " relevant photos are not in the library; missing relevant photos count as never found)\n";
    return 0;
  });
}

}  // namespace

VF_COMMAND("eval", "measure retrieval quality (P@k, R@k, mAP) against a ground truth", cmd_eval);
