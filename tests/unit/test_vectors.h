// Test data shared by the unit tests: deterministic random unit vectors (the shape of
// L2-normalised embeddings).
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace vf::test {

// n x d row-major Gaussian vectors, each scaled to length 1; the same seed gives the same rows.
inline std::vector<float> unit_vectors(int64_t n, int d, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g;
  std::vector<float> x(static_cast<size_t>(n) * d);
  for (int64_t i = 0; i < n; ++i) {
    double s = 0;
    for (int j = 0; j < d; ++j) s += std::pow(x[i * d + j] = g(rng), 2);
    for (int j = 0; j < d; ++j) x[i * d + j] /= static_cast<float>(std::sqrt(s));
  }
  return x;
}

}  // namespace vf::test
