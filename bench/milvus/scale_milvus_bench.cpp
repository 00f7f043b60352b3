// The Milvus column of bench/run scale (bench/scale_milvus.sh starts the server and runs this):
//   scale_milvus_bench --addr HOST:PORT [--n 100000] [--dim 768] [--queries 200] [--seed 42]
//                      [--filter 0.1] [--ef 64,128,256 | --nprobe 16,32,64] [--index SPEC] [--batch 1000]
//                      [--rerank 0,30,100]
//                      [--server-pid PID] [--data-dir DIR] [--collection scale_bench] [--settle 120]
// On the SAME vectors as scale_bench (bench/scale_data.h, same seed; rows stream 0, queries
// stream 1, ids = row numbers, the same 10% filter drawn from mt19937_64(seed + 5)), through
// Viewfinder's own Milvus client (src/store/milvus/):
//   insert rate  batched upserts of all n rows (rows of the filter carry rating 1, the others
//                none), then a flush;
//   build time   flush + CreateIndex until every row is indexed, and the load into the query
//                node. --index takes what the store URL takes after `index=`
//                (store/milvus/milvus_index.h), e.g. HNSW (default: M 16, efConstruction 200),
//                "IVF_SQ8&nlist=1024", "IVF_PQ&nlist=1024&m=64"; unset keys are the store's
//                defaults; inner product;
//   latency      one query at a time, k = 10, Bounded consistency (what an interactive search
//                uses), p50/p99 wall per setting (ef for HNSW, nprobe for IVF), with and
//                without the filter, which is Viewfinder's own min_rating filter translated by
//                filters_to_expr (`has_rating == true && rating >= 1`, 10% of rows); the
//                filtered search uses the breadth the store uses under a filter for that
//                setting (milvus_index.h: HNSW ef >= 512, IVF 2 x nprobe);
//   recall@10    against exact inner-product search over the same vectors (filtered: over the
//                allowed rows only), computed here; with --rerank R (> 10) Milvus returns R
//                candidates and their top 10 by exact score count, as Viewfinder's searcher
//                re-ranks a store's candidates (30 for k = 10; at least 100 on lossy codes);
//   memory       the Milvus process's RSS growth (before the inserts -> loaded) per vector,
//                and the index files Milvus wrote (under --data-dir) per vector.
// Last line: {"rows": [...]} in bench/scale_report.py's row schema, "engine": "milvus".
#include <omp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "../bench_util.h"
#include "../scale_data.h"
#include "store/milvus/milvus_client.h"
#include "store/milvus/milvus_expr.h"

using json = nlohmann::json;
namespace fs = std::filesystem;
namespace mv = vf::milvus;

namespace {

using vf_bench::Args;
using vf_bench::loadavg;
using vf_bench::percentile;
using vf_bench::rss_bytes;
using vf_bench::thread_cpu_s;
using vf_bench::wall_s;

constexpr int kK = 10;

// utime + stime of a process (all its threads), seconds.
double process_cpu_s(int pid) {
  if (pid <= 0) return 0;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t close = all.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(all.substr(close + 2));
  std::string field;
  double ut = 0, st = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) ut = std::stod(field);
    if (i == 15) st = std::stod(field);
  }
  return (ut + st) / static_cast<double>(sysconf(_SC_CLK_TCK));
}
// Bytes of the index files Milvus wrote under its data directory (paths with "index_files").
double index_file_bytes(const std::string& data_dir) {
  if (data_dir.empty() || !fs::exists(data_dir)) return 0;
  double total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(data_dir, ec); it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (ec) break;
    if (it->is_regular_file(ec) && it->path().string().find("index_files") != std::string::npos)
      total += static_cast<double>(it->file_size(ec));
  }
  return total;
}



