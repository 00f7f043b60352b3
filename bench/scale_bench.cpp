// Scale benchmark, FAISS columns (driven by bench/scale.sh = `bench/run scale`):
//
//   scale_bench rerank-cost [--rows 200000] [--rerank 50,100,200]   (re-rank from SQLite rows)
//   scale_bench [--n 1000000] [--dim 768] [--queries 200] [--stages 250000,500000]
//               [--candidates flat,ivfpq,ivfsq4,ivfsq8,hnsw] [--nlist 4096] [--pq-m 64]
//               [--train 65536] [--nprobe 16,32,64,128,256] [--rerank 0,50,100,200]
//               [--ef 32,64,128,256] [--filter 0.1] [--flat-queries 50] [--seed 42]
//
// On one set of clustered synthetic embeddings (bench/scale_data.h), grown in stages (the
// index is added to, never rebuilt, so each stage is a measured point of the n-model):
//   insert rate, train/build time (all threads), serialized index bytes and RSS growth per
//   vector, and per search setting (nprobe / efSearch x re-rank depth R) single-query latency
//   on ONE thread (omp_set_num_threads(1)) p50/p99, wall and thread-CPU time, with and
//   without a filter (an IDSelector allowing `filter` of the ids, binary search over sorted
//   ids as src/search/faiss_search.cpp does), recall@10 against exact search (filtered: against
//   exact search over the allowed ids).
// Re-rank: the index returns R candidates, their inner products are recomputed from the full
// vectors (in Viewfinder those live in the SQLite catalog as fp16 and are NOT index memory;
// here they are the fp32 rows in RAM, so the timing covers the arithmetic, not the fetch).
// The coarse quantizer is trained once and shared by all IVF candidates, and the assignment of
// every vector to a list is computed once (its time is charged to every IVF candidate).
// Human-readable lines on stderr; one JSON object on stdout.
#include "common/half.h"

#include <faiss/Clustering.h>
#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/IndexScalarQuantizer.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/impl/io.h>
#include <faiss/index_io.h>
#include <faiss/utils/distances.h>
#include <omp.h>
#include <sqlite3.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "bench_util.h"
#include "scale_data.h"

using nlohmann::json;
using idx_t = faiss::Index::idx_t;

namespace {

using vf_bench::Args;
using vf_bench::loadavg;
using vf_bench::percentile;
using vf_bench::rss_bytes;
using vf_bench::thread_cpu_s;
using vf_bench::wall_s;

// Same membership test as src/search/faiss_search.cpp (binary search on sorted catalog ids).
struct SortedIdSelector : faiss::IDSelector {
  const std::vector<idx_t>& ids;
  explicit SortedIdSelector(const std::vector<idx_t>& ids) : ids(ids) {}
  bool is_member(idx_t id) const override { return std::binary_search(ids.begin(), ids.end(), id); }
};

struct CountingWriter : faiss::IOWriter {
  size_t bytes = 0;
  size_t operator()(const void*, size_t size, size_t nitems) override {
    bytes += size * nitems;
    return nitems;
  }
};

struct Candidate {
  Candidate(std::string name, std::string kind, faiss::Index* index = nullptr)
      : name(std::move(name)), kind(std::move(kind)), index(index) {}
  std::string name;  // the index_factory string it corresponds to
  std::string kind;  // flat | ivf | hnsw
  faiss::Index* index = nullptr;
  std::unique_ptr<faiss::Index> owned;
  std::vector<int64_t> knobs{0};  // nprobe (ivf) or efSearch (hnsw)
  std::vector<int64_t> reranks{0};
  double train_s = 0, add_s = 0, rss_growth = 0;
  bool shares_assignment = false;
};


struct Truth {
  std::vector<idx_t> plain, filtered;  // nq x 10
};

constexpr int kK = 10;

class Bench {
 public:
  Bench(const float* x, int d, const std::vector<float>& q, const std::vector<idx_t>& allowed)
      : x_(x), d_(d), q_(q), nq_(static_cast<int>(q.size() / d)), allowed_(allowed), sel_(allowed),
        bits_(allowed.empty() ? 1 : allowed.back() / 8 + 1, 0),
        bitmap_((allow_bits(), bits_.size()), bits_.data()) {}

