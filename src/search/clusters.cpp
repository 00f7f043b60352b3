// Clustering of the library's embeddings (spec 5.2, docs/search.md#clusters).
//
// Spherical k-means (faiss::Clustering, which trains on at most 256 points per centroid: a
// mini-batch in effect on large libraries), then every photo is assigned to its nearest
// centroid. Quality: inertia (sum of squared L2 distances to the centroid) and the mean
// silhouette with cosine distance over a sample of at most 2000 photos. Labels come only from
// facts most members share (search/cluster_labels.h): a label never claims a meaning that
// nothing in the data supports.
//
// k stays within what the data supports: FAISS wants min_points_per_centroid (39) points per
// centroid and prints a warning on stderr for every run below that. --auto caps k at
// n / kMinClusterSize, and each run lowers min_points_per_centroid to n / k, so FAISS stays
// quiet; its real problems arrive as exceptions, which become vf::Error.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <map>
#include <numeric>
#include <random>
#include <set>

#include <faiss/Clustering.h>
#include <faiss/IndexFlat.h>
#include <faiss/utils/distances.h>
#include <nlohmann/json.hpp>

#include "library/library_access.h"
#include "catalog/catalog_reader.h"
#include "search/cluster_labels.h"
#include "search/search_internal.h"
#include "viewfinder/search.h"

