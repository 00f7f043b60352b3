// viewfinder clusters: k-means over the embeddings, with quality measures and labels built
// from the metadata the members share; stored in the catalog for the web UI.
#include <iomanip>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli.h"
#include "viewfinder/text.h"
#include "store_option.h"
#include "viewfinder/viewfinder.h"

namespace {
using nlohmann::json;

json cluster_json(const vf::Library& lib, const vf::Cluster& c) {
  json reps = json::array();
  for (int64_t id : c.representatives) {
    auto p = lib.photo(id);
    json rep = {{"id", id}};
    vf::put_path(rep, "path", p ? p->path : "");  // lossless for names that are not UTF-8
    reps.push_back(rep);
  }
  json facts = json::array();
  for (const auto& f : c.facts) facts.push_back({{"kind", f.kind}, {"text", f.text}, {"share", f.share}});
  return {{"id", c.id}, {"size", c.size}, {"label", c.title()}, {"auto_label", c.label},
          {"name", c.name.empty() ? json(nullptr) : json(c.name)}, {"facts", facts}, {"representatives", reps}};
}

void print_result(const vf::Library& lib, const vf::ClusterResult& r, bool as_json) {
  if (as_json) {
    json clusters = json::array();
    for (const auto& c : r.clusters) clusters.push_back(cluster_json(lib, c));
    json by_k = json::array();
    for (const auto& [k, s] : r.silhouette_by_k) by_k.push_back({{"k", k}, {"silhouette", s}});
    std::cout << json{{"k", r.k}, {"inertia", r.inertia}, {"silhouette", r.silhouette}, {"note", r.note},
                      {"silhouette_by_k", by_k}, {"clusters", clusters}}.dump(1, ' ', false, json::error_handler_t::replace) << "\n";
    return;
  }
  if (!r.note.empty()) std::cerr << "note: " << r.note << "\n";
  std::cout << std::fixed << std::setprecision(4);
  for (const auto& [k, s] : r.silhouette_by_k) std::cout << "k=" << k << "  silhouette " << s << "\n";
  std::cout << "k=" << r.k << "  inertia " << r.inertia << "  silhouette " << r.silhouette << "\n";
  for (const auto& c : r.clusters) {
    std::cout << "cluster " << c.id << " (" << c.size << " photos): " << c.title();
    if (!c.name.empty()) std::cout << "  [" << c.label << "]";
    std::cout << "\n";
    for (int64_t id : c.representatives) {
      auto p = lib.photo(id);
      std::cout << "    " << (p ? p->path : "?") << "  #" << id << "\n";
    }
  }
}

int cmd_clusters(int argc, char** argv) {
  vf::cli::Args args("clusters", "[NAME]",
                     "Group the library's photos by visual similarity (spherical k-means on the embeddings).\n"
                     "Reports inertia and the mean silhouette (cosine distance, on a sample of up to 2000\n"
                     "photos). Labels say only what most members share: capture dates, place (GPS centroid),\n"
                     "camera, lens, keywords, dominant colours; \"no shared metadata\" otherwise. The result\n"
                     "is stored in the library for the web UI; --show prints the stored one. --rename ID NAME\n"
                     "names a stored cluster; the next run hands the name to the new cluster holding most of\n"
                     "its photos.");
  args.option("library", "DIR", "library directory", vf::default_library_dir()).alias('l');
  args.option("k", "N", "number of clusters", "20").alias('k');
  args.flag("auto", "choose k by silhouette over --k-min..--k-max (at most photos/5)");
  args.option("k-min", "N", "with --auto", "2");
  args.option("k-max", "N", "with --auto", "40");
  args.option("representatives", "N", "photos nearest each centroid to list", "6");
  args.option("seed", "N", "k-means seed", "1234");
  args.flag("no-store", "do not save the result in the library");
  args.flag("show", "print the stored clustering instead of computing one");
  args.option("rename", "ID", "name stored cluster ID NAME (\"\" gives back the automatic label)");
  args.flag("json", "print JSON");
  args.epilog("examples:\n  viewfinder clusters\n  viewfinder clusters --auto --k-max 30 --json\n"
              "  viewfinder clusters --show\n  viewfinder clusters --rename 3 \"Iceland 2019\"");
  vf::cli::add_store_option(args);
  if (!args.parse(argc, argv)) return args.exit_code();
  return vf::cli::guarded([&] {
    std::optional<vf::ClusterResult> r;
    std::unique_ptr<vf::Library> lib;
    const auto& words = args.positionals();
    if (args.has("rename") != (words.size() == 1))
      throw vf::Error(args.has("rename") ? "--rename ID needs the new NAME (one argument; quote it)"
                                         : "unexpected argument '" + words.front() + "' (a NAME goes with --rename ID)",
                      vf::ErrorCode::InvalidArgument);
    if (args.has("show") || args.has("rename")) {
      lib = vf::cli::open_library(args, args.get("library"), /*read_only=*/true);
      if (args.has("rename")) vf::rename_cluster(*lib, args.get_int("rename"), words.front());
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
    print_result(*lib, *r, args.has("json"));
    return 0;
  });
}

}  // namespace

VF_COMMAND("clusters", "group photos by similarity (k-means) with labels from shared metadata", cmd_clusters);
