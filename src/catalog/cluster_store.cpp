// The cluster tables: clusters (run, cluster, label, size, representatives JSON) and
// cluster_members (run, photo_id, cluster, distance); only the latest run is kept.
#include <algorithm>

#include <nlohmann/json.hpp>

#include "catalog/catalog_reader.h"
#include "catalog/schema.h"

namespace vf::catalog {

using detail::Stmt;

int64_t CatalogReader::store_clusters(const ClusterRunToStore& in) const {
  int64_t run = 1;
  write_([&](sqlite3* db) {
    {
      Stmt st(db, "SELECT coalesce(max(run), 0) + 1 FROM clusters");
      if (st.step()) run = st.col_int64(0);
    }
    // Only the latest run is kept: the UI browses one clustering at a time.
    detail::exec_sql(db, "DELETE FROM cluster_members; DELETE FROM clusters;");
    Stmt ins(db, "INSERT INTO clusters (run, cluster, label, size, representatives) VALUES (?, ?, ?, ?, ?)");
    for (const auto& cl : in.result->clusters)
      ins.bind(1, run).bind(2, static_cast<int64_t>(cl.id)).bind(3, cl.label).bind(4, cl.size)
          .bind(5, nlohmann::json(cl.representatives).dump()).run();
    Stmt mem(db, "INSERT INTO cluster_members (run, photo_id, cluster, distance) VALUES (?, ?, ?, ?)");
    for (size_t i = 0; i < in.ids->size(); ++i)
      mem.bind(1, run).bind(2, (*in.ids)[i]).bind(3, static_cast<int64_t>((*in.assignment)[i]))
          .bind(4, static_cast<double>(1.0f - (*in.similarity)[i])).run();
    // Quality numbers go to the key-value meta table (the clusters table has no column).
    nlohmann::json q = {{"k", in.result->k}, {"inertia", in.result->inertia},
                        {"silhouette", in.result->silhouette}, {"run", run}};
    Stmt meta_st(db, "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)");
    meta_st.bind(1, std::string("clusters_quality")).bind(2, q.dump()).run();
  });
  return run;
}

std::optional<ClusterResult> CatalogReader::stored_clusters() const {
  std::lock_guard<std::mutex> lk(mutex_);
  sqlite3* db = db_.get();
  ClusterResult r;
  int64_t run = 0;
  {
    Stmt st(db, "SELECT max(run) FROM clusters");
    if (!st.step() || st.is_null(0)) return std::nullopt;
    run = st.col_int64(0);
  }
  Stmt st(db, "SELECT cluster, label, size, representatives FROM clusters WHERE run = ? ORDER BY size DESC, cluster");
  st.bind(1, run);
  while (st.step()) {
    Cluster c;
    c.id = static_cast<int>(st.col_int64(0));
    c.label = st.col_text(1);
    c.size = st.col_int64(2);
    auto j = nlohmann::json::parse(st.col_text(3), nullptr, false);
    if (j.is_array())
      for (const auto& v : j)
        if (v.is_number_integer()) c.representatives.push_back(v.get<int64_t>());
    r.clusters.push_back(std::move(c));
  }
  r.k = static_cast<int>(r.clusters.size());
  Stmt q(db, "SELECT value FROM meta WHERE key = 'clusters_quality'");
  if (q.step()) {
    auto j = nlohmann::json::parse(q.col_text(0), nullptr, false);
    if (j.is_object()) {
      r.k = j.value("k", r.k);
      r.inertia = j.value("inertia", 0.0);
      r.silhouette = j.value("silhouette", 0.0);
    }
  }
  return r;
}

std::vector<int64_t> CatalogReader::stored_cluster_members(int cluster, int limit, int offset) const {
  std::lock_guard<std::mutex> lk(mutex_);
  Stmt st(db_.get(),
          "SELECT photo_id FROM cluster_members WHERE run = (SELECT max(run) FROM clusters)"
          " AND cluster = ? ORDER BY distance, photo_id LIMIT ? OFFSET ?");
  st.bind(1, static_cast<int64_t>(cluster));
  st.bind(2, static_cast<int64_t>(std::max(limit, 0)));
  st.bind(3, static_cast<int64_t>(std::max(offset, 0)));
  std::vector<int64_t> ids;
  while (st.step()) ids.push_back(st.col_int64(0));
  return ids;
}

}  // namespace vf::catalog
