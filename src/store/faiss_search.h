// (Private to src/store.) FAISS searches restricted to a set of catalog ids, over whatever index type the library
// built (IDMap + Flat, IVF, ...). faiss 1.7.3's IndexIDMap refuses SearchParameters, so for
// it we search the wrapped index with a selector that translates internal positions to
// catalog ids; IVF and flat indexes take the selector directly.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "store/vector_store.h"

namespace faiss {
struct Index;
struct IDSelector;
}  // namespace faiss

namespace vf::store {


// Top `n` neighbours of each of `nq` queries (rows of index->d floats); `allowed` (catalog ids,
// sorted, may be null for all). Returns nullopt when this index type cannot apply a selector,
// so the caller can fall back to exact brute force. Results per query, best first.
std::optional<NeighborLists> index_search(
    const faiss::Index& index, const float* queries, int nq, int n,
    const std::vector<int64_t>* allowed);

// True when larger `distance` means more similar (inner-product metric).
bool higher_is_better(const faiss::Index& index);

}  // namespace vf::store
