// Viewfinder: a private, self-hosted image search engine.
//
// The whole public API. The CLI (tools/viewfinder), the server and the benchmarks use only
// what these headers declare.
//
//   engine.h   DINOv2 inference (HF model directories, fp32/bf16, any input size)
//   image.h    decoding, metadata, thumbnails, colour histogram, perceptual hash
//   library.h  catalog + FAISS index, incremental crash-safe indexing, HDF5 import/export
//   search.h   search by example, hybrid colour fusion, filters, duplicates, clusters, eval
//   server.h   HTTP API and web UI
#pragma once

#include "viewfinder/engine.h"
#include "viewfinder/error.h"
#include "viewfinder/image.h"
#include "viewfinder/library.h"
#include "viewfinder/search.h"
#include "viewfinder/server.h"

namespace vf {
const char* version();
}
