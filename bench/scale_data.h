// Clustered synthetic embeddings for bench/run scale (bench/scale_bench.cpp), shared with any
// other engine's column (e.g. a Milvus client bench) so that every column sees the SAME vectors:
// row i is a pure function of (spec, i), independent of thread count and of how rows are chunked.
//
// Model of a photo library's DINOv2 embeddings (L2-normalised, compared by inner product):
//   v = normalise( g + c_k + B_b(k) (sigma .* w) + iso * e / sqrt(d) )
//   g       a shared mean direction (real embeddings are not centred: random pairs have cos ~0.1)
//   c_k     one of `centres` cluster centres (subjects / scenes), popularity Zipf-like
//   B_b(k)  a d x rank basis (one of `bases`, picked per cluster): within a cluster, photos
//           vary along a low-dimensional manifold (pose, light, framing), spectrum sigma_i ~ i^-1/2
//   e       small isotropic noise
// Resulting cosines (printed by the bench): random pair ~0.1, same cluster ~0.6-0.7, nearest
// neighbour at 1M ~0.85-0.9. No real embeddings are used: no DINOv2 weights ship with the project.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace vf_bench {

struct MixtureSpec {
  int dim = 768;
  int centres = 4000;
  int rank = 48;       // within-cluster manifold dimension
  int bases = 16;      // distinct within-cluster bases, shared round-robin by clusters
  float mean_norm = 0.45f;
  float centre_norm = 1.0f;
  float within_norm = 0.75f;
  float iso_norm = 0.2f;
  float zipf = 0.8f;   // cluster popularity ~ (rank + 50)^-zipf
  uint64_t seed = 42;
};

// Counter-based generator: splitmix64 on (seed, stream, counter).
inline uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

class NormalStream {
 public:
  explicit NormalStream(uint64_t key) : state_(splitmix64(key)) {}
  float next() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u1 = (static_cast<double>(bits() >> 11) + 0.5) * (1.0 / 9007199254740992.0);
    double u2 = static_cast<double>(bits() >> 11) * (1.0 / 9007199254740992.0);
    double r = std::sqrt(-2.0 * std::log(u1)), t = 6.283185307179586 * u2;
    spare_ = static_cast<float>(r * std::sin(t));
    has_spare_ = true;
    return static_cast<float>(r * std::cos(t));
  }
  uint64_t bits() { return splitmix64(state_++); }

 private:
  uint64_t state_;
  float spare_ = 0;
  bool has_spare_ = false;
};

class SyntheticEmbeddings {
 public:
  explicit SyntheticEmbeddings(const MixtureSpec& s) : s_(s) {
    const int d = s.dim;
    NormalStream g(s.seed * 1000003 + 1);
    auto gaussian_vec = [&](float* out, int len, float norm) {
      for (int j = 0; j < len; ++j) out[j] = g.next() * norm / std::sqrt(static_cast<float>(d));
    };
    mean_.resize(d);
    gaussian_vec(mean_.data(), d, s.mean_norm);
    centres_.resize(static_cast<size_t>(s.centres) * d);
    for (int c = 0; c < s.centres; ++c) gaussian_vec(&centres_[static_cast<size_t>(c) * d], d, s.centre_norm);
    // bases stored row-major as [basis][j][r] so a row is a contiguous dot with the weights
    bases_.resize(static_cast<size_t>(s.bases) * d * s.rank);
    gaussian_vec(bases_.data(), static_cast<int>(bases_.size()), 1.0f);
    double total = 0;
    for (int i = 0; i < s.rank; ++i) total += 1.0 / (i + 1);
    sigma_.resize(s.rank);
    for (int i = 0; i < s.rank; ++i) sigma_[i] = static_cast<float>(s.within_norm / std::sqrt((i + 1) * total));
    cdf_.resize(s.centres);
    double acc = 0;
    for (int c = 0; c < s.centres; ++c) cdf_[c] = acc += std::pow(c + 50.0, -s.zipf);
    for (auto& v : cdf_) v /= acc;
  }

  int dim() const { return s_.dim; }

  // Rows [first, first + count) into out (count x dim). `stream` separates database rows (0)
  // from query rows (1) so that queries are new points of the same distribution.
  void fill(int64_t first, int64_t count, float* out, uint64_t stream = 0) const {
    const int d = s_.dim, r = s_.rank;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < count; ++i) {
      NormalStream rng((s_.seed << 20) ^ (stream << 56) ^ static_cast<uint64_t>(first + i));
      double u = static_cast<double>(rng.bits() >> 11) * (1.0 / 9007199254740992.0);
      int c = static_cast<int>(std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin());
      c = std::min(c, s_.centres - 1);
      float w[256];
      for (int k = 0; k < r; ++k) w[k] = rng.next() * sigma_[k];
      const float* base = &bases_[static_cast<size_t>(c % s_.bases) * d * r];
      const float* centre = &centres_[static_cast<size_t>(c) * d];
      float* v = out + i * d;
      const float iso = s_.iso_norm / std::sqrt(static_cast<float>(d));
      double norm2 = 0;
      for (int j = 0; j < d; ++j) {
        float within = 0;
        const float* row = base + static_cast<size_t>(j) * r;
        for (int k = 0; k < r; ++k) within += row[k] * w[k];
        v[j] = mean_[j] + centre[j] + within + iso * rng.next();
        norm2 += static_cast<double>(v[j]) * v[j];
      }
      const float inv = static_cast<float>(1.0 / std::sqrt(norm2));
      for (int j = 0; j < d; ++j) v[j] *= inv;
    }
  }

 private:
  MixtureSpec s_;
  std::vector<float> mean_, centres_, bases_, sigma_;
  std::vector<double> cdf_;
};

}  // namespace vf_bench
