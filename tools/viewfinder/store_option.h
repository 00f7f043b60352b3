// --store, shared by every command that opens a library: where its semantic vectors live.
#pragma once

#include <memory>
#include <string>

#include "cli.h"
#include "viewfinder/library.h"

namespace vf::cli {

// Declares --store milvus://HOST:PORT/COLLECTION | faiss.
Args& add_store_option(Args& args);
// Library::open with the --store given (if any). A writable open remembers it in the
// catalog; a read-only one uses it for this run only.
std::unique_ptr<Library> open_library(const Args& args, const std::string& dir, bool read_only);
// For long-lived readers (serve): stores the --store given in the catalog, so that the
// server's own (read-only) open uses it. No-op without --store.
void remember_store_option(const Args& args, const std::string& dir);

}  // namespace vf::cli
