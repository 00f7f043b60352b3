// Duplicate detection (docs/search.md#duplicates).
//
// Exact: the same content hash (byte-identical files), or the same pixels in another file
// format: equal 64-bit pHash AND embedding cosine >= 0.999 (a re-save that changed nothing
// visible). Near: each photo's max_neighbors nearest neighbours in the semantic index with
// cosine >= threshold, optionally also colour-index neighbours whose pHashes are within
// phash_max_distance bits. Pairs are merged with union-find, so the cost is n * knn, never
// all pairs.
#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <numeric>
#include <set>
#include <unordered_map>

#include "library/library_access.h"
#include "catalog/catalog_reader.h"
#include "catalog/schema.h"
#include "store/vector_store.h"
#include "search/search_internal.h"
#include "viewfinder/search.h"

namespace vf {

namespace {

constexpr float kSamePixelsCosine = 0.999f;
constexpr int kChunk = 512;  // queries per FAISS batch

using Row = catalog::DuplicateRow;

// Visits every (photo, neighbour) pair found through a store over `vectors` (n rows of d,
// photo i = row i): the library's store when there are no filters, else a small exact store
// over the filtered photos. Never all pairs.
void for_each_neighbor(const store::VectorStore* library_store, bool filtered, const float* vectors, size_t n,
                       int d, int kn, const std::unordered_map<int64_t, size_t>& pos,
                       const std::function<void(size_t, size_t)>& visit) {
  std::unique_ptr<store::VectorStore> local;
  const store::VectorStore* index = library_store;
  const bool use_local = filtered || !index;
  if (use_local) {
    // An exact store over the filtered photos, keyed by position.
    std::vector<int64_t> positions(n);
    std::iota(positions.begin(), positions.end(), int64_t{0});
    local = store::make_store("faiss", d, "Flat");
    local->upsert(positions.data(), vectors, static_cast<int64_t>(n), nullptr);
    index = local.get();
  }
  for (size_t start = 0; start < n; start += kChunk) {
    int nq = static_cast<int>(std::min<size_t>(kChunk, n - start));
    auto res = index->search(vectors + start * d, nq, kn, {});
    for (int q = 0; q < nq; ++q)
      for (const auto& nb : (*res)[q]) {
        size_t other;
        if (use_local) {
          other = static_cast<size_t>(nb.id);
        } else {
          auto it = pos.find(nb.id);
          if (it == pos.end()) continue;
          other = it->second;
        }
        const size_t self = start + q;
        if (other != self) visit(self, other);
      }
  }
}

}  // namespace

std::vector<DupeGroup> find_duplicates(const Library& library, const DupeParams& params) {
  if (params.threshold <= 0 || params.threshold > 1)
    throw Error("duplicate threshold must be in (0, 1], got " + std::to_string(params.threshold),
                ErrorCode::InvalidArgument);
  const auto& lib = detail::internal(library);
  const int dim = lib.dim();

  std::vector<Row> rows = lib.catalog().duplicate_rows(params.filters);
  const size_t n = rows.size();
  std::unordered_map<int64_t, size_t> pos;
  std::vector<int64_t> ids(n);
  for (size_t i = 0; i < n; ++i) {
    pos[rows[i].id] = i;
    ids[i] = rows[i].id;
  }
  search::UnionFind all(n), exact(n);
  auto link_exact = [&](size_t a, size_t b) {
    all.unite(a, b);
    exact.unite(a, b);
  };

  // All embeddings at once (n x dim floats): both the same-pixels check and the near pass use them.
  std::vector<float> embs;
  auto cosine_of = [&](size_t a, size_t b) {
    return search::dot(embs.data() + a * dim, embs.data() + b * dim, dim);
  };
  embs = lib.embeddings(ids);

  if (params.exact) {
    std::map<std::string, std::vector<size_t>> by_hash;
    std::map<uint64_t, std::vector<size_t>> by_phash;
    for (size_t i = 0; i < n; ++i) {
      if (!rows[i].content_hash.empty()) by_hash[rows[i].content_hash].push_back(i);
      if (rows[i].has_phash) by_phash[rows[i].phash].push_back(i);
    }
    for (const auto& [h, members] : by_hash)
      for (size_t j = 1; j < members.size(); ++j) link_exact(members[0], members[j]);
    for (const auto& [h, members] : by_phash) {
      // Equal pHash alone is too weak (flat images share hashes); the embedding confirms.
      // Large buckets are compared against a few anchors only, to stay linear.
      size_t anchors = std::min<size_t>(members.size(), 8);
      for (size_t a = 0; a < anchors; ++a)
        for (size_t j = a + 1; j < members.size(); ++j)
          if (cosine_of(members[a], members[j]) >= kSamePixelsCosine) link_exact(members[a], members[j]);
    }
  }

  const int kn = std::max(1, params.max_neighbors) + 1;  // +1: the photo itself
  const bool filtered = !params.filters.empty();

  if (params.near && n > 1) {
    for_each_neighbor(lib.semantic_store(), filtered, embs.data(), n, dim, kn, pos, [&](size_t self, size_t other) {
      // Exact cosine from the stored vectors, whatever the index's metric or compression.
      if (cosine_of(self, other) >= params.threshold) all.unite(self, other);
    });
  }

  if (params.phash_max_distance >= 0 && n > 1) {
    std::vector<float> hists = lib.color_hists(ids);
    // The colour store's space: element-wise sqrt of each histogram (catalog/schema.h color_index_vector).
    for (size_t i = 0; i < n; ++i) {
      auto v = detail::color_index_query(hists.data() + i * search::kHistBins);
      std::copy(v.begin(), v.end(), hists.begin() + i * search::kHistBins);
    }
    for_each_neighbor(lib.color_store(), filtered, hists.data(), n, search::kHistBins, kn, pos, [&](size_t self, size_t other) {
      if (!rows[self].has_phash || !rows[other].has_phash) return;
      if (search::hamming64(rows[self].phash, rows[other].phash) <= params.phash_max_distance)
        all.unite(self, other);
    });
  }

  auto make_group = [&](const std::string& kind, const std::vector<size_t>& members) {
    DupeGroup g;
    g.kind = kind;
    std::vector<search::KeeperCandidate> cands;
    for (size_t m : members)
      cands.push_back({rows[m].id, rows[m].width, rows[m].height, rows[m].format, rows[m].capture_unix});
    auto [best, reason] = search::choose_keeper(cands);
    size_t keeper = members[best];
    g.keeper = rows[keeper].id;
    g.keeper_reason = reason;
    g.members.push_back({rows[keeper].id, rows[keeper].path, 1.0f});
    std::vector<DupeMember> rest;
    for (size_t m : members)
      if (m != keeper) rest.push_back({rows[m].id, rows[m].path, cosine_of(keeper, m)});
    std::sort(rest.begin(), rest.end(), [](const DupeMember& a, const DupeMember& b) {
      return a.similarity != b.similarity ? a.similarity > b.similarity : a.id < b.id;
    });
    g.members.insert(g.members.end(), rest.begin(), rest.end());
    return std::make_pair(g, keeper);
  };
  // Exact groups first. Each exact group then takes part in near grouping through its keeper
  // only, so a photo is listed once as a non-keeper and an identical pair is never hidden
  // inside a larger near group.
  std::vector<DupeGroup> groups;
  std::vector<size_t> representative(n);
  std::iota(representative.begin(), representative.end(), size_t{0});
  for (const auto& members : exact.groups(2)) {
    auto [g, keeper] = make_group("exact", members);
    for (size_t m : members) representative[m] = keeper;
    groups.push_back(std::move(g));
  }
  for (const auto& members : all.groups(2)) {
    std::set<size_t> reps;
    for (size_t m : members) reps.insert(representative[m]);
    if (reps.size() < 2) continue;
    groups.push_back(make_group("near", std::vector<size_t>(reps.begin(), reps.end())).first);
  }
  // Exact groups (safe to clean up) before near ones, then largest first.
  std::stable_sort(groups.begin(), groups.end(), [](const DupeGroup& a, const DupeGroup& b) {
    if (a.kind != b.kind) return a.kind == "exact";
    return a.members.size() > b.members.size();
  });
  return groups;
}

}  // namespace vf