// Exact top-10 by inner product over the rows `rows` (all when null), for every query.
std::vector<int64_t> exact_top10(const std::vector<float>& x, int64_t n, int d, const std::vector<float>& q, int nq,
                                 const std::vector<int64_t>* rows) {
  std::vector<int64_t> out(static_cast<size_t>(nq) * kK, -1);
#pragma omp parallel for schedule(dynamic)
  for (int i = 0; i < nq; ++i) {
    std::vector<std::pair<float, int64_t>> s;
    const int64_t m = rows ? static_cast<int64_t>(rows->size()) : n;
    s.reserve(m);
    for (int64_t j = 0; j < m; ++j) {
      const int64_t id = rows ? (*rows)[j] : j;
      const float* v = &x[static_cast<size_t>(id) * d];
      const float* qq = &q[static_cast<size_t>(i) * d];
      float dot = 0;
      for (int t = 0; t < d; ++t) dot += v[t] * qq[t];
      s.push_back({-dot, id});
    }
    const size_t top = std::min<size_t>(kK, s.size());
    std::partial_sort(s.begin(), s.begin() + top, s.end());
    for (size_t j = 0; j < top; ++j) out[static_cast<size_t>(i) * kK + j] = s[j].second;
  }
  return out;
}

struct Workload {
  int64_t n;
  int d, nq;
  std::vector<float> x, q;
  std::vector<int64_t> allowed;  // sorted row ids the filter lets through
  std::vector<int64_t> truth, truth_filtered;
};

// One search setting over all queries, one at a time: p50/p99 wall, the Milvus process's CPU
// per query, recall@10 against `truth`.
// The top 10 of `hits` by exact inner product with query `qi` (what Viewfinder's searcher does
// with a store's candidates, from the catalog's vectors).
std::vector<mv::SearchHit> rerank_exact(const Workload& w, int qi, std::vector<mv::SearchHit> hits) {
  const float* q = &w.q[static_cast<size_t>(qi) * w.d];
  for (auto& h : hits) {
    const float* v = &w.x[static_cast<size_t>(h.id) * w.d];
    float dot = 0;
    for (int t = 0; t < w.d; ++t) dot += v[t] * q[t];
    h.score = dot;
  }
  const size_t top = std::min<size_t>(kK, hits.size());
  std::partial_sort(hits.begin(), hits.begin() + top, hits.end(),
                    [](const mv::SearchHit& a, const mv::SearchHit& b) { return a.score > b.score; });
  hits.resize(top);
  return hits;
}

// `rerank` > 10: Milvus returns that many candidates and the top 10 are re-ranked exactly
// (timed with the search).
json measure(mv::Client& client, const std::string& coll, const Workload& w, const mv::SearchBreadth& breadth,
             const std::string& expr, const std::vector<int64_t>& truth, int server_pid, int rerank) {
  mv::SearchRequest req;
  req.k = std::max(kK, rerank);
  req.expr = expr;
  req.consistency = mv::Consistency::Bounded;
  req.hnsw_ef = breadth.ef;
  req.ivf_nprobe = breadth.nprobe;
  std::vector<double> wall, client_cpu;
  int64_t hits = 0;
  const int warm = std::min(5, w.nq);
  double server_cpu0 = 0;
  for (int i = -warm; i < w.nq; ++i) {
    const int qi = i < 0 ? i + warm : i;
    req.query.assign(w.q.begin() + static_cast<size_t>(qi) * w.d, w.q.begin() + static_cast<size_t>(qi + 1) * w.d);
    if (i == 0) server_cpu0 = process_cpu_s(server_pid);
    const double t0 = wall_s(), c0 = thread_cpu_s();
    auto res = client.search(coll, req);
    if (rerank > kK) res = rerank_exact(w, qi, std::move(res));
    const double dt = wall_s() - t0, dc = thread_cpu_s() - c0;
    if (i < 0) continue;
    wall.push_back(dt * 1e3);
    client_cpu.push_back(dc * 1e3);
    for (const auto& h : res)
      for (int j = 0; j < kK; ++j)
        if (truth[static_cast<size_t>(i) * kK + j] == h.id) {
          ++hits;
          break;
        }
  }
  const double server_cpu_ms = (process_cpu_s(server_pid) - server_cpu0) * 1e3 / std::max(1, w.nq);
  const double client_p50 = percentile(client_cpu, 0.5);
  return {{"supported", true},
          {"search_params", {{"ef", breadth.ef}, {"nprobe", breadth.nprobe}}},
          {"p50_ms", percentile(wall, 0.5)},
          {"p99_ms", percentile(wall, 0.99)},
          // Milvus answers in another process: its CPU per query is the server's utime+stime
          // over the run / queries (a mean over all its threads, background work included),
          // plus this client's own CPU. Not a percentile, unlike FAISS's thread CPU time.
          {"p50_cpu_ms", server_pid > 0 ? server_cpu_ms + client_p50 : percentile(wall, 0.5)},
          {"p99_cpu_ms", server_pid > 0 ? server_cpu_ms + percentile(client_cpu, 0.99) : percentile(wall, 0.99)},
          {"cpu_kind", server_pid > 0 ? "mean Milvus process CPU per query + client thread CPU" : "wall (no server pid)"},
          {"server_cpu_ms_per_query", server_cpu_ms},
          {"client_cpu_p50_ms", client_p50},
          {"recall_at_10", hits / (w.nq * double(kK))},
          {"queries", w.nq}};
}

