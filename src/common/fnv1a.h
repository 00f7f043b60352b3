// FNV-1a (64-bit): a small, stable, non-cryptographic hash. Stable matters: shard workers on
// different machines must assign a file to the same shard (library/shard.cpp, and the test
// harness's copy), and a reader compares row signatures across syncs (reader_mirror.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace vf {

struct Fnv1a {
  uint64_t h = 1469598103934665603ull;
  void add(const void* data, size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  }
};

inline uint64_t fnv1a(const std::string& s) {
  Fnv1a f;
  f.add(s.data(), s.size());
  return f.h;
}

}  // namespace vf
