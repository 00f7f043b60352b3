// Index upkeep: the vector stores follow the catalog commit by commit (removals, then the new
// vectors), are saved every 30 s for readers that open meanwhile, and at the end take the type
// the library's size calls for.
#include <algorithm>
#include <ctime>

#include "library/indexer.h"
#include "store/faiss_store.h"

namespace vf::detail {

void Indexer::queue_vectors(int64_t id, const float* embedding, const float* color_hist) {
  pend_ids.push_back(id);
  pend_vecs.insert(pend_vecs.end(), embedding, embedding + dim);
  if (!color_hist) return;
  float cv[kColorDim];
  color_index_vector(color_hist, cv);
  pend_color_ids.push_back(id);
  pend_color.insert(pend_color.end(), cv, cv + kColorDim);
}

// After each commit: bring the in-memory stores up to the committed state.
void Indexer::apply_pending() {
  // A remote (Milvus) semantic store also takes each photo's filter fields; its failures
  // (Milvus down) propagate: the catalog has committed, and the next open re-upserts.
  const bool remote = lib.semantic_is_remote();
  auto apply = [&](std::unique_ptr<store::VectorStore>& s, bool& dirty, std::vector<int64_t>& ids,
                   std::vector<float>& vecs, int d) {
    const bool to_remote = remote && &s == &lib.sem_;
    std::vector<store::PhotoScalars> scalars;
    if (to_remote && !ids.empty()) scalars = read_store_scalars(db, ids);
    const auto* scalars_ptr = to_remote ? &scalars : nullptr;
    if (!dirty && !pend_remove.empty() && s && !s->remove(pend_remove)) dirty = true;
    if (!dirty && !ids.empty()) {
      if (!s) {
        // First vectors of an empty library: start exact; index() switches type at the end
        // when the size calls for it.
        try {
          auto fresh = to_remote ? lib.new_semantic_store(db, d, "") : store::make_store("faiss", d, params.faiss_factory);
          fresh->upsert(ids.data(), vecs.data(), static_cast<int64_t>(ids.size()), scalars_ptr);
          s = std::move(fresh);
        } catch (const Error&) {
          if (to_remote) throw;
          dirty = true;  // e.g. an IVF override with too few vectors yet: built at the end
        }
      } else {
        s->upsert(ids.data(), vecs.data(), static_cast<int64_t>(ids.size()), scalars_ptr);
      }
    }
    ids.clear();
    vecs.clear();
  };
  apply(lib.sem_, sem_dirty, pend_ids, pend_vecs, dim);
  apply(lib.color_, color_dirty, pend_color_ids, pend_color, kColorDim);
  pend_remove.clear();
}

void Indexer::maybe_save(bool force) {
  if (sem_dirty || color_dirty) return;
  if (!force && now_s() - last_save < 30) return;
  // Readers that open now load these instead of rebuilding from the catalog.
  CatalogState st = read_state(db);
  const bool sem_off = !lib.semantic_is_remote() && (lib.sem_ ? lib.sem_->count() : 0) != st.sem_count;
  if (sem_off || (lib.color_ ? lib.color_->count() : 0) != st.color_count) {
    sem_dirty = color_dirty = true;  // should not happen; rebuild rather than save a wrong index
    return;
  }
  lib.save_indexes(st);
  last_save = now_s();
}

// The final stores: the type the library's size calls for, saved with their stamps.
void Indexer::finish_stores() {
  emit("index", 0, 0, 0, 0);
  CatalogState st = read_state(db);
  std::string want = params.faiss_factory.empty() ? meta_get(db, "index_factory") : params.faiss_factory;
  if (want.empty()) want = store::choose_factory(st.sem_count, dim);
  if (lib.semantic_is_remote()) {
    // Milvus keeps its own index type; only bring its contents in step with the catalog.
    if (!lib.sem_ && st.sem_count > 0) lib.sem_ = lib.new_semantic_store(db, dim, "");
    if (lib.sem_ && lib.sem_->count() != st.sem_count) lib.resync_remote(db, st);
    sem_dirty = false;
    Transaction t(db);  // readers opening in the next seconds read Milvus with Strong consistency
    meta_set(db, "store_write_unix", std::to_string(static_cast<int64_t>(std::time(nullptr))));
    t.commit();
  }
  auto kind = [](const std::string& f) { return f.substr(0, std::min(f.find_first_of("0123456789,"), f.size())); };
  const bool faiss_sem = !lib.semantic_is_remote();
  if (faiss_sem && lib.sem_ && kind(lib.sem_->describe()) != kind(want)) sem_dirty = true;
  if (lib.color_ && lib.color_->describe() != store::choose_color_factory(st.color_count)) color_dirty = true;
  if (faiss_sem && (lib.sem_ ? lib.sem_->count() : 0) != st.sem_count) sem_dirty = true;
  if ((lib.color_ ? lib.color_->count() : 0) != st.color_count) color_dirty = true;
  if (sem_dirty || color_dirty) {
    Transaction snapshot(db, false);
    st = read_state(db);
    if (sem_dirty) lib.rebuild_semantic(db, st, want == store::choose_factory(st.sem_count, dim) ? "" : want);
    if (color_dirty) lib.rebuild_color(db, st);
    snapshot.commit();
    sem_dirty = color_dirty = false;
  }
  lib.save_indexes(st);
  lib.dim_ = dim;
}

}  // namespace vf::detail