Workload make_workload(const Args& a) {
  Workload w;
  w.n = std::stoll(a.get("n", "100000"));
  w.d = std::stoi(a.get("dim", "768"));
  w.nq = std::stoi(a.get("queries", "200"));
  vf_bench::MixtureSpec spec;
  spec.dim = w.d;
  spec.seed = std::stoull(a.get("seed", "42"));
  vf_bench::SyntheticEmbeddings gen(spec);
  w.x.resize(static_cast<size_t>(w.n) * w.d);
  gen.fill(0, w.n, w.x.data(), 0);
  w.q.resize(static_cast<size_t>(w.nq) * w.d);
  gen.fill(0, w.nq, w.q.data(), 1);
  const double frac = std::stod(a.get("filter", "0.1"));
  std::mt19937_64 frng(spec.seed + 5);  // the same draw as scale_bench.cpp
  for (int64_t i = 0; i < w.n; ++i)
    if (static_cast<double>(frng() >> 11) * (1.0 / 9007199254740992.0) < frac) w.allowed.push_back(i);
  const double t = wall_s();
  w.truth = exact_top10(w.x, w.n, w.d, w.q, w.nq, nullptr);
  w.truth_filtered = exact_top10(w.x, w.n, w.d, w.q, w.nq, &w.allowed);
  std::cerr << "generated " << w.n << " x " << w.d << ", exact top-10 in " << wall_s() - t << " s\n";
  return w;
}

// Upserts every row (filter rows with rating 1) in batches; returns seconds.
double insert_all(mv::Client& client, const std::string& coll, const Workload& w, int batch) {
  std::vector<char> in_filter(static_cast<size_t>(w.n), 0);
  for (int64_t id : w.allowed) in_filter[id] = 1;
  const double t0 = wall_s();
  for (int64_t first = 0; first < w.n; first += batch) {
    const int64_t end = std::min<int64_t>(w.n, first + batch);
    std::vector<mv::PhotoRow> rows(static_cast<size_t>(end - first));
    for (int64_t i = first; i < end; ++i) {
      auto& r = rows[i - first];
      r.id = i;
      r.vector.assign(w.x.begin() + i * w.d, w.x.begin() + (i + 1) * w.d);
      r.fields.path = "/bench/" + std::to_string(i) + ".jpg";
      r.fields.folder = "/bench";
      r.fields.format = "jpeg";
      r.fields.has_rating = in_filter[i] != 0;
      r.fields.rating = in_filter[i] ? 1 : 0;
    }
    client.upsert(coll, rows);
  }
  return wall_s() - t0;
}

