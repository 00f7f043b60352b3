// viewfinder export --hdf5: the spec's HDF5 layout (features + paths + metadata).
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "viewfinder/viewfinder.h"

namespace {

int cmd_export(int argc, char** argv) {
  vf::cli::Args args("export", "--hdf5 FILE",
                     "Write the library's embeddings to HDF5: datasets 'features' [N,D] float32 (L2-normalised),\n"
                     "'paths' (UTF-8), 'ids', and metadata (capture_unix, capture_time, make, model, lens, format,\n"
                     "content_hash, width, height, gps_lat, gps_lon); attributes model_id, pooling, dim.");
  args.option("library", "DIR", "library directory", vf::default_library_dir()).alias('l');
  args.option("hdf5", "FILE", "output file");
  args.flag("json", "print JSON");
  if (!args.parse(argc, argv)) return args.exit_code();
  return vf::cli::guarded([&] {
    if (!args.has("hdf5")) throw vf::Error("--hdf5 FILE is required", vf::ErrorCode::InvalidArgument);
    auto lib = vf::Library::open(args.get("library"), /*read_only=*/true);
    int64_t n = lib->export_hdf5(args.get("hdf5"));
    if (args.has("json"))
      std::cout << nlohmann::json{{"exported", n}, {"file", args.get("hdf5")}}.dump() << "\n";
    else
      std::cout << "exported " << n << " photos to " << args.get("hdf5") << "\n";
    return 0;
  });
}

}  // namespace

VF_COMMAND("export", "export embeddings and metadata to HDF5", cmd_export);
