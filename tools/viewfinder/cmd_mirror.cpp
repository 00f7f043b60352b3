// viewfinder mirror: make (or bring up to date) a reader library, whose catalog mirrors a
// Milvus collection that other machines fill (shard workers), so that search, info, dupes,
// clusters and serve answer from the whole collection. Never embeds, never writes to Milvus.
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "mirror_option.h"
#include "viewfinder/viewfinder.h"

namespace {

nlohmann::json path_map_json(const std::vector<vf::PathMapping>& map) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& m : map) j.push_back({{"from", m.from}, {"to", m.to}});
  return j;
}

int cmd_mirror(int argc, char** argv) {
  vf::cli::Args args("mirror", "", "Make DIR a reader library of a Milvus collection, or bring it up to date: its\n"
                                   "catalog mirrors the collection's photos (ids, vectors, paths, metadata). search,\n"
                                   "info, dupes, clusters and serve then answer from the whole collection.");
  args.option("library", "DIR", "the reader library (a directory of its own)", vf::default_library_dir()).alias('l');
  args.option("store", "SPEC", "the collection: milvus://HOST:PORT/COLLECTION (default: the one DIR mirrors)");
  args.option("model", "DIR", "the model the workers indexed with, for image queries (checked against the "
                              "collection; default: the last one given, else the default model)");
  vf::cli::add_path_map_option(args);
  args.multi("root", "DIR", "read colour features only from photos under DIR (repeatable; default: any "
                            "photo the collection lists)");
  args.flag("json", "print one JSON object: rows read, added, changed, removed, features, seconds");
  args.flag("quiet", "no progress on stderr").alias('q');
  args.epilog("The catalog keeps the photos' paths as the workers indexed them, or as --path-map maps\n"
              "them: mount the share at the same path here, or map it. The collection has no colour\n"
              "features: a sync reads each new or changed photo's file once to make them (colour\n"
              "search, near duplicates). A sync that runs over a second shows rows read (then\n"
              "photos read), rate and ETA on stderr. serve --reader runs this at start (and every\n"
              "--refresh-s seconds), reading files under its --root only.\n\n"
              "examples:\n"
              "  viewfinder mirror --library ~/vf-reader --store milvus://db-host:19530/studio --model ~/models/dinov2-base\n"
              "  viewfinder mirror --library ~/vf-reader --path-map /mnt/nas/photos=/srv/photos\n"
              "  viewfinder search beach.jpg --library ~/vf-reader\n");
  if (!args.parse(argc, argv)) return args.exit_code();
  return vf::cli::guarded([&] {
    const std::string dir = args.get("library");
    vf::MirrorParams params = vf::cli::mirror_params(args, "mirror", dir, args.has("model") ? args.get("model") : "");
    vf::cli::ProgressLine bar(!args.has("quiet"));
    if (args.has("root")) params.roots = args.get_all("root");
    params.progress = vf::cli::sync_progress(bar);
    const vf::MirrorReport r = vf::mirror_collection(dir, params);
    bar.finish();
    if (args.has("json")) {
      std::cout << nlohmann::json{{"library", dir}, {"store", params.store}, {"photos", r.photos},
                                  {"rows_read", r.photos}, {"added", r.added}, {"changed", r.changed},
                                  {"removed", r.removed}, {"features", r.features},
                                  {"features_failed", r.features_failed}, {"model_id", r.model_id},
                                  {"path_map", path_map_json(r.path_map)}, {"seconds", r.seconds}}.dump() << "\n";
    } else {
      std::cout << "reader " << dir << " mirrors " << params.store << ": " << vf::mirror_summary(r) << "; model "
                << r.model_id << "\n";
    }
    return 0;
  });
}

VF_COMMAND("mirror", "make or refresh a reader library that mirrors a Milvus collection", cmd_mirror);

}  // namespace
