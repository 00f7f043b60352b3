// FAISS index construction, choice by size, and crash-safe persistence: the FAISS details
// behind store::FaissStore (private to src/store; the unit tests use it directly).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

namespace faiss {
struct Index;
}

namespace vf::store {

// The factory string used for `n` vectors of dimension `dim` (inner product over
// L2-normalised vectors):
//   n < 100k        "Flat"                    exact
//   100k <= n < 1M  "IVF<nlist>,Flat"          nlist ~ 4*sqrt(n), nprobe tuned in tune_index
//   n >= 1M         kCompressedFactory        chosen by bench/index.sh (see docs/library.md)
std::string choose_factory(int64_t n, int dim);
// Colour index (512-d sqrt-normalised histograms): Flat below 100k, "SQ8" (flat scan over
// 8-bit codes, 4x smaller) above.
std::string choose_color_factory(int64_t n);

// Builds an index from `n` row vectors `x` with catalog ids `ids`. Training (IVF, PQ, SQ)
// uses up to `max_train` vectors spread over the data. The result answers search() with
// catalog ids: IVF indexes store ids natively, everything else is wrapped in IndexIDMap2.
// A factory string may start with "IDMap," / "IDMap2," (ignored: we always map ids).
std::unique_ptr<faiss::Index> build_index(const std::string& factory, int dim, const float* x,
                                          const int64_t* ids, int64_t n,
                                          int64_t max_train = 200'000);

// Search-time defaults persisted in the file: IVF nprobe (recall ~0.95+ at k=10 on
// embedding-like data) and HNSW efSearch.
void tune_index(faiss::Index* index);

// Whether remove_ids keeps the index consistent (Flat/IDMap2 and IVF yes; HNSW no).
bool supports_remove(const faiss::Index* index);

// The factory description of an index as built here ("Flat", "IVF1024,Flat", "HNSW32,SQ8").
std::string describe_index(const faiss::Index* index);

// Memory the index holds, approximately (codes + ids + graph / centroids).
int64_t index_memory_bytes(const faiss::Index* index);

// Writes `index` to `path` atomically (temp file, fsync, rename, fsync dir), then its stamp
// to `path`.stamp the same way. A crash leaves either the old pair, or the new index with an
// old stamp (which fails validation and triggers a rebuild), never a torn file.
void save_index_atomic(const faiss::Index* index, const std::string& path, const nlohmann::json& stamp);

// Reads `path` and its stamp. Returns null (and a reason) when either is missing or unreadable.
std::unique_ptr<faiss::Index> load_index(const std::string& path, nlohmann::json* stamp,
                                         std::string* why_not);

// Writes bytes to `path` atomically (temp + fsync + rename).
void write_file_atomic(const std::string& path, const void* data, size_t size);

}  // namespace vf::store