  Truth exact(const faiss::IndexFlatIP& flat, int64_t m) const {
    Truth t;
    t.plain.resize(static_cast<size_t>(nq_) * kK);
    std::vector<float> D(static_cast<size_t>(nq_) * kK);
    flat.search(nq_, q_.data(), kK, D.data(), t.plain.data());
    t.filtered.assign(static_cast<size_t>(nq_) * kK, -1);
    auto end = std::lower_bound(allowed_.begin(), allowed_.end(), static_cast<idx_t>(m));
#pragma omp parallel for schedule(dynamic)
    for (int i = 0; i < nq_; ++i) {
      std::vector<std::pair<float, idx_t>> s;
      s.reserve(end - allowed_.begin());
      for (auto it = allowed_.begin(); it != end; ++it)
        s.push_back({-faiss::fvec_inner_product(&q_[static_cast<size_t>(i) * d_], x_ + *it * d_, d_), *it});
      size_t top = std::min<size_t>(kK, s.size());
      std::partial_sort(s.begin(), s.begin() + top, s.end());
      for (size_t j = 0; j < top; ++j) t.filtered[i * kK + j] = s[j].second;
    }
    return t;
  }

  // One search setting over all queries on one thread; nullopt-like json null when the index
  // refuses a selector (FAISS throws).
  // bitmap: the filter as a bit per id (O(1) membership) instead of the binary search.
  json measure(const Candidate& c, int64_t knob, int64_t rerank, const std::vector<idx_t>& truth, bool filtered,
               int queries, bool bitmap = false) const {
    const faiss::IDSelector* sel = !filtered ? nullptr : bitmap ? static_cast<const faiss::IDSelector*>(&bitmap_) : &sel_;
    const int kk = static_cast<int>(std::max<int64_t>(kK, rerank));
    std::vector<float> D(kk);
    std::vector<idx_t> I(kk), top(kK);
    std::vector<double> wall, cpu, rr;
    double hits = 0;
    const int warm = std::min(5, queries);
    try {
      for (int i = -warm; i < queries; ++i) {
        const float* qi = &q_[static_cast<size_t>((i + nq_) % nq_) * d_];
        double t0 = wall_s(), c0 = thread_cpu_s();
        base_search(c, knob, kk, qi, sel, D.data(), I.data());
        double t1 = wall_s();
        if (rerank > 0) rerank_top(qi, I, top);
        else std::copy(I.begin(), I.begin() + kK, top.begin());
        double t2 = wall_s(), c2 = thread_cpu_s();
        if (i < 0) continue;
        wall.push_back((t2 - t0) * 1e3);
        cpu.push_back((c2 - c0) * 1e3);
        rr.push_back((t2 - t1) * 1e3);
        const idx_t* tr = &truth[static_cast<size_t>(i) * kK];
        for (int j = 0; j < kK; ++j)
          if (top[j] >= 0 && std::find(tr, tr + kK, top[j]) != tr + kK) ++hits;
      }
    } catch (const faiss::FaissException& e) {
      return json{{"supported", false}, {"why", std::string(e.what()).substr(0, 200)}};
    }
    return json{{"supported", true},         {"p50_ms", percentile(wall, 0.5)}, {"p99_ms", percentile(wall, 0.99)},
                {"p50_cpu_ms", percentile(cpu, 0.5)}, {"p99_cpu_ms", percentile(cpu, 0.99)},
                {"rerank_p50_ms", percentile(rr, 0.5)}, {"recall_at_10", hits / (queries * double(kK))},
                {"queries", queries}};
  }

  int nq() const { return nq_; }

