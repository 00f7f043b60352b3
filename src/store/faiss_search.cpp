#include "store/faiss_search.h"

#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVF.h>
#include <faiss/impl/AuxIndexStructures.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/IDSelector.h>

#include <algorithm>
#include <memory>

namespace vf::store {

namespace {

// Membership test on sorted catalog ids (binary search: no per-query hash set to build).
struct SortedIdSelector : faiss::IDSelector {
  const std::vector<int64_t>& ids;
  explicit SortedIdSelector(const std::vector<int64_t>& ids) : ids(ids) {}
  bool is_member(faiss::Index::idx_t id) const override {
    return std::binary_search(ids.begin(), ids.end(), static_cast<int64_t>(id));
  }
};

// The wrapped index of an IndexIDMap sees positions 0..n-1; map them to catalog ids first.
struct TranslatingSelector : faiss::IDSelector {
  const std::vector<faiss::Index::idx_t>& id_map;
  const faiss::IDSelector& inner;
  TranslatingSelector(const std::vector<faiss::Index::idx_t>& m, const faiss::IDSelector& s)
      : id_map(m), inner(s) {}
  bool is_member(faiss::Index::idx_t i) const override {
    return i >= 0 && static_cast<size_t>(i) < id_map.size() && inner.is_member(id_map[i]);
  }
};

std::vector<std::vector<Neighbor>> collect(int nq, int n, const std::vector<float>& dist,
                                           const std::vector<faiss::Index::idx_t>& labels,
                                           const std::vector<faiss::Index::idx_t>* id_map) {
  std::vector<std::vector<Neighbor>> out(nq);
  for (int q = 0; q < nq; ++q)
    for (int j = 0; j < n; ++j) {
      auto l = labels[static_cast<size_t>(q) * n + j];
      if (l < 0) continue;
      int64_t id = id_map ? (*id_map)[l] : l;
      out[q].push_back({id, dist[static_cast<size_t>(q) * n + j]});
    }
  return out;
}

}  // namespace

bool higher_is_better(const faiss::Index& index) {
  return index.metric_type == faiss::METRIC_INNER_PRODUCT;
}

std::optional<std::vector<std::vector<Neighbor>>> index_search(
    const faiss::Index& index, const float* queries, int nq, int n,
    const std::vector<int64_t>* allowed) {
  n = static_cast<int>(std::min<int64_t>(n, index.ntotal));
  if (n <= 0 || nq <= 0) return std::vector<std::vector<Neighbor>>(std::max(nq, 0));
  std::vector<float> dist(static_cast<size_t>(nq) * n);
  std::vector<faiss::Index::idx_t> labels(static_cast<size_t>(nq) * n);
  std::unique_ptr<SortedIdSelector> sel;
  if (allowed) sel = std::make_unique<SortedIdSelector>(*allowed);
  try {
    if (auto* idmap = dynamic_cast<const faiss::IndexIDMap*>(&index)) {
      const faiss::Index& inner = *idmap->index;
      if (!sel) {
        idmap->search(nq, queries, n, dist.data(), labels.data());
        return collect(nq, n, dist, labels, nullptr);
      }
      TranslatingSelector tsel(idmap->id_map, *sel);
      if (auto* ivf = dynamic_cast<const faiss::IndexIVF*>(&inner)) {
        faiss::SearchParametersIVF p;
        p.sel = &tsel;
        p.nprobe = ivf->nprobe;
        inner.search(nq, queries, n, dist.data(), labels.data(), &p);
      } else {
        faiss::SearchParameters p;
        p.sel = &tsel;
        inner.search(nq, queries, n, dist.data(), labels.data(), &p);
      }
      return collect(nq, n, dist, labels, &idmap->id_map);
    }
    if (!sel) {
      index.search(nq, queries, n, dist.data(), labels.data());
    } else if (auto* ivf = dynamic_cast<const faiss::IndexIVF*>(&index)) {
      faiss::SearchParametersIVF p;
      p.sel = sel.get();
      p.nprobe = ivf->nprobe;
      index.search(nq, queries, n, dist.data(), labels.data(), &p);
    } else {
      faiss::SearchParameters p;
      p.sel = sel.get();
      index.search(nq, queries, n, dist.data(), labels.data(), &p);
    }
    return collect(nq, n, dist, labels, nullptr);
  } catch (const faiss::FaissException&) {
    // This index type does not take a selector (e.g. some compressed or pre-transformed
    // index); the caller searches the allowed ids exactly instead.
    if (allowed) return std::nullopt;
    throw;
  }
}

}  // namespace vf::store