// Waits until every row's segment is indexed (DescribeIndex: state Finished, indexed_rows >=
// n): the build time. Milvus 2.3.5 then keeps compacting the flushed segments and indexing the
// merged ones (its pending_index_rows went 75k -> 25k -> 100k -> 75k for minutes at 100k), so
// waiting for pending == 0 may not end: that background work is waited for at most
// `settle_s` more and reported (pending_rows_at_measure), not counted as build time.
int64_t wait_indexed(mv::Client& client, const std::string& coll, int64_t n, double settle_s) {
  const double until = wall_s() + 3600;
  double last_note = 0, built_at = 0;
  while (true) {
    auto p = client.index_progress(coll);
    if (p.state == "Failed") throw std::runtime_error("Milvus index build failed: " + p.fail_reason);
    const bool built = p.indexed_rows >= n && p.state == "Finished";
    if (built && built_at == 0) built_at = wall_s();
    if (built && (p.pending_rows == 0 || wall_s() - built_at > settle_s)) return p.pending_rows;
    if (wall_s() > until) throw std::runtime_error("Milvus index build not done within an hour");
    if (wall_s() - last_note > 30) {
      std::cerr << "  index: " << p.indexed_rows << "/" << p.total_rows << " rows, " << p.pending_rows
                << " pending, " << p.state << " (load " << loadavg() << ")\n";
      last_note = wall_s();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

// The loaded segments: waits (at most settle_s) until every one is searched with its index;
// returns {segments, rows, rows without an index, mem_bytes (0 from Milvus 2.3.5)} as JSON.
json wait_loaded_indexed(mv::Client& client, const std::string& coll, double settle_s) {
  const double until = wall_s() + settle_s;
  while (true) {
    const auto segs = client.loaded_segments(coll);
    int64_t unindexed = 0, mem = 0, rows = 0;
    for (const auto& s : segs) {
      rows += s.rows;
      mem += s.mem_bytes;
      if (s.index_id == 0) unindexed += s.rows;
    }
    if ((unindexed == 0 && !segs.empty()) || wall_s() > until)
      return {{"segments", segs.size()}, {"rows", rows}, {"unindexed_rows", unindexed}, {"mem_bytes", mem}};
    std::this_thread::sleep_for(std::chrono::seconds(2));
  }
}

int run(const Args& a) {
  const std::string addr = a.get("addr", "127.0.0.1:19530");
  const std::string coll = a.get("collection", "scale_bench");
  // The index as the store URL names it: "IVF_SQ8&nlist=1024" = ?index=IVF_SQ8&nlist=1024.
  const mv::IndexSpec spec = mv::parse_index_query("index=" + a.get("index", "HNSW"));
  const bool hnsw = spec.type == "HNSW";
  const int server_pid = std::stoi(a.get("server-pid", "0"));
  const std::string data_dir = a.get("data-dir", "");
  json out{{"bench", "scale_milvus"}, {"load_start", loadavg()}};
  Workload w = make_workload(a);

  mv::ClientOptions opt;
  opt.address = addr;
  opt.call_timeout_ms = 600000;
  opt.load_timeout_ms = 3600000;
  opt.flush_timeout_ms = 3600000;
  opt.upsert_batch_rows = static_cast<size_t>(std::stoi(a.get("batch", "1000")));
  mv::Client client(opt);
  out["server_version"] = client.server_version();
  client.drop_collection(coll);
  client.create_collection(coll, w.d);

  const double rss0 = rss_bytes(server_pid), files0 = index_file_bytes(data_dir);
  const double insert_s = insert_all(client, coll, w, static_cast<int>(opt.upsert_batch_rows));
  std::cerr << "inserted " << w.n << " rows in " << insert_s << " s (" << w.n / insert_s << "/s, load " << loadavg()
            << ")\n";
  double t = wall_s();
  client.flush(coll);
  const double flush_s = wall_s() - t;
  t = wall_s();
  client.create_index(coll, mv::resolved_for_dim(spec, w.d));
  wait_indexed(client, coll, w.n, 0);
  const double index_s = wall_s() - t;
  const int64_t pending = wait_indexed(client, coll, w.n, std::stod(a.get("settle", "120")));
  t = wall_s();
  client.load(coll);
  const double load_s = wall_s() - t;
  std::cerr << "flush " << flush_s << " s, index " << index_s << " s, load " << load_s << " s\n";
  const double rss_growth = rss_bytes(server_pid) - rss0, files = index_file_bytes(data_dir) - files0;
  // Every loaded segment searched with its index before the queries (GetQuerySegmentInfo;
  // its mem_size is 0 in Milvus 2.3.5, so memory stays the RSS and index-file figures).
  const json loaded = wait_loaded_indexed(client, coll, std::stod(a.get("settle", "120")));
  std::cerr << "loaded segments: " << loaded.dump() << "\n";

  vf::Filters f;
  f.min_rating = 1;
  const std::string expr = mv::filters_to_expr(f);
  const std::string setting_name = hnsw ? "ef" : "nprobe";
  const std::string index_name = mv::describe_build(mv::resolved_for_dim(spec, w.d));
  json rows = json::array();
  for (int knob : a.list(setting_name, hnsw ? "64,128,256" : "16,32,64"))
  for (int rerank : a.list("rerank", "0")) {
    mv::IndexSpec at = spec;  // this setting, and the store's wider breadth under a filter
    (hnsw ? at.ef : at.nprobe) = knob;
    json row{{"engine", "milvus"}, {"index", index_name}, {"n", w.n}, {"setting", {{setting_name, knob}, {"rerank", rerank}}},
             {"train_s", 0.0}, {"build_s", flush_s + index_s + load_s}, {"insert_per_s", w.n / insert_s},
             {"bytes_per_vector", files > 0 ? files / w.n : rss_growth / w.n},
             {"rss_growth_per_vector", rss_growth / w.n}, {"load", loadavg()}};
    row["plain"] = measure(client, coll, w, mv::search_breadth(at, false), "", w.truth, server_pid, rerank);
    row["filtered"] = measure(client, coll, w, mv::search_breadth(at, true), expr, w.truth_filtered, server_pid, rerank);
    const auto &p = row["plain"], &fl = row["filtered"];
    std::cerr << "  milvus " << index_name << " " << setting_name << "=" << knob << " rerank " << rerank << ": p50 " << p["p50_ms"] << " ms, p99 "
              << p["p99_ms"] << ", recall " << p["recall_at_10"] << " | filtered p50 " << fl["p50_ms"] << ", recall "
              << fl["recall_at_10"] << " (load " << loadavg() << ")\n";
    rows.push_back(row);
  }
  out["rows"] = rows;
  out["n"] = w.n;
  out["dim"] = w.d;
  out["queries"] = w.nq;
  out["filter_expr"] = expr;
  out["filter_rows"] = w.allowed.size();
  out["insert_s"] = insert_s;
  out["flush_s"] = flush_s;
  out["index_build_s"] = index_s;
  out["load_s"] = load_s;
  out["pending_rows_at_measure"] = pending;  // segments of a compaction still being indexed
  out["loaded_segments"] = loaded;           // at the start of the queries
  out["loaded_segments_end"] = wait_loaded_indexed(client, coll, 0);
  out["index_file_bytes"] = files;
  out["rss_growth_bytes"] = rss_growth;
  out["server_rss_bytes"] = rss_bytes(server_pid);
  out["consistency"] = "Bounded";
  out["load_end"] = loadavg();
  client.drop_collection(coll);
  std::cout << out.dump() << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--help" || std::string(argv[i]) == "-h") {
      std::cerr << "usage: scale_milvus_bench --addr HOST:PORT [--n N] [--dim D] [--queries Q] [--seed S] [--filter F]\n"
                   "  [--ef a,b | --nprobe a,b] [--index HNSW|'IVF_SQ8&nlist=1024'|...] [--batch B] [--server-pid PID]\n"
                   "  [--data-dir DIR] [--rerank 0,30,100]\n";
      return 0;
    }
  try {
    return run(Args{argc, argv});
  } catch (const std::exception& e) {
    std::cerr << "scale_milvus_bench: " << e.what() << "\n";
    return 1;
  }
}
