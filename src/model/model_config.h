// Reading and validating a Hugging Face DINOv2 model directory (internal to src/model).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "viewfinder/engine.h"

namespace vf::model {

// config.json (+ preprocessor_config.json) parsed into ModelInfo, without touching weights.
// Throws vf::Error(BadModel) naming the file and the problem.
ModelInfo read_model_config(const std::string& model_dir);

// Every tensor name and shape the architecture in `info` needs, in a fixed order.
struct ExpectedTensor {
  std::string name;
  std::vector<int64_t> shape;
};
std::vector<ExpectedTensor> expected_tensors(const ModelInfo& info);

std::string sha256_file(const std::string& path);
// sha256_file(), remembered by (path, size, mtime, inode) in a small cache file under the
// user's cache directory (see hash_cache.cpp); a changed file is hashed again.
std::string sha256_file_cached(const std::string& path);
// $VF_CACHE_DIR, else $XDG_CACHE_HOME/viewfinder, else ~/.cache/viewfinder; empty if none.
std::filesystem::path model_cache_dir();
std::string weights_path(const std::string& model_dir);
bool cpu_has_avx512_bf16();
bool cpu_has_avx512_vnni();

}  // namespace vf::model
