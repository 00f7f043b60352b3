#include "store/faiss_store.h"
#include "store/milvus_store.h"

#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVF.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/IDSelector.h>

#include <algorithm>
#include <limits>

#include "store/faiss_index.h"
#include "store/faiss_search.h"
#include "viewfinder/error.h"

namespace vf::store {

FaissStore::FaissStore(int dim, std::string factory) : dim_(dim), factory_(std::move(factory)) {
  if (factory_.empty()) factory_ = "Flat";
}

FaissStore::FaissStore(std::unique_ptr<faiss::Index> index)
    : dim_(index ? index->d : 0), index_(std::move(index)) {
  if (index_) factory_ = describe_index(index_.get());
}

FaissStore::~FaissStore() = default;

std::unique_ptr<FaissStore> FaissStore::build(const std::string& factory, int dim, const float* x,
                                              const int64_t* ids, int64_t n) {
  return std::make_unique<FaissStore>(build_index(factory, dim, x, ids, n));
}

std::unique_ptr<FaissStore> FaissStore::load(const std::string& path, nlohmann::json* stamp,
                                             std::string* why_not) {
  auto index = load_index(path, stamp, why_not);
  if (!index) return nullptr;
  return std::make_unique<FaissStore>(std::move(index));
}

std::string FaissStore::describe() const { return index_ ? describe_index(index_.get()) : ""; }
int FaissStore::dim() const { return index_ ? index_->d : dim_; }
int64_t FaissStore::count() const { return index_ ? index_->ntotal : 0; }
int64_t FaissStore::memory_bytes() const { return index_ ? index_memory_bytes(index_.get()) : 0; }

void FaissStore::upsert(const int64_t* ids, const float* vectors, int64_t n,
                        const std::vector<PhotoScalars>*) {
  if (n <= 0) return;
  if (!index_) {
    // The first vectors: build (and train) the index from them.
    index_ = build_index(factory_, dim_, vectors, ids, n);
    id_bound_ = *std::max_element(ids, ids + n);
    id_bound_known_ = true;
    return;
  }
  // Replace ids already stored. Ids above every stored one are new (the usual case: catalog
  // ids only grow); else an IDMap2 answers "stored?" from its reverse map, and other types
  // (IVF with native ids) are asked to remove, which ignores absent ids.
  const int64_t bound = id_bound();
  bool maybe_present = std::any_of(ids, ids + n, [&](int64_t id) { return id <= bound; });
  if (maybe_present)
    if (auto* map2 = dynamic_cast<const faiss::IndexIDMap2*>(index_.get()))
      maybe_present = std::any_of(ids, ids + n, [&](int64_t id) { return map2->rev_map.count(id) > 0; });
  if (maybe_present && supports_remove(index_.get())) {
    faiss::IDSelectorBatch sel(static_cast<size_t>(n), ids);
    index_->remove_ids(sel);
  }
  index_->add_with_ids(static_cast<faiss::Index::idx_t>(n), vectors, ids);
  id_bound_ = std::max(id_bound_, *std::max_element(ids, ids + n));
}

void FaissStore::clear() { index_.reset(); }

int64_t FaissStore::id_bound() {
  if (id_bound_known_) return id_bound_;
  id_bound_known_ = true;
  id_bound_ = -1;
  if (!index_) return id_bound_;
  if (auto* map = dynamic_cast<const faiss::IndexIDMap*>(index_.get())) {
    for (auto id : map->id_map) id_bound_ = std::max<int64_t>(id_bound_, id);
  } else if (auto* ivf = dynamic_cast<const faiss::IndexIVF*>(index_.get())) {
    for (size_t list = 0; list < ivf->nlist; ++list) {
      size_t size = ivf->invlists->list_size(list);
      faiss::InvertedLists::ScopedIds list_ids(ivf->invlists, list);
      for (size_t o = 0; o < size; ++o) id_bound_ = std::max<int64_t>(id_bound_, list_ids[o]);
    }
  } else {
    id_bound_ = std::numeric_limits<int64_t>::max();  // unknown type: always check
  }
  return id_bound_;
}

bool FaissStore::remove(const std::vector<int64_t>& ids) {
  if (!index_ || ids.empty()) return true;
  if (!supports_remove(index_.get())) return false;
  faiss::IDSelectorBatch sel(ids.size(), ids.data());
  index_->remove_ids(sel);
  return true;
}

std::optional<NeighborLists> FaissStore::search(const float* queries, int nq, int k,
                                                const SearchFilter& filter) const {
  if (!index_) return NeighborLists(static_cast<size_t>(std::max(nq, 0)));
  return index_search(*index_, queries, nq, k, filter.allowed_ids);
}

void FaissStore::scan(int64_t batch, const BatchFn& fn) const {
  if (!index_ || index_->ntotal == 0) return;
  batch = std::max<int64_t>(batch, 1);
  const int d = index_->d;
  std::vector<int64_t> ids;
  std::vector<float> x;
  auto flush = [&] {
    if (!ids.empty()) fn(ids.data(), x.data(), static_cast<int64_t>(ids.size()));
    ids.clear();
    x.clear();
  };
  try {
    if (auto* map = dynamic_cast<const faiss::IndexIDMap*>(index_.get())) {
      std::vector<float> row(d);
      for (int64_t i = 0; i < map->ntotal; ++i) {
        map->index->reconstruct(i, row.data());
        ids.push_back(map->id_map[i]);
        x.insert(x.end(), row.begin(), row.end());
        if (static_cast<int64_t>(ids.size()) >= batch) flush();
      }
    } else if (auto* ivf = dynamic_cast<const faiss::IndexIVF*>(index_.get())) {
      std::vector<float> row(d);
      for (size_t list = 0; list < ivf->nlist; ++list) {
        size_t size = ivf->invlists->list_size(list);
        faiss::InvertedLists::ScopedIds list_ids(ivf->invlists, list);
        for (size_t o = 0; o < size; ++o) {
          ivf->reconstruct_from_offset(static_cast<int64_t>(list), static_cast<int64_t>(o), row.data());
          ids.push_back(list_ids[o]);
          x.insert(x.end(), row.begin(), row.end());
          if (static_cast<int64_t>(ids.size()) >= batch) flush();
        }
      }
    } else {
      throw Error("this FAISS index type cannot list its vectors", ErrorCode::InvalidArgument);
    }
  } catch (const faiss::FaissException& e) {
    throw Error(std::string("reading vectors from the FAISS index failed: ") + e.what());
  }
  flush();
}

bool FaissStore::save(const std::string& path, const std::string& stamp_json) const {
  if (!index_) return false;
  save_index_atomic(index_.get(), path, nlohmann::json::parse(stamp_json));
  return true;
}

bool is_remote_store(const std::string& spec) { return spec.rfind("milvus://", 0) == 0; }

bool same_model_id(const std::string& a, const std::string& b) {
  const size_t at_a = a.rfind('@'), at_b = b.rfind('@');
  if (at_a == std::string::npos || at_b == std::string::npos) return a == b;
  return a.compare(at_a, std::string::npos, b, at_b, std::string::npos) == 0;
}

void VectorStore::scan_rows(int64_t, const RowBatchFn&, bool) const {
  throw Error("vector store " + describe() + " keeps no photo fields: only a Milvus collection can be mirrored",
              ErrorCode::InvalidArgument);
}

void VectorStore::fetch_vectors(const std::vector<int64_t>&, const BatchFn&) const {
  scan_rows(0, RowBatchFn(), false);  // the same refusal
}

std::unique_ptr<VectorStore> make_store(const std::string& spec, int dim, const std::string& faiss_factory,
                                        RemoteStoreOptions remote) {
  if (spec.empty() || spec == "faiss") return std::make_unique<FaissStore>(dim, faiss_factory);
  if (is_remote_store(spec)) {
#ifdef VF_HAVE_MILVUS
    return make_milvus_store(spec, dim, std::move(remote));
#else
    throw Error("vector store '" + spec + "': this viewfinder was built without Milvus (VF_MILVUS=OFF: "
                "install protobuf-compiler-grpc libgrpc++-dev libprotobuf-dev and rebuild)",
                ErrorCode::InvalidArgument);
#endif
  }
  throw Error("unknown vector store '" + spec + "': expected \"faiss\" or \"milvus://host:port/collection\"",
              ErrorCode::InvalidArgument);
}

}  // namespace vf::store
