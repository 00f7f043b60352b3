// viewfinder info: what a library holds, with which model, and what it costs in disk and memory.
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "store_option.h"
#include "viewfinder/viewfinder.h"

namespace {

int cmd_info(int argc, char** argv) {
  vf::cli::Args args("info", "", "Show a library's size, model, index type, and disk and memory use.\n"
                                 "Safe to run while another process is indexing.");
  args.option("library", "DIR", "library directory", vf::default_library_dir()).alias('l');
  args.flag("failures", "also list the files that could not be read, with the reason");
  args.flag("json", "print JSON");
  vf::cli::add_store_option(args);
  if (!args.parse(argc, argv)) return args.exit_code();
  return vf::cli::guarded([&] {
    auto lib = vf::cli::open_library(args, args.get("library"), /*read_only=*/true);
    vf::LibraryInfo i = lib->info();
    std::vector<vf::IndexFailure> failures;
    if (args.has("failures")) failures = lib->failures();
    if (args.has("json")) {
      nlohmann::json j = {{"dir", i.dir}, {"photos", i.photos}, {"embedded", i.embedded}, {"failed", i.failed},
                          {"model_id", i.model_id}, {"model_dir", lib->model_dir()}, {"pooling", i.pooling},
                          {"precision", i.precision}, {"dim", i.dim}, {"index_type", i.index_type},
                          {"index_vectors", i.index_vectors}, {"catalog_bytes", i.catalog_bytes},
                          {"index_bytes", i.index_bytes}, {"thumbs_bytes", i.thumbs_bytes},
                          {"index_memory_bytes", i.index_memory_bytes}, {"last_indexed", i.last_indexed},
                          {"reader", i.reader}};
      if (args.has("failures")) {
        j["failures"] = nlohmann::json::array();
        for (auto& f : failures) j["failures"].push_back({{"path", f.path}, {"reason", f.reason}});
      }
      std::cout << j.dump(2) << "\n";
      return 0;
    }
    using vf::cli::format_bytes;
    std::cout << "library:      " << i.dir << "\n"
              << "photos:       " << i.photos << " (" << i.embedded << " embedded, " << i.failed << " unreadable files)\n"
              << "model:        " << (i.model_id.empty() ? "-" : i.model_id) << "  pooling " << (i.pooling.empty() ? "-" : i.pooling)
              << "  precision " << (i.precision.empty() ? "-" : i.precision) << "  dim " << i.dim << "\n"
              << "model dir:    " << lib->model_dir() << "\n"
              << "index:        " << (i.index_type.empty() ? "(empty)" : i.index_type) << ", " << i.index_vectors << " vectors"
              << (i.reader ? " (a reader: the catalog mirrors this collection; 'viewfinder mirror' refreshes it)" : "") << "\n"
              << "disk:         catalog " << format_bytes(i.catalog_bytes) << ", index " << format_bytes(i.index_bytes)
              << ", thumbnails " << format_bytes(i.thumbs_bytes) << "\n"
              << "memory:       " << format_bytes(i.index_memory_bytes) << " (indexes)\n"
              << "last indexed: " << (i.last_indexed.empty() ? "never" : i.last_indexed) << "\n";
    for (auto& f : failures) std::cout << "unreadable:   " << f.path << ": " << f.reason << "\n";
    return 0;
  });
}

}  // namespace

VF_COMMAND("info", "show a library's size, model, index type, disk and memory use", cmd_info);
