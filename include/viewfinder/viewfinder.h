// Viewfinder: a private, self-hosted image search engine.
//
// The public API of the data path. The CLI (tools/viewfinder), the server and the benchmarks
// use only what the headers in include/viewfinder/ declare. The server (server.h) is not
// pulled in here: what embeds or searches needs no HTTP; tools that serve include it.
//
//   engine.h   DINOv2 inference (HF model directories, fp32/bf16, any input size)
//   hub.h      model download from the Hugging Face hub
//   system.h   machine facts (physical cores)
//   image.h    decoding, metadata, thumbnails, colour histogram, perceptual hash
//   library.h  catalog + FAISS index, incremental crash-safe indexing, HDF5 import/export
//   search.h   search by example, hybrid colour fusion, filters, duplicates, clusters, eval
#pragma once

#include "viewfinder/engine.h"
#include "viewfinder/error.h"
#include "viewfinder/hub.h"
#include "viewfinder/image.h"
#include "viewfinder/library.h"
#include "viewfinder/photo_json.h"
#include "viewfinder/search.h"
#include "viewfinder/system.h"
#include "viewfinder/text.h"

namespace vf {
const char* version();
}