 private:
  void base_search(const Candidate& c, int64_t knob, int kk, const float* q, const faiss::IDSelector* sel, float* D,
                   idx_t* I) const {
    if (c.kind == "ivf") {
      faiss::SearchParametersIVF p;
      p.nprobe = static_cast<size_t>(knob);
      p.sel = const_cast<faiss::IDSelector*>(sel);  // FAISS 1.7.3 takes a non-const pointer
      c.index->search(1, q, kk, D, I, &p);
    } else if (c.kind == "hnsw") {
      faiss::SearchParametersHNSW p;
      p.efSearch = static_cast<int>(std::max<int64_t>(knob, kk));
      // FAISS 1.7.3 reads efSearch from the index in part of its search: set both.
      dynamic_cast<faiss::IndexHNSW*>(c.index)->hnsw.efSearch = p.efSearch;
      p.sel = const_cast<faiss::IDSelector*>(sel);  // FAISS 1.7.3 takes a non-const pointer
      c.index->search(1, q, kk, D, I, &p);
    } else if (sel) {
      faiss::SearchParameters p;
      p.sel = const_cast<faiss::IDSelector*>(sel);  // FAISS 1.7.3 takes a non-const pointer
      c.index->search(1, q, kk, D, I, &p);
    } else {
      c.index->search(1, q, kk, D, I);
    }
  }

  // Exact inner products of the R candidates from the full vectors, top 10 of them.
  void rerank_top(const float* q, const std::vector<idx_t>& cand, std::vector<idx_t>& top) const {
    std::vector<std::pair<float, idx_t>> s;
    s.reserve(cand.size());
    for (idx_t id : cand)
      if (id >= 0) s.push_back({-faiss::fvec_inner_product(q, x_ + id * d_, d_), id});
    size_t keep = std::min<size_t>(kK, s.size());
    std::partial_sort(s.begin(), s.begin() + keep, s.end());
    std::fill(top.begin(), top.end(), -1);
    for (size_t j = 0; j < keep; ++j) top[j] = s[j].second;
  }

