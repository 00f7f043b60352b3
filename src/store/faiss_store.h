// The in-process FAISS implementation of VectorStore: one faiss::Index (IDMap2-wrapped or
// IVF with native ids, see faiss_index.h for the types chosen by library size), saved
// atomically with a JSON stamp next to the catalog.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "store/vector_store.h"

namespace faiss {
struct Index;
}

namespace vf::store {

// The factory string for `n` semantic vectors of dimension `dim` / for `n` colour vectors
// (faiss_index.h explains the choice).
std::string choose_factory(int64_t n, int dim);
std::string choose_color_factory(int64_t n);

class FaissStore final : public VectorStore {
 public:
  // An empty store; the index (of type `factory`, "" = "Flat") is built, and trained, from
  // the first upsert.
  FaissStore(int dim, std::string factory);
  explicit FaissStore(std::unique_ptr<faiss::Index> index);
  ~FaissStore() override;

  // A store of `factory` built from `n` rows `x` under `ids` (training included).
  static std::unique_ptr<FaissStore> build(const std::string& factory, int dim, const float* x,
                                           const int64_t* ids, int64_t n);
  // Reads a store saved by save() and its stamp. Null (with a reason) when either is
  // missing or unreadable.
  static std::unique_ptr<FaissStore> load(const std::string& path, nlohmann::json* stamp,
                                          std::string* why_not);

  std::string kind() const override { return "faiss"; }
  std::string describe() const override;
  bool lossy_scores() const override { return describe().find(",PQ") != std::string::npos; }
  int dim() const override;
  int64_t count() const override;
  int64_t memory_bytes() const override;
  void upsert(const int64_t* ids, const float* vectors, int64_t n,
              const std::vector<PhotoScalars>* scalars) override;
  bool remove(const std::vector<int64_t>& ids) override;
  void clear() override;
  std::optional<NeighborLists> search(const float* queries, int nq, int k,
                                      const SearchFilter& filter) const override;
  void scan(int64_t batch, const BatchFn& fn) const override;
  bool save(const std::string& path, const std::string& stamp_json) const override;

  // The FAISS index itself (null while empty), for the unit tests and the benchmarks.
  const faiss::Index* index() const { return index_.get(); }

 private:
  // An upper bound of the ids stored (computed on first use): catalog ids only grow, so the
  // new photos of an index run are above it and need no "already stored?" removal pass.
  int64_t id_bound();

  int dim_;
  std::string factory_;
  std::unique_ptr<faiss::Index> index_;
  int64_t id_bound_ = -1;
  bool id_bound_known_ = false;
};

}  // namespace vf::store
