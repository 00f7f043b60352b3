// Reader for the safetensors format (8-byte little-endian header length, JSON header,
// raw little-endian C-order data), memory-mapped and validated before any tensor is used,
// so that a truncated or foreign file gives a vf::Error(BadModel) naming the problem.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace vf::model {

struct TensorEntry {
  std::string name;
  std::string dtype;            // "F32" | "F16" | "BF16" | other (reported, not readable)
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte offsets into the data region
  int64_t numel() const;
};

class SafetensorsFile {
 public:
  // Maps and validates the whole file (header JSON, offsets inside the file, sizes that match
  // dtype x shape). Throws vf::Error(BadModel) naming `path` and the problem.
  explicit SafetensorsFile(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  const TensorEntry* find(const std::string& name) const;
  const std::map<std::string, TensorEntry>& tensors() const { return tensors_; }
  uint64_t file_size() const { return size_; }

  // The tensor upcast exactly to fp32, after checking that its shape is `expected_shape`.
  // Throws vf::Error(BadModel) for a missing tensor, a wrong shape or an unsupported dtype.
  std::vector<float> read_f32(const std::string& name, const std::vector<int64_t>& expected_shape) const;

  // "F32", "F16", "BF16", or "mixed(F16,F32)" when tensors disagree.
  std::string dtype_summary() const;
  int64_t total_numel() const;

 private:
  std::string path_;
  int fd_ = -1;
  const uint8_t* map_ = nullptr;
  uint64_t size_ = 0;
  uint64_t data_start_ = 0;
  std::map<std::string, TensorEntry> tensors_;
};

std::string shape_to_string(const std::vector<int64_t>& shape);

}  // namespace vf::model