  const float* x_;
  int d_;
  const std::vector<float>& q_;
  int nq_;
  const std::vector<idx_t>& allowed_;
  SortedIdSelector sel_;
  std::vector<uint8_t> bits_;
  faiss::IDSelectorBitmap bitmap_;
  int allow_bits() {
    for (idx_t id : allowed_) bits_[id / 8] |= static_cast<uint8_t>(1u << (id % 8));
    return 0;
  }
};

size_t serialized_bytes(const faiss::Index* index) {
  CountingWriter w;
  faiss::write_index(index, &w);
  return w.bytes;
}

// Cosine statistics of the data, so a reader can compare it with real embeddings.
json data_stats(const float* x, int64_t m, int d, const std::vector<float>& q, const Truth& t) {
  const int nq = static_cast<int>(q.size() / d);
  double nn1 = 0, nn10 = 0, rnd = 0;
  std::mt19937_64 rng(7);
  for (int i = 0; i < nq; ++i) {
    const float* qi = &q[static_cast<size_t>(i) * d];
    nn1 += faiss::fvec_inner_product(qi, x + t.plain[i * kK] * d, d);
    nn10 += faiss::fvec_inner_product(qi, x + t.plain[i * kK + kK - 1] * d, d);
    for (int r = 0; r < 20; ++r) rnd += faiss::fvec_inner_product(qi, x + static_cast<int64_t>(rng() % m) * d, d);
  }
  return json{{"cos_nn1", nn1 / nq}, {"cos_nn10", nn10 / nq}, {"cos_random_pair", rnd / (nq * 20.0)}};
}

std::vector<Candidate> make_candidates(const Args& a, int d, int64_t n, const std::vector<float>& sample,
                                       faiss::IndexFlatIP& flat, faiss::IndexFlatIP& quantizer, double* coarse_s) {
  std::vector<Candidate> out;
  std::string wanted = "," + a.get("candidates", "flat,ivfpq,ivfsq4,ivfsq8,hnsw") + ",";
  const int64_t nt = static_cast<int64_t>(sample.size() / d);
  const size_t nlist = std::stoul(a.get("nlist", "4096"));
  const int pq_m = std::stoi(a.get("pq-m", "64"));
  const auto nprobes = a.list("nprobe", "16,32,64,128,256");
  const bool any_ivf = wanted.find(",ivf") != std::string::npos;
  if (wanted.find(",flat,") != std::string::npos) {
    Candidate c{"Flat", "flat", &flat};
    out.push_back(std::move(c));
  }
  if (any_ivf) {  // shared coarse quantizer: k-means once (10 iterations, spherical off as index_factory)
    faiss::ClusteringParameters cp;
    cp.niter = 10;
    faiss::Clustering clus(d, static_cast<int>(nlist), cp);
    double t = wall_s();
    clus.train(nt, sample.data(), quantizer);
    *coarse_s = wall_s() - t;
    std::cerr << "coarse quantizer: " << nlist << " lists from " << nt << " vectors in " << *coarse_s << " s\n";
  }
  auto add_ivf = [&](std::string name, faiss::IndexIVF* ivf, std::vector<int64_t> reranks) {
    Candidate c{name, "ivf"};
    c.owned.reset(ivf);
    c.index = ivf;
    c.knobs = nprobes;
    c.reranks = std::move(reranks);
    c.shares_assignment = true;
    double t = wall_s();
    ivf->train(nt, sample.data());  // quantizer already trained: trains the codec only
    c.train_s = *coarse_s + (wall_s() - t);
    out.push_back(std::move(c));
  };
  const std::string sl = "IVF" + std::to_string(nlist);
  if (wanted.find(",ivfpq,") != std::string::npos)
    add_ivf(sl + ",PQ" + std::to_string(pq_m),
            new faiss::IndexIVFPQ(&quantizer, d, nlist, pq_m, 8, faiss::METRIC_INNER_PRODUCT),
            a.list("rerank", "0,50,100,200"));
  // SQ8 distances are near exact (a re-rank changes nothing); SQ4 gets one re-rank depth.
  for (auto [tag, qt, label, rr] :
       {std::tuple{",ivfsq4,", faiss::ScalarQuantizer::QT_4bit, ",SQ4", std::vector<int64_t>{0, 100}},
        std::tuple{",ivfsq8,", faiss::ScalarQuantizer::QT_8bit, ",SQ8", std::vector<int64_t>{0}}})
    if (wanted.find(tag) != std::string::npos)
      add_ivf(sl + label, new faiss::IndexIVFScalarQuantizer(&quantizer, d, nlist, qt, faiss::METRIC_INNER_PRODUCT),
              rr);
  if (wanted.find(",hnsw,") != std::string::npos && n <= std::stoll(a.get("hnsw-max-n", "200000"))) {
    auto* h = new faiss::IndexHNSWSQ(d, faiss::ScalarQuantizer::QT_8bit, 32, faiss::METRIC_INNER_PRODUCT);
    h->hnsw.efConstruction = 80;  // as src/library/vector_index.cpp builds it
    Candidate c{"HNSW32,SQ8", "hnsw"};
    c.owned.reset(h);
    c.index = h;
    c.knobs = a.list("ef", "32,64,128,256");
    double t = wall_s();
    h->train(nt, sample.data());
    c.train_s = wall_s() - t;
    out.push_back(std::move(c));
  } else if (wanted.find(",hnsw,") != std::string::npos) {
    std::cerr << "HNSW32,SQ8 skipped above --hnsw-max-n (its build on 2 shared cores is hours at 1M): "
                 "measure it at 100k and extrapolate\n";
  }
  return out;
}

int run(const Args& a) {
  const int64_t n = std::stoll(a.get("n", "1000000"));
  const int d = std::stoi(a.get("dim", "768"));
  const int nq = std::stoi(a.get("queries", "200"));
  const int flat_queries = std::stoi(a.get("flat-queries", "50"));
  const double filter_frac = std::stod(a.get("filter", "0.1"));
  std::vector<int64_t> stages = a.list("stages", std::to_string(n / 4) + "," + std::to_string(n / 2));
  stages.push_back(n);
  stages.erase(std::remove_if(stages.begin(), stages.end(), [&](int64_t s) { return s <= 0 || s > n; }), stages.end());
  std::sort(stages.begin(), stages.end());
  stages.erase(std::unique(stages.begin(), stages.end()), stages.end());
  const int threads_all = omp_get_max_threads();
  json out{{"bench", "scale_faiss"}, {"n", n}, {"dim", d}, {"queries", nq}, {"threads_build", threads_all},
           {"threads_query", 1}, {"filter_fraction", filter_frac}, {"load_start", loadavg()}};

  vf_bench::MixtureSpec spec;
  spec.dim = d;
  spec.seed = std::stoull(a.get("seed", "42"));
  vf_bench::SyntheticEmbeddings gen(spec);
  out["data"] = {{"kind", "synthetic clustered (bench/scale_data.h)"}, {"centres", spec.centres},
                 {"within_rank", spec.rank}, {"seed", spec.seed}, {"normalised", true}, {"metric", "inner_product"}};

  // The exact index owns the vectors: generated straight into its storage (no second 3 GB copy).
  faiss::IndexFlatIP flat(d);
  double t = wall_s();
  flat.codes.resize(static_cast<size_t>(n) * d * sizeof(float));
  float* x = reinterpret_cast<float*>(flat.codes.data());
  gen.fill(0, n, x, 0);
  std::vector<float> q(static_cast<size_t>(nq) * d);
  gen.fill(0, nq, q.data(), 1);
  std::cerr << "generated " << n << " x " << d << " in " << wall_s() - t << " s (load " << loadavg() << ")\n";
  out["generate_s"] = wall_s() - t;

  std::vector<idx_t> allowed;
  std::mt19937_64 frng(spec.seed + 5);
  for (int64_t i = 0; i < n; ++i)
    if (static_cast<double>(frng() >> 11) * (1.0 / 9007199254740992.0) < filter_frac) allowed.push_back(i);
  Bench bench(x, d, q, allowed);

  {  // Flat insert rate: a plain add of up to 200k rows into a fresh exact index.
    faiss::IndexFlatIP tmp(d);
    int64_t m = std::min<int64_t>(n, 200'000);
    double t0 = wall_s();
    tmp.add(m, x);
    out["flat_insert_per_s"] = m / (wall_s() - t0);
  }

  const int64_t nt = std::min<int64_t>(n, std::stoll(a.get("train", "65536")));
  std::vector<float> sample(static_cast<size_t>(nt) * d);
  for (int64_t i = 0; i < nt; ++i) std::copy(x + (i * n / nt) * d, x + (i * n / nt + 1) * d, &sample[i * d]);
  faiss::IndexFlatIP quantizer(d);
  double coarse_s = 0;
  auto cands = make_candidates(a, d, n, sample, flat, quantizer, &coarse_s);
  sample.clear();
  sample.shrink_to_fit();

  std::vector<idx_t> assign, ids(n);
  for (int64_t i = 0; i < n; ++i) ids[i] = i;
  double assign_s = 0;
  if (quantizer.ntotal > 0) {
    assign.resize(n);
    t = wall_s();
    quantizer.assign(n, x, assign.data());
    assign_s = wall_s() - t;
    std::cerr << "assigned " << n << " vectors to lists in " << assign_s << " s\n";
  }
  out["coarse_train_s"] = coarse_s;
  out["assign_s"] = assign_s;

  json stage_rows = json::array();
  int64_t prev = 0;
  for (int64_t m : stages) {
    omp_set_num_threads(threads_all);
    for (auto& c : cands) {
      double r0 = rss_bytes(), t0 = wall_s();
      if (c.kind == "ivf") static_cast<faiss::IndexIVF*>(c.index)->add_core(m - prev, x + prev * d, &ids[prev], &assign[prev]);
      else if (c.kind == "hnsw") c.index->add(m - prev, x + prev * d);
      c.add_s += wall_s() - t0;
      c.rss_growth += rss_bytes() - r0;
    }
    flat.ntotal = m;
    t = wall_s();
    Truth truth = bench.exact(flat, m);
    std::cerr << "stage n=" << m << ": exact top-10 for " << nq << " queries in " << wall_s() - t << " s (load "
              << loadavg() << ")\n";
    json stage{{"n", m}, {"load", loadavg()}, {"data_stats", data_stats(x, m, d, q, truth)}, {"indexes", json::array()}};
    omp_set_num_threads(1);  // latency: one query, one thread
    for (auto& c : cands) {
      const double assign_share = c.shares_assignment ? assign_s * m / n : 0;
      const double ins = c.kind == "flat" ? out["flat_insert_per_s"].get<double>() : m / (assign_share + c.add_s);
      const double bytes = c.kind == "flat" ? double(m) * d * 4 : double(serialized_bytes(c.index));
      json row{{"engine", "faiss"},   {"index", c.name},          {"n", m},
               {"train_s", c.train_s}, {"add_s", c.add_s + assign_share}, {"build_s", c.train_s + c.add_s + assign_share},
               {"insert_per_s", ins}, {"bytes_per_vector", bytes / m},
               {"rss_growth_per_vector", c.kind == "flat" ? d * 4.0 : c.rss_growth / m}, {"settings", json::array()}};
      for (int64_t knob : c.knobs)
        for (int64_t rr : c.reranks) {
          int lq = c.kind == "flat" ? std::min(nq, flat_queries) : nq;
          json s{{"knob", c.kind == "ivf" ? "nprobe" : c.kind == "hnsw" ? "efSearch" : "none"}, {"value", knob},
                 {"rerank", rr}};
          s["plain"] = bench.measure(c, knob, rr, truth.plain, false, lq);
          s["filtered"] = bench.measure(c, knob, rr, truth.filtered, true, lq);
          auto& p = s["plain"];
          auto& f = s["filtered"];
          std::cerr << "  " << m << " " << c.name << " " << s["knob"].get<std::string>() << "=" << knob << " R=" << rr
                    << ": p50 " << p.value("p50_ms", 0.0) << " ms (cpu " << p.value("p50_cpu_ms", 0.0) << "), p99 "
                    << p.value("p99_ms", 0.0) << ", recall " << p.value("recall_at_10", 0.0) << " | filtered p50 "
                    << f.value("p50_ms", 0.0) << " (cpu " << f.value("p50_cpu_ms", 0.0) << "), recall "
                    << f.value("recall_at_10", 0.0) << (f.value("supported", true) ? "" : " UNSUPPORTED") << "\n";
          row["settings"].push_back(s);
        }
      if (c.kind == "ivf")  // a selective filter's other strategy: every list, bitmap selector
        for (int64_t rr : c.reranks) {
          const int64_t nlist = static_cast<int64_t>(static_cast<faiss::IndexIVF*>(c.index)->nlist);
          json s{{"knob", "nprobe"}, {"value", nlist}, {"rerank", rr}, {"selector", "bitmap"},
                 {"plain", {{"supported", false}, {"why", "filtered-only strategy"}}}};
          s["filtered"] = bench.measure(c, nlist, rr, truth.filtered, true, nq, true);
          std::cerr << "  " << m << " " << c.name << " all lists + bitmap R=" << rr << ": filtered p50 "
                    << s["filtered"].value("p50_ms", 0.0) << " (cpu " << s["filtered"].value("p50_cpu_ms", 0.0)
                    << "), recall " << s["filtered"].value("recall_at_10", 0.0) << "\n";
          row["settings"].push_back(s);
        }
      std::cerr << "  " << m << " " << c.name << ": " << bytes / m << " B/vector serialized, build "
                << row["build_s"].get<double>() << " s, insert " << ins << "/s\n";
      stage["indexes"].push_back(row);
    }
    stage_rows.push_back(stage);
    prev = m;
  }
  out["stages"] = stage_rows;
  out["load_end"] = loadavg();
  std::cout << out.dump() << "\n";
  return 0;
}

void sql(sqlite3* db, const char* q) {
  char* err = nullptr;
  if (sqlite3_exec(db, q, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string e = err ? err : "?";
    sqlite3_free(err);
    throw std::runtime_error(std::string("sqlite: ") + e);
  }
}

// What the re-rank costs where Viewfinder keeps the full vectors: R point reads of
// `SELECT embedding FROM photos WHERE id = ?` (rows shaped like the catalog's: path, a 2 KB
// colour histogram, a 768-d fp16 embedding), fp16 decode and a dot product, page cache warm.
int run_rerank_cost(const Args& a) {
  const int64_t rows = std::stoll(a.get("rows", "200000"));
  const int d = std::stoi(a.get("dim", "768"));
  const int nq = std::stoi(a.get("queries", "200"));
  std::string path = std::filesystem::temp_directory_path() / ("vf-scale-rerank-" + std::to_string(::getpid()) + ".db");
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) throw std::runtime_error("cannot open " + path);
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> guard(db, sqlite3_close);
  sql(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF; CREATE TABLE photos (id INTEGER PRIMARY KEY, "
          "path TEXT, color_hist BLOB, embedding BLOB)");
  vf_bench::NormalStream rng(99);
  std::vector<uint16_t> emb(d);
  std::vector<float> hist(512);
  double t0 = wall_s();
  sql(db, "BEGIN");
  sqlite3_stmt* ins = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO photos VALUES (?, ?, ?, ?)", -1, &ins, nullptr);
  for (int64_t i = 0; i < rows; ++i) {
    for (auto& h : emb) h = static_cast<uint16_t>(0x2000 + (rng.bits() & 0x1fff));  // small finite halves
    std::string p = "/photos/2024/shoot-" + std::to_string(i / 500) + "/IMG_" + std::to_string(i) + ".CR3";
    sqlite3_bind_int64(ins, 1, i + 1);
    sqlite3_bind_text(ins, 2, p.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(ins, 3, hist.data(), 2048, SQLITE_STATIC);
    sqlite3_bind_blob(ins, 4, emb.data(), d * 2, SQLITE_STATIC);
    sqlite3_step(ins);
    sqlite3_reset(ins);
  }
  sqlite3_finalize(ins);
  sql(db, "COMMIT");
  const double write_s = wall_s() - t0;
  sqlite3_stmt* sel = nullptr;
  sqlite3_prepare_v2(db, "SELECT embedding FROM photos WHERE id = ?", -1, &sel, nullptr);
  std::vector<float> q(d, 0.03f), v(d);
  volatile float sink = 0;
  json per_r = json::array();
  for (int64_t r : a.list("rerank", "50,100,200")) {
    std::vector<double> lat;
    for (int i = -5; i < nq; ++i) {
      double t = wall_s();
      float best = -1e9f;
      for (int64_t j = 0; j < r; ++j) {
        sqlite3_bind_int64(sel, 1, 1 + static_cast<int64_t>(rng.bits() % rows));
        if (sqlite3_step(sel) == SQLITE_ROW) {
          const auto* b = static_cast<const uint8_t*>(sqlite3_column_blob(sel, 0));
          for (int k = 0; k < d; ++k) {
            uint16_t h;
            std::memcpy(&h, b + 2 * k, 2);
            v[k] = vf::half_to_float(h);  // the catalog's own fp16 decode: its real cost
          }
          best = std::max(best, faiss::fvec_inner_product(q.data(), v.data(), d));
        }
        sqlite3_reset(sel);
      }
      sink = best;  // keep the work observable
      if (i >= 0) lat.push_back((wall_s() - t) * 1e3);
    }
    per_r.push_back({{"rerank", r}, {"p50_ms", percentile(lat, 0.5)}, {"p99_ms", percentile(lat, 0.99)}});
    std::cerr << "re-rank of " << r << " from SQLite (" << rows << " rows, warm): p50 " << percentile(lat, 0.5)
              << " ms, p99 " << percentile(lat, 0.99) << " ms\n";
  }
  sqlite3_finalize(sel);
  (void)sink;
  std::error_code ec;
  auto bytes = std::filesystem::file_size(path, ec);
  guard.reset();
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix, ec);
  std::cout << json{{"mode", "rerank_cost"}, {"rows", rows}, {"db_bytes", bytes}, {"write_s", write_s},
                    {"load", loadavg()}, {"per_rerank", per_r}}
                   .dump()
            << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a{argc, argv};
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--help" || std::string(argv[i]) == "-h") {
      std::cerr << "usage: scale_bench [--n N] [--dim D] [--queries Q] [--stages a,b] [--candidates "
                   "flat,ivfpq,ivfsq4,ivfsq8,hnsw]\n  [--nlist L] [--pq-m M] [--train T] [--nprobe a,b] "
                   "[--rerank a,b] [--ef a,b] [--filter F] [--flat-queries Q] [--hnsw-max-n N] [--seed S]\n"
                   "       scale_bench rerank-cost [--rows 200000] [--dim 768] [--queries 200] [--rerank 50,100,200]\n";
      return 0;
    }
  try {
    if (argc > 1 && std::string(argv[1]) == "rerank-cost") return run_rerank_cost(a);
    return run(a);
  } catch (const std::exception& e) {
    std::cerr << "scale_bench: " << e.what() << "\n";
    return 1;
  }
}
