#include "store_option.h"

namespace vf::cli {

Args& add_store_option(Args& args) {
  return args.option("store", "SPEC",
                     "where the vectors live: faiss (files next to the catalog, default) or "
                     "milvus://HOST:PORT/COLLECTION; the library remembers it");
}

std::unique_ptr<Library> open_library(const Args& args, const std::string& dir, bool read_only) {
  return Library::open(dir, read_only, args.has("store") ? args.get("store") : "");
}

void remember_store_option(const Args& args, const std::string& dir) {
  if (args.has("store")) Library::open(dir, /*read_only=*/false, args.get("store"));
}

}  // namespace vf::cli
