// The metadata-only changes a scan found (moves, touches, deletions, copies, failures that
// went away), committed in one transaction; nothing here decodes or embeds.
#include "catalog/photo_row.h"
#include "library/indexer.h"

namespace vf::detail {

void Indexer::apply_metadata_changes(const ChangeSet& c) {
  if (!c.has_metadata_changes()) return;
  Transaction t(db);
  Stmt mv(db, "UPDATE photos SET path = ?, folder = ?, file_size = ?, mtime_ns = ? WHERE id = ?");
  for (auto& m : c.moves)
    mv.bind(1, m.new_path).bind(2, folder_of(m.new_path)).bind(3, m.st.size).bind(4, m.st.mtime_ns).bind(5, m.id).run();
  Stmt tc(db, "UPDATE photos SET file_size = ?, mtime_ns = ? WHERE id = ?");
  for (auto& [id, st] : c.touch) tc.bind(1, st.size).bind(2, st.mtime_ns).bind(3, id).run();
  Stmt del(db, "DELETE FROM photos WHERE id = ?");
  for (int64_t id : c.deletions) del.bind(1, id).run();
  Stmt cm(db, "DELETE FROM cluster_members WHERE photo_id = ?");
  for (int64_t id : c.deletions) cm.bind(1, id).run();
  Stmt fd(db, "DELETE FROM failures WHERE path = ?");
  for (auto& p : c.gone_failures) fd.bind(1, p).run();
  for (auto& p : c.fixed_failures) fd.bind(1, p).run();
  Stmt nf(db, "INSERT OR REPLACE INTO failures (path, reason, mtime_ns, file_size) VALUES (?, ?, ?, ?)");
  for (auto& n : c.not_images) {
    nf.bind(1, n.path).bind(2, n.reason).bind(3, n.st.mtime_ns).bind(4, n.st.size).run();
    ++report.failed;
    report.failures.push_back({n.path, n.reason});
    emit("scan", 0, 0, 0, 0, n.path, "failed: " + n.reason);
  }
  // A copy shares everything but its path with the photo it duplicates.
  Stmt cp(db, catalog::photo_copy_sql());
  std::vector<int64_t> copy_ids;
  for (auto& k : c.copies) {
    cp.bind(1, k.path).bind(2, folder_of(k.path)).bind(3, k.st.size).bind(4, k.st.mtime_ns).bind(5, now_iso_utc()).bind(6, k.source_id).run();
    copy_ids.push_back(sqlite3_last_insert_rowid(db));
  }
  bump_generation(db);
  t.commit();
  pend_remove.insert(pend_remove.end(), c.deletions.begin(), c.deletions.end());
  if (lib.semantic_is_remote() && !c.moves.empty()) {
    // Milvus holds each photo's path and folder: a move re-upserts them (same id, same vector).
    std::vector<int64_t> moved;
    for (auto& m : c.moves) moved.push_back(m.id);
    lib.upsert_from_catalog(db, moved);
  }
  // The copies' vectors, from the rows just written (fp16-decoded, as a rebuild would).
  if (!copy_ids.empty()) {
    Stmt q(db, "SELECT embedding, color_hist FROM photos WHERE id = ?");
    std::vector<float> v(dim);
    for (int64_t id : copy_ids) {
      q.bind(1, id);
      if (q.step()) {
        decode_embedding(q.col_blob(0), q.col_bytes(0), v.data(), dim);
        const bool has_hist = q.col_bytes(1) == kColorDim * 4;
        queue_vectors(id, v.data(), has_hist ? static_cast<const float*>(q.col_blob(1)) : nullptr);
      }
      q.reset();
    }
  }
  apply_pending();
}

}  // namespace vf::detail
