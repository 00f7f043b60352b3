// A file of the engine's packed (oneDNN-blocked, fp32, bf16 or int8) linear weights, so that
// opening a model does not read and re-pack every weight matrix: the file is memory-mapped and
// the weights are used in place (int8 also keeps its calibration results here, as small 1-D
// tensors). One file per (model sha256, precision, oneDNN version, CPU ISA) under
// <cache dir>/packed/; every tensor also carries the exact oneDNN memory descriptor
// it was packed for, and a tensor is used only when that descriptor equals the one oneDNN
// asks for now. Anything unreadable or mismatched is a miss (repack, rewrite), never an error.
// See docs/engine.md ("Start-up").
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <vector>

namespace vf::model {

class PackedWeightsCache {
 public:
  // The cache file for this model and packing; empty when caching is off (VF_PACKED_CACHE=0)
  // or there is no cache directory. `precision` is the tag in the name: "fp32", "bf16", or
  // int8's tag with everything its contents depend on (int8_cache_tag()).
  static std::string path_for(const std::string& model_sha256, const char* precision);

  // Maps `path` if it is a complete cache file; otherwise the cache is empty (every lookup misses).
  explicit PackedWeightsCache(const std::string& path);
  ~PackedWeightsCache();
  PackedWeightsCache(const PackedWeightsCache&) = delete;
  PackedWeightsCache& operator=(const PackedWeightsCache&) = delete;

  // The packed data of `name` if it was packed for exactly `desc`; else nullptr. The data
  // stays mapped as long as this object lives.
  const void* find(const std::string& name, const dnnl::memory::desc& desc) const;
  bool loaded() const { return map_ != nullptr; }

  struct Entry {
    std::string name;
    dnnl::memory::desc desc;
    const void* data;
  };
  // Writes a new cache file atomically (temporary file, fsync, rename) and keeps only the few
  // newest files in its folder. Returns false when it could not (the engine works on).
  static bool write(const std::string& path, const std::vector<Entry>& entries);

 private:
  struct Slot {
    uint64_t offset = 0, size = 0;
    std::vector<uint8_t> desc;
  };
  std::map<std::string, Slot> slots_;
  const uint8_t* map_ = nullptr;
  uint64_t size_ = 0;
};

}  // namespace vf::model
