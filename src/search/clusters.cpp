// Clustering of the library's embeddings (spec 5.2, docs/search.md#clusters).
//
// Spherical k-means (faiss::Clustering, which trains on at most 256 points per centroid: a
// mini-batch in effect on large libraries), then every photo is assigned to its nearest
// centroid. Quality: inertia (sum of squared L2 distances to the centroid) and the mean
// silhouette with cosine distance over a sample of at most 2000 photos. Labels come only from
// metadata the members share (capture months, camera, folder words, keywords): a label never
// claims a meaning that nothing in the data supports.
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
#include "search/search_internal.h"
#include "viewfinder/search.h"

namespace vf {

namespace {

constexpr size_t kSilhouetteSample = 2000;

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
  faiss::Clustering clus(d, k, cp);
  faiss::IndexFlatIP index(d);
  clus.train(static_cast<faiss::Index::idx_t>(n), x.data(), index);
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

struct MemberMeta {
  int64_t capture_unix = 0;
  std::string camera, folder;
  std::vector<std::string> keywords;
};

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

std::string camera_name(const std::string& make, const std::string& model) {
  std::string mk = trim(make), md = trim(model);
  if (md.empty()) return mk;
  std::string lmk = mk, lmd = md;
  std::transform(lmk.begin(), lmk.end(), lmk.begin(), ::tolower);
  std::transform(lmd.begin(), lmd.end(), lmd.begin(), ::tolower);
  if (!lmk.empty() && lmd.rfind(lmk, 0) == 0) return md;  // "Canon" + "Canon EOS 5D"
  return mk.empty() ? md : mk + " " + md;
}

std::set<std::string> folder_words(const std::string& folder) {
  // The last two path components: "Photos/2019 Iceland trip" -> {2019, iceland, trip, photos}.
  std::set<std::string> words;
  std::string f = folder;
  while (!f.empty() && f.back() == '/') f.pop_back();
  size_t cut = f.find_last_of('/');
  if (cut != std::string::npos && cut > 0) {
    size_t cut2 = f.find_last_of('/', cut - 1);
    f = f.substr(cut2 == std::string::npos ? 0 : cut2 + 1);
  }
  std::string w;
  auto flush = [&] {
    if (w.size() >= 3) words.insert(w);
    w.clear();
  };
  for (char c : f) {
    if (std::isalnum(static_cast<unsigned char>(c)))
      w += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    else
      flush();
  }
  flush();
  return words;
}

std::string month_label(int64_t t, bool with_year) {
  static const char* names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  time_t tt = static_cast<time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  if (with_year)
    std::snprintf(buf, sizeof buf, "%s %d", names[tm.tm_mon % 12], tm.tm_year + 1900);
  else
    std::snprintf(buf, sizeof buf, "%s", names[tm.tm_mon % 12]);
  return buf;
}

int year_of(int64_t t) {
  time_t tt = static_cast<time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  return tm.tm_year + 1900;
}
int month_of(int64_t t) {
  time_t tt = static_cast<time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  return tm.tm_mon;
}

// A label from what most members share. `library_word_share` lets words that nearly every
// photo of the library has (e.g. "images") be skipped: they are true but say nothing.
std::string make_label(const std::vector<size_t>& members, const std::vector<MemberMeta>& meta,
                       const std::map<std::string, double>& library_word_share) {
  std::vector<std::string> parts;
  const double n = static_cast<double>(members.size());
  // Capture dates: the 10th..90th percentile range, when most members have one. A date taken
  // from the file's mtime (no EXIF/XMP date) says when the file was copied, not shot: unused.
  std::vector<int64_t> times;
  for (size_t m : members)
    if (meta[m].capture_unix) times.push_back(meta[m].capture_unix);
  if (times.size() >= 0.5 * n && !times.empty()) {
    std::sort(times.begin(), times.end());
    int64_t lo = times[static_cast<size_t>(0.1 * (times.size() - 1))];
    int64_t hi = times[static_cast<size_t>(0.9 * (times.size() - 1))];
    if (year_of(lo) == year_of(hi) && month_of(lo) == month_of(hi))
      parts.push_back(month_label(lo, true));
    else if (year_of(lo) == year_of(hi))
      parts.push_back(month_label(lo, false) + "-" + month_label(hi, true));
    else if (year_of(hi) - year_of(lo) <= 3)
      parts.push_back(std::to_string(year_of(lo)) + "-" + std::to_string(year_of(hi)));
  }
  // Camera: the most common make+model when at least half share it.
  std::map<std::string, int> cams;
  for (size_t m : members)
    if (!meta[m].camera.empty()) ++cams[meta[m].camera];
  if (!cams.empty()) {
    auto best = std::max_element(cams.begin(), cams.end(),
                                 [](const auto& a, const auto& b) { return a.second < b.second; });
    if (best->second >= 0.5 * n) parts.push_back(best->first);
  }
  // Folder words shared by at least half the members, and not by (nearly) the whole library.
  std::map<std::string, int> words;
  for (size_t m : members)
    for (const auto& w : folder_words(meta[m].folder)) ++words[w];
  std::vector<std::pair<int, std::string>> shared_words;
  for (const auto& [w, c] : words) {
    auto it = library_word_share.find(w);
    if (c >= 0.5 * n && (it == library_word_share.end() || it->second < 0.9))
      shared_words.emplace_back(-c, w);
  }
  std::sort(shared_words.begin(), shared_words.end());
  for (size_t i = 0; i < shared_words.size() && i < 2; ++i) parts.push_back(shared_words[i].second);
  // Keywords carried by at least 30% of the members (up to three).
  std::map<std::string, int> kw;
  for (size_t m : members)
    for (const auto& k : std::set<std::string>(meta[m].keywords.begin(), meta[m].keywords.end()))
      ++kw[k];
  std::vector<std::pair<int, std::string>> shared_kw;
  for (const auto& [k, c] : kw)
    if (c >= 0.3 * n) shared_kw.emplace_back(-c, k);
  std::sort(shared_kw.begin(), shared_kw.end());
  for (size_t i = 0; i < shared_kw.size() && i < 3; ++i) parts.push_back(shared_kw[i].second);
  if (parts.empty()) return "no shared metadata";
  std::string label;
  for (size_t i = 0; i < parts.size(); ++i) label += (i ? ", " : "") + parts[i];
  return label;
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
    int lo = std::max(2, params.k_min);
    int hi = std::min<int>(params.k_max, static_cast<int>(n) - 1);
    if (lo > hi) throw Error("too few photos for --auto clustering", ErrorCode::InvalidArgument);
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
    best = run_kmeans(x, n, d, k, params.seed);
  }
  result.k = best.k;
  result.inertia = best.inertia;
  result.silhouette = silhouette(dist, sample, best.assign, best.k);

  // Metadata for labels.
  std::vector<MemberMeta> meta(n);
  {
    std::map<int64_t, size_t> pos;
    for (size_t i = 0; i < n; ++i) pos[ids[i]] = i;
    for (const auto& row : lib.catalog().label_rows()) {
      auto it = pos.find(row.id);
      if (it == pos.end()) continue;
      auto& m = meta[it->second];
      m.capture_unix = row.capture_unix;
      m.camera = camera_name(row.make, row.model);
      m.folder = row.folder;
      const std::string& kw = row.keywords_json;
      if (!kw.empty()) {
        auto j = nlohmann::json::parse(kw, nullptr, false);
        if (j.is_array())
          for (const auto& k : j)
            if (k.is_string()) m.keywords.push_back(k.get<std::string>());
      }
    }
  }
  std::map<std::string, double> library_word_share;
  for (const auto& m : meta)
    for (const auto& w : folder_words(m.folder)) library_word_share[w] += 1.0 / n;

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
    cl.label = make_label(members[c], meta, library_word_share);
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

std::vector<int64_t> stored_cluster_members(const Library& library, int cluster, int limit, int offset) {
  return detail::internal(library).catalog().stored_cluster_members(cluster, limit, offset);
}

}  // namespace vf
