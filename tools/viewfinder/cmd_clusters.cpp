// viewfinder clusters: k-means over the embeddings, with quality measures and labels built
// from the metadata the members share; stored in the catalog for the web UI.
#include <iomanip>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli.h"
#include "store_option.h"
#include "viewfinder/viewfinder.h"

namespace {
using nlohmann::json;

int cmd_clusters(int argc, char** argv) {
  vf::cli::Args args("clusters", "",
                     "Group the library's photos by visual similarity (spherical k-means on the embeddings).\n"
                     "Reports inertia and the mean silhouette (cosine distance, on a sample of up to 2000\n"
                     "photos). Labels say only what the members share: capture months, camera, folder\n"
                     "words, keywords; \"no shared metadata\" otherwise. The result is stored in the\n"
                     "library for the web UI; --show prints the stored one.");
  args.option("library", "DIR", "library directory", vf::default_library_dir()).alias('l');
  args.option("k", "N", "number of clusters", "20").alias('k');
  args.flag("auto", "choose k by silhouette over --k-min..--k-max");
  args.option("k-min", "N", "with --auto", "2");
  args.option("k-max", "N", "with --auto", "40");
  args.option("representatives", "N", "photos nearest each centroid to list", "6");
  args.option("seed", "N", "k-means seed", "1234");
  args.flag("no-store", "do not save the result in the library");
  args.flag("show", "print the stored clustering instead of computing one");
  args.flag("json", "print JSON");
  args.epilog("examples:\n  viewfinder clusters\n  viewfinder clusters --auto --k-max 30 --json\n  viewfinder clusters --show");
  vf::cli::add_store_option(args);
  if (!args.parse(argc, argv)) return args.exit_code();
  return vf::cli::guarded([&] {
    std::optional<vf::ClusterResult> r;
    std::unique_ptr<vf::Library> lib;
    if (args.has("show")) {
      lib = vf::cli::open_library(args, args.get("library"), /*read_only=*/true);
      r = vf::stored_clusters(*lib);
      if (!r) throw vf::Error("no stored clustering in " + args.get("library") + ": run 'viewfinder clusters' first",
                              vf::ErrorCode::NotFound);
    } else {
      lib = vf::cli::open_library(args, args.get("library"), /*read_only=*/args.has("no-store"));
      vf::ClusterParams p;
      p.k = args.get_int("k");
      p.auto_k = args.has("auto");
      p.k_min = args.get_int("k-min");
      p.k_max = args.get_int("k-max");
      p.representatives = args.get_int("representatives");
      p.seed = args.get_int("seed");
      p.store = !args.has("no-store");
      r = vf::cluster_library(*lib, p);
    }
    if (args.has("json")) {
      json clusters = json::array();
      for (const auto& c : r->clusters) {
        json reps = json::array();
        for (int64_t id : c.representatives) {
          auto p = lib->photo(id);
          reps.push_back({{"id", id}, {"path", p ? p->path : ""}});
        }
        clusters.push_back({{"id", c.id}, {"size", c.size}, {"label", c.label}, {"representatives", reps}});
      }
      json by_k = json::array();
      for (const auto& [k, s] : r->silhouette_by_k) by_k.push_back({{"k", k}, {"silhouette", s}});
      std::cout << json{{"k", r->k}, {"inertia", r->inertia}, {"silhouette", r->silhouette},
                        {"silhouette_by_k", by_k}, {"clusters", clusters}}.dump(1) << "\n";
      return 0;
    }
    std::cout << std::fixed << std::setprecision(4);
    for (const auto& [k, s] : r->silhouette_by_k) std::cout << "k=" << k << "  silhouette " << s << "\n";
    std::cout << "k=" << r->k << "  inertia " << r->inertia << "  silhouette " << r->silhouette << "\n";
    for (const auto& c : r->clusters) {
      std::cout << "cluster " << c.id << " (" << c.size << " photos): " << c.label << "\n";
      for (int64_t id : c.representatives) {
        auto p = lib->photo(id);
        std::cout << "    " << (p ? p->path : "?") << "  #" << id << "\n";
      }
    }
    return 0;
  });
}

}  // namespace

VF_COMMAND("clusters", "group photos by similarity (k-means) with metadata-based labels", cmd_clusters);