namespace vf {

namespace {

constexpr size_t kSilhouetteSample = 2000;
constexpr size_t kMinClusterSize = 5;  // the smallest group --auto plans for

struct KMeans {
  int k = 0;
  std::vector<float> centroids;   // k x d
  std::vector<int> assign;        // n
  std::vector<float> similarity;  // n: inner product with the own centroid
  double inertia = 0;
};

KMeans run_kmeans(const std::vector<float>& x, size_t n, int d, int k, int seed) {
  faiss::ClusteringParameters cp;
  cp.niter = 25;
  cp.spherical = true;  // embeddings are L2-normalised: cluster by cosine
  cp.seed = seed;
  cp.verbose = false;
  // FAISS warns on stderr when n < k * min_points_per_centroid; k is already what the data
  // supports (see the top of the file), so ask for no more points than there are.
  cp.min_points_per_centroid = std::clamp(static_cast<int>(n / static_cast<size_t>(k)), 1, 39);
  faiss::Clustering clus(d, k, cp);
  faiss::IndexFlatIP index(d);
  try {
    clus.train(static_cast<faiss::Index::idx_t>(n), x.data(), index);
  } catch (const std::exception& e) {
    throw Error(std::string("k-means failed: ") + e.what(), ErrorCode::Generic);
  }
  KMeans km;
  km.k = k;
  km.centroids = clus.centroids;
  std::vector<float> sim(n);
  std::vector<faiss::Index::idx_t> lab(n);
  index.search(static_cast<faiss::Index::idx_t>(n), x.data(), 1, sim.data(), lab.data());
  km.assign.resize(n);
  km.similarity = sim;
  for (size_t i = 0; i < n; ++i) {
    km.assign[i] = static_cast<int>(lab[i]);
    // |x - c|^2 = |x|^2 + |c|^2 - 2 x.c with |x| = |c| = 1.
    km.inertia += std::max(0.0, 2.0 - 2.0 * sim[i]);
  }
  return km;
}

// Mean silhouette of the sample under `assign`, cosine distance, from a precomputed
// distance matrix of the sample.
double silhouette(const std::vector<float>& dist, const std::vector<size_t>& sample,
                  const std::vector<int>& assign, int k) {
  const size_t s = sample.size();
  std::vector<int> label(s);
  std::vector<int> count(k, 0);
  for (size_t i = 0; i < s; ++i) ++count[label[i] = assign[sample[i]]];
  double total = 0;
  std::vector<double> sum(k);
  for (size_t i = 0; i < s; ++i) {
    std::fill(sum.begin(), sum.end(), 0.0);
    for (size_t j = 0; j < s; ++j)
      if (j != i) sum[label[j]] += dist[i * s + j];
    int own = label[i];
    if (count[own] <= 1) continue;  // a singleton's silhouette is 0 by convention
    double a = sum[own] / (count[own] - 1);
    double b = std::numeric_limits<double>::max();
    for (int c = 0; c < k; ++c)
      if (c != own && count[c] > 0) b = std::min(b, sum[c] / count[c]);
    if (b == std::numeric_limits<double>::max()) continue;
    double m = std::max(a, b);
    total += m > 0 ? (b - a) / m : 0;
  }
  return s ? total / s : 0;
}

// Label facts of every photo clustered (ids[i] -> facts[i]).
std::vector<search::MemberFacts> member_facts(const detail::LibraryInternal& lib, const std::vector<int64_t>& ids) {
  std::vector<search::MemberFacts> facts(ids.size());
  std::map<int64_t, size_t> pos;
  for (size_t i = 0; i < ids.size(); ++i) pos[ids[i]] = i;
  for (const auto& row : lib.catalog().label_rows()) {
    auto it = pos.find(row.id);
    if (it == pos.end()) continue;
    auto& m = facts[it->second];
    m.capture_unix = row.capture_unix;
    m.camera = search::camera_name(row.make, row.model);
    m.lens = row.lens;
    m.lat = row.gps_lat;
    m.lon = row.gps_lon;
    if (row.color_hist.size() == 512) m.colours = search::dominant_colours(row.color_hist.data());
    if (!row.keywords_json.empty()) {
      auto j = nlohmann::json::parse(row.keywords_json, nullptr, false);
      if (j.is_array())
        for (const auto& k : j)
          if (k.is_string()) m.keywords.push_back(k.get<std::string>());
    }
  }
  return facts;
}

}  // namespace

ClusterResult cluster_library(Library& library, const ClusterParams& params) {
  auto& lib = detail::internal(library);
  const int d = lib.dim();
  std::vector<int64_t> ids = lib.all_ids();
  const size_t n = ids.size();
  if (n < 2) throw Error("clustering needs at least 2 indexed photos, the library has " +
                             std::to_string(n), ErrorCode::InvalidArgument);
  if (!params.auto_k && (params.k < 1))
    throw Error("k must be at least 1", ErrorCode::InvalidArgument);
  std::vector<float> x = lib.embeddings(ids);

  // Silhouette sample and its cosine-distance matrix, computed once for every k tried.
  std::vector<size_t> sample(n);
  std::iota(sample.begin(), sample.end(), size_t{0});
  if (n > kSilhouetteSample) {
    std::mt19937_64 rng(static_cast<uint64_t>(params.seed));
    std::shuffle(sample.begin(), sample.end(), rng);
    sample.resize(kSilhouetteSample);
    std::sort(sample.begin(), sample.end());
  }
  const size_t s = sample.size();
  std::vector<float> dist(s * s, 0.0f);
  for (size_t i = 0; i < s; ++i)
    for (size_t j = i + 1; j < s; ++j) {
      float c = faiss::fvec_inner_product(x.data() + sample[i] * d, x.data() + sample[j] * d, d);
      dist[i * s + j] = dist[j * s + i] = 1.0f - c;
    }

  ClusterResult result;
  KMeans best;
  if (params.auto_k) {
    const int supported = static_cast<int>(n / kMinClusterSize);
    int lo = std::max(2, params.k_min);
    int hi = std::min(params.k_max, supported);
    if (lo > hi)
      throw Error("too few photos for automatic k: " + std::to_string(n) + " photos support at most " +
                      std::to_string(supported) + " clusters of " + std::to_string(kMinClusterSize) +
                      " (k-min is " + std::to_string(lo) + "); give k instead",
                  ErrorCode::InvalidArgument);
    if (hi < params.k_max)
      result.note = "k tried up to " + std::to_string(hi) + ", not " + std::to_string(params.k_max) + ": " +
                    std::to_string(n) + " photos support at most " + std::to_string(supported) +
                    " clusters of " + std::to_string(kMinClusterSize);
    double best_s = -2;
    for (int k = lo; k <= hi; ++k) {
      auto km = run_kmeans(x, n, d, k, params.seed);
      double sil = silhouette(dist, sample, km.assign, k);
      result.silhouette_by_k.emplace_back(k, sil);
      if (sil > best_s) {
        best_s = sil;
        best = std::move(km);
      }
    }
  } else {
    int k = std::min<int>(params.k, static_cast<int>(n));
    if (k < params.k)
      result.note = "k lowered from " + std::to_string(params.k) + " to " + std::to_string(k) +
                    ": the library has " + std::to_string(n) + " photos";
    best = run_kmeans(x, n, d, k, params.seed);
  }
  result.k = best.k;
  result.inertia = best.inertia;
  result.silhouette = silhouette(dist, sample, best.assign, best.k);

  const auto facts = member_facts(lib, ids);
  std::vector<std::vector<size_t>> members(best.k);
  for (size_t i = 0; i < n; ++i) members[best.assign[i]].push_back(i);
  for (int c = 0; c < best.k; ++c) {
    if (members[c].empty()) continue;
    Cluster cl;
    cl.id = c;
    cl.size = static_cast<int64_t>(members[c].size());
    auto sorted = members[c];
    std::sort(sorted.begin(), sorted.end(), [&](size_t a, size_t b) {
      return best.similarity[a] != best.similarity[b] ? best.similarity[a] > best.similarity[b] : a < b;
    });
    for (size_t i = 0; i < sorted.size() && static_cast<int>(i) < params.representatives; ++i)
      cl.representatives.push_back(ids[sorted[i]]);
    std::vector<const search::MemberFacts*> of_cluster;
    for (size_t m : members[c]) of_cluster.push_back(&facts[m]);
    cl.facts = search::shared_facts(of_cluster);
    cl.label = search::label_from_facts(cl.facts);
    result.clusters.push_back(std::move(cl));
  }
  std::stable_sort(result.clusters.begin(), result.clusters.end(),
                   [](const Cluster& a, const Cluster& b) { return a.size > b.size; });

  if (params.store) {
    catalog::ClusterRunToStore run;
    run.result = &result;
    run.ids = &ids;
    run.assignment = &best.assign;
    run.similarity = &best.similarity;
    lib.catalog().store_clusters(run);
  }
  return result;
}

std::optional<ClusterResult> stored_clusters(const Library& library) {
  return detail::internal(library).catalog().stored_clusters();
}

void rename_cluster(const Library& library, int cluster, const std::string& name_in) {
  std::string name = name_in;
  while (!name.empty() && std::isspace(static_cast<unsigned char>(name.back()))) name.pop_back();
  name.erase(0, std::min(name.size(), name.find_first_not_of(" \t\r\n")));
  if (name.size() > 200) throw Error("a cluster name is at most 200 bytes", ErrorCode::InvalidArgument);
  for (unsigned char c : name)
    if (c < 0x20 || c == 0x7f) throw Error("a cluster name cannot hold control characters", ErrorCode::InvalidArgument);
  if (!detail::internal(library).catalog().rename_cluster(cluster, name))
    throw Error("no cluster " + std::to_string(cluster) + " in the stored clustering (run 'viewfinder clusters' first)",
                ErrorCode::NotFound);
}

std::vector<int64_t> stored_cluster_members(const Library& library, int cluster, int limit, int offset) {
  return detail::internal(library).catalog().stored_cluster_members(cluster, limit, offset);
}

}  // namespace vf
