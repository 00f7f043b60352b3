// viewfinder migrate: move a library's vectors to another store (FAISS <-> Milvus) without
// re-embedding: the vectors come from the catalog's stored fp16 embeddings.
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "viewfinder/viewfinder.h"

namespace {

int cmd_migrate(int argc, char** argv) {
  vf::cli::Args args("migrate", "", "Move the library's vectors to another store, from the catalog's stored\n"
                                    "embeddings (no re-embedding). The library remembers the new store.");
  args.option("library", "DIR", "library directory", vf::default_library_dir()).alias('l');
  args.option("to", "SPEC", "faiss, or milvus://HOST:PORT/COLLECTION (created when absent)");
  args.flag("json", "print JSON");
  args.epilog("examples:\n  viewfinder migrate --to milvus://127.0.0.1:19530/photos\n  viewfinder migrate --to faiss");
  if (!args.parse(argc, argv)) return args.exit_code();
  return vf::cli::guarded([&] {
    if (!args.has("to")) throw vf::Error("migrate needs --to faiss or --to milvus://HOST:PORT/COLLECTION", vf::ErrorCode::InvalidArgument);
    vf::Library::open(args.get("library"), /*read_only=*/true);  // an existing library, or a clear error
    // A writable open with a new store remembers it and fills it from the catalog (FAISS:
    // rebuilt and saved; Milvus: every missing id upserted, in batches).
    auto lib = vf::Library::open(args.get("library"), /*read_only=*/false, args.get("to"));
    vf::LibraryInfo i = lib->info();
    if (args.has("json")) {
      std::cout << nlohmann::json{{"store", i.index_type}, {"vectors", i.index_vectors}, {"embedded", i.embedded}}.dump() << "\n";
    } else {
      std::cout << "vectors: " << i.index_vectors << " of " << i.embedded << " embedded photos, in " << i.index_type << "\n";
    }
    return i.index_vectors == i.embedded ? 0 : 1;
  });
}

VF_COMMAND("migrate", "move the vectors to another store (faiss <-> milvus) without re-embedding", cmd_migrate);

}  // namespace
