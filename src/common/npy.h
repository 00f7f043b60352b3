// Minimal reader/writer for NumPy .npy files (format v1/v2, little-endian, C order), used by
// the golden-model tests and the benchmarks.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vf {

struct NpyArray {
  std::string dtype;  // "<f4", "|u1", "<f2", "<i8", ...
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
  int64_t numel() const;
  std::vector<float> as_float() const;  // converts f4/f2/f8/u1 to float
};

NpyArray read_npy(const std::string& path);  // throws vf::Error naming the file
void write_npy(const std::string& path, const std::vector<float>& data,
               const std::vector<int64_t>& shape);

}  // namespace vf
