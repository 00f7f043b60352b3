// viewfinder import --hdf5: load features + paths (and metadata when present) into a library.
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "store_option.h"
#include "viewfinder/viewfinder.h"

namespace {

int cmd_import(int argc, char** argv) {
  vf::cli::Args args("import", "--hdf5 FILE",
                     "Import an HDF5 file with datasets 'features' [N,D] and 'paths' (as written by\n"
                     "'viewfinder export' or the original Python prototype) into a library, so that it is\n"
                     "searchable. Rows are L2-normalised; existing paths are updated.");
  args.option("library", "DIR", "library directory", vf::default_library_dir()).alias('l');
  args.option("hdf5", "FILE", "input file");
  args.flag("json", "print JSON");
  vf::cli::add_store_option(args);
  if (!args.parse(argc, argv)) return args.exit_code();
  return vf::cli::guarded([&] {
    if (!args.has("hdf5")) throw vf::Error("--hdf5 FILE is required", vf::ErrorCode::InvalidArgument);
    auto lib = vf::cli::open_library(args, args.get("library"), /*read_only=*/false);
    int64_t n = lib->import_hdf5(args.get("hdf5"));
    auto info = lib->info();
    if (args.has("json"))
      std::cout << nlohmann::json{{"imported", n}, {"photos", info.photos}, {"index_type", info.index_type},
                                  {"index_vectors", info.index_vectors}}.dump()
                << "\n";
    else
      std::cout << "imported " << n << " photos; the library now holds " << info.photos << " (" << info.index_type
                << " index, " << info.index_vectors << " vectors)\n";
    return 0;
  });
}

}  // namespace

VF_COMMAND("import", "import embeddings from HDF5 (features + paths)", cmd_import);
