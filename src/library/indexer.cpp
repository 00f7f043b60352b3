// Library::index: one run of incremental, crash-safe indexing (see indexer.h for the pieces
// and the crash-safety rule).
#include "library/indexer.h"
#include "library/library_recovery.h"

namespace vf::detail {

IndexReport LibraryImpl::index(const IndexParams& params, const ProgressFn& progress) {
  if (read_only_) throw Error(dir_ + ": library opened read-only", ErrorCode::InvalidArgument);
  if (is_reader(wdb_.get()))
    throw Error(dir_ + " is a reader of " + meta_get(wdb_.get(), "vector_store") +
                    ": it mirrors what the workers index (viewfinder serve --reader refreshes it); index with a "
                    "worker library of its own",
                ErrorCode::InvalidArgument);
  std::lock_guard<std::mutex> lk(wmu_);
  WriterLock writer_lock = acquire_writer_lock();
  // Temp files of a run that died (disk full, kill -9): only the writer may sweep them.
  remove_stale_temp_files(dir_);
  // Another process may have committed since we opened: start from the current state.
  load_indexes(true);
  Indexer ix(*this, params, progress);
  IndexReport r = ix.run();
  loaded_generation_ = read_state(wdb_.get()).generation;
  return r;
}

void Indexer::emit(const std::string& phase, int64_t total, int64_t done, double rate, double eta,
                   const std::string& current, const std::string& message) {
  if (!progress) return;
  IndexProgress pr;
  pr.phase = phase;
  pr.total = total;
  pr.done = done;
  pr.failed = report.failed;
  pr.rate = rate;
  pr.eta_s = eta;
  pr.current = current;
  pr.message = message;
  progress(pr);
}

std::string Indexer::open_engine() {
  EngineParams ep = params.engine;
  if (ep.model_dir.empty()) ep.model_dir = meta_get(db, "model_dir");
  if (ep.model_dir.empty()) ep.model_dir = default_model_dir();
  ep.model_dir = normalize_path(ep.model_dir);
  engine = &lib.engine_for(ep);
  dim = engine->dim();
  model_id = engine->info().model_id;
  pooling = to_string(params.pooling);
  precision = to_string(engine->precision());
  return ep.model_dir;
}

void Indexer::stamp_model(const CatalogFiles& known, const std::string& model_dir) {
  std::string old_model = meta_get(db, "model_id"), old_pooling = meta_get(db, "pooling");
  int old_dim = std::stoi(meta_get(db, "dim", "0"));
  bool model_changed = !old_model.empty() && (old_model != model_id || old_pooling != pooling || old_dim != dim);
  if (model_changed) {
    int64_t stale = 0;
    for (auto& [p, r] : known.rows) stale += !r.current;
    note("model changed (" + old_model + " " + old_pooling + " -> " + model_id + " " + pooling +
         "): re-embedding " + std::to_string(stale) + " photos");
    // A Milvus collection must not mix two models: it is emptied before the new model is
    // recorded (a crash in between clears it again on the next run).
    if (lib.semantic_is_remote()) lib.clear_remote_semantic(db);
  }
  {
    Transaction t(db);
    meta_set(db, "model_id", model_id);
    meta_set(db, "model_dir", model_dir);
    meta_set(db, "pooling", pooling);
    meta_set(db, "precision", precision);
    meta_set(db, "dim", std::to_string(dim));
    if (!params.faiss_factory.empty()) meta_set(db, "index_factory", params.faiss_factory);
    if (params.make_previews) meta_set(db, "make_previews", *params.make_previews ? "1" : "0");
    if (model_changed) bump_generation(db);
    t.commit();
  }
  if (model_changed) {
    // Rows of the old model leave the store; each re-embedded row joins it again.
    lib.sem_.reset();
    lib.dim_ = dim;
  }
  if (!params.faiss_factory.empty() && lib.sem_ && lib.sem_->describe() != params.faiss_factory)
    sem_dirty = true;
}

IndexReport Indexer::run() {
  if (params.roots.empty()) throw Error("nothing to index: give at least one file or folder", ErrorCode::InvalidArgument);
  if (params.batch_size < 1) throw Error("the index batch size must be at least 1 (got " + std::to_string(params.batch_size) + ")",
                                           ErrorCode::InvalidArgument);
  std::vector<std::string> roots;
  for (const auto& r : params.roots) roots.push_back(normalize_path(r));
  const std::string model_dir = open_engine();
  report.stages.open_engine = now_s() - t_start;
  const double t_scan = now_s();

  emit("scan", 0, 0, 0, 0);
  const auto [shard, shards] = claim_shard();
  // Before anything is written to the collection (and before a model change empties it); a
  // new library's model is checked against the collection's first (one model per collection).
  lib.refuse_foreign_rows(db, lib.store_spec(db),
                          meta_get(db, "model_id").empty() ? model_identity_json(model_id, pooling, dim, shards) : "");
  auto scan = scan_roots(roots, lib.dir(), params.follow_symlinks, [&](int64_t n) { emit("scan", 0, n, 0, 0); });
  scan.files = keep_shard(scan.files, roots, shard, shards);
  report.scanned = static_cast<int64_t>(scan.files.size());
  CatalogFiles known = load_catalog_files();
  guard_roots(roots, scan, known);  // before anything is written
  stamp_model(known, model_dir);

  ChangeSet changes = scan_changes(roots, scan, known);
  apply_metadata_changes(changes);
  if (!changes.reread_metadata.empty()) refresh_metadata(changes.reread_metadata);
  report.stages.scan = now_s() - t_scan;
  if (!changes.jobs.empty()) pipeline(changes.jobs);
  const double t_finish = now_s();
  finish_stores();
  report.stages.finish = now_s() - t_finish;
  report.seconds = now_s() - t_start;
  emit("done", report.scanned, report.scanned, report.images_per_s, 0);
  return report;
}

}  // namespace vf::detail
