// The cluster tables: clusters (run, cluster, label, size, representatives JSON),
// cluster_members (run, photo_id, cluster, distance) and cluster_labels (run, cluster, the
// user's name, the label's facts as JSON); only the latest run is kept. cluster_labels came
// later than the others: catalogs made before it lack it until their next write, so every
// read checks for it.
#include <algorithm>
#include <map>

#include <nlohmann/json.hpp>

#include "catalog/catalog_reader.h"
#include "catalog/schema.h"

namespace vf::catalog {

using detail::Stmt;

namespace {

constexpr const char* kLabelsDdl =
    "CREATE TABLE IF NOT EXISTS cluster_labels (run INTEGER, cluster INTEGER, name TEXT, facts TEXT,"
    " PRIMARY KEY(run, cluster))";

bool has_labels_table(sqlite3* db) {
  Stmt st(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'cluster_labels'");
  return st.step();
}

// The user's names of the stored run, handed to the new clusters: each goes to the new cluster
// holding most of its photos when that is at least half of them; two names wanting the same
// new cluster: the larger overlap wins. Returns new cluster -> name.
std::map<int, std::string> carried_names(sqlite3* db, const ClusterRunToStore& in) {
  std::map<int, std::string> out;
  if (!has_labels_table(db)) return out;
  std::map<int64_t, int> new_cluster;
  for (size_t i = 0; i < in.ids->size(); ++i) new_cluster[(*in.ids)[i]] = (*in.assignment)[i];
  std::map<int, std::pair<int64_t, std::string>> best;  // new cluster -> (overlap, name)
  Stmt named(db, "SELECT l.cluster, l.name FROM cluster_labels l WHERE l.run = (SELECT max(run) FROM clusters)"
                 " AND l.name IS NOT NULL AND l.name != ''");
  while (named.step()) {
    const int64_t old = named.col_int64(0);
    std::map<int, int64_t> overlap;
    int64_t members = 0;
    Stmt m(db, "SELECT photo_id FROM cluster_members WHERE run = (SELECT max(run) FROM clusters) AND cluster = ?");
    m.bind(1, old);
    while (m.step()) {
      ++members;
      auto it = new_cluster.find(m.col_int64(0));
      if (it != new_cluster.end()) ++overlap[it->second];
    }
    auto top = std::max_element(overlap.begin(), overlap.end(),
                                [](const auto& a, const auto& b) { return a.second < b.second; });
    if (top == overlap.end() || 2 * top->second < members) continue;
    auto& slot = best[top->first];
    if (top->second > slot.first) slot = {top->second, named.col_text(1)};
  }
  for (const auto& [cluster, pick] : best) out[cluster] = pick.second;
  return out;
}

nlohmann::json facts_json(const std::vector<ClusterFact>& facts) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& f : facts) j.push_back({{"kind", f.kind}, {"text", f.text}, {"share", f.share}});
  return j;
}

}  // namespace

int64_t CatalogReader::store_clusters(const ClusterRunToStore& in) const {
  int64_t run = 1;
  write_([&](sqlite3* db) {
    {
      Stmt st(db, "SELECT coalesce(max(run), 0) + 1 FROM clusters");
      if (st.step()) run = st.col_int64(0);
    }
    detail::exec_sql(db, kLabelsDdl);
    const auto names = carried_names(db, in);
    // Only the latest run is kept: the UI browses one clustering at a time.
    detail::exec_sql(db, "DELETE FROM cluster_members; DELETE FROM clusters; DELETE FROM cluster_labels;");
    Stmt ins(db, "INSERT INTO clusters (run, cluster, label, size, representatives) VALUES (?, ?, ?, ?, ?)");
    Stmt lab(db, "INSERT INTO cluster_labels (run, cluster, name, facts) VALUES (?, ?, ?, ?)");
    for (auto& cl : in.result->clusters) {
      auto named = names.find(cl.id);
      cl.name = named == names.end() ? "" : named->second;
      ins.bind(1, run).bind(2, static_cast<int64_t>(cl.id)).bind(3, cl.label).bind(4, cl.size)
          .bind(5, nlohmann::json(cl.representatives).dump()).run();
      lab.bind(1, run).bind(2, static_cast<int64_t>(cl.id)).bind_text_or_null(3, cl.name)
          .bind(4, facts_json(cl.facts).dump()).run();
    }
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
  if (has_labels_table(db)) {
    Stmt lab(db, "SELECT cluster, coalesce(name, ''), facts FROM cluster_labels WHERE run = ?");
    lab.bind(1, run);
    std::map<int, Cluster*> by_id;
    for (auto& c : r.clusters) by_id[c.id] = &c;
    while (lab.step()) {
      auto it = by_id.find(static_cast<int>(lab.col_int64(0)));
      if (it == by_id.end()) continue;
      it->second->name = lab.col_text(1);
      auto j = nlohmann::json::parse(lab.col_text(2), nullptr, false);
      if (j.is_array())
        for (const auto& f : j)
          if (f.is_object())
            it->second->facts.push_back({f.value("kind", ""), f.value("text", ""), f.value("share", 0.0)});
    }
  }
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

bool CatalogReader::rename_cluster(int cluster, const std::string& name) const {
  bool found = false;
  write_([&](sqlite3* db) {
    int64_t run = 0;
    {
      Stmt st(db, "SELECT run FROM clusters WHERE cluster = ? AND run = (SELECT max(run) FROM clusters)");
      st.bind(1, static_cast<int64_t>(cluster));
      if (!st.step()) return;
      run = st.col_int64(0);
    }
    found = true;
    detail::exec_sql(db, kLabelsDdl);
    // A catalog from before cluster_labels has no row for the cluster yet: insert, keep facts.
    Stmt up(db, "INSERT INTO cluster_labels (run, cluster, name, facts) VALUES (?, ?, ?, '[]')"
                " ON CONFLICT(run, cluster) DO UPDATE SET name = excluded.name");
    up.bind(1, run).bind(2, static_cast<int64_t>(cluster)).bind_text_or_null(3, name).run();
  });
  return found;
}

}  // namespace vf::catalog
