// Indexing benchmarks (driven by bench/index.sh):
//
//   index_bench e2e --photos DIR --model DIR [--batch 8] [--limit N] [--previews]
//       End-to-end `Library::index` of the photos (DIR searched recursively) into a scratch
//       library vs the engine alone on the same, already decoded, inputs at the same batch and
//       threads (its ceiling), the engine timed before and after the library run (averaged):
//       index_vs_engine_ratio (goal >= 0.9), overhead %, where the library's time went
//       (IndexReport::stages), and the same in CPU seconds per stage with
//       index_vs_engine_cpu_ratio (engine-alone CPU / pipeline CPU), with the load average.
//   index_bench vectors --n N [--dim 768] [--queries 500] [--factories "Flat;IVF1024,Flat;..."]
//       Synthetic embedding-like vectors (clustered, L2-normalised): per index type, build time,
//       memory per vector, single-thread p50/p99 query latency at k=10, recall@10 vs exact.
//
// Each prints human-readable lines to stderr and one JSON object on stdout.
#include <faiss/Index.h>
#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVF.h>
#include <omp.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>

#include "store/faiss_index.h"  // the store's own index construction (declared: vf_store)
#include "viewfinder/viewfinder.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

double now_s() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

// CPU seconds of the whole process (all threads): the engine's OpenMP team included.
double process_cpu_s() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

// The 1, 5 and 15 minute load averages, as /proc/loadavg gives them.
std::string loadavg() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

std::string arg(int argc, char** argv, const std::string& name, const std::string& def) {
  for (int i = 2; i + 1 < argc; ++i)
    if (argv[i] == "--" + name) return argv[i + 1];
  return def;
}

bool has_flag(int argc, char** argv, const std::string& name) {
  for (int i = 2; i < argc; ++i)
    if (argv[i] == "--" + name) return true;
  return false;
}

int run_e2e(int argc, char** argv) {
  std::string photos = arg(argc, argv, "photos", "");
  std::string model = arg(argc, argv, "model", "");
  int batch = std::stoi(arg(argc, argv, "batch", "8"));
  int limit = std::stoi(arg(argc, argv, "limit", "0"));
  std::vector<std::string> files;
  for (auto& e : fs::recursive_directory_iterator(photos))
    if (e.is_regular_file() && vf::looks_like_image(e.path().string())) files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  if (limit > 0 && static_cast<int>(files.size()) > limit) files.resize(limit);
  char tmpl[] = "/tmp/vf-bench-index-XXXXXX";
  std::string scratch = mkdtemp(tmpl);
  fs::create_directories(scratch + "/photos");
  // Copies, numbered (names repeat across sub-folders): the indexer does not follow symlinks
  // that leave its roots, so links to the shared photos would index nothing.
  for (size_t i = 0; i < files.size(); ++i)
    fs::copy_file(files[i], scratch + "/photos/" + std::to_string(i) + "_" + fs::path(files[i]).filename().string());

  // 1. The engine alone: inputs decoded beforehand (not timed), then batched forward passes.
  vf::EngineParams ep;
  ep.model_dir = model;
  auto engine = vf::Engine::open(ep);
  const vf::ModelInfo mi = engine->info();  // a copy: the engine is released before the report
  vf::IngestParams ip;
  ip.thumb_size = ip.preview_size = 0;
  ip.model_input_size = mi.crop_size;
  ip.resize_shortest_edge = mi.resize_shortest_edge;
  const int S = mi.crop_size;
  std::vector<float> inputs;
  for (auto& f : files) {
    auto p = vf::ingest_file(f, ip);
    inputs.insert(inputs.end(), p.model_input.begin(), p.model_input.end());
  }
  const int n = static_cast<int>(files.size());
  engine->embed(inputs.data(), std::min(batch, n), S, S, vf::Pooling::CLS);  // warm-up
  // Timed before and after the library run, averaged: the load of a shared machine drifts.
  auto engine_pass = [&](double* cpu_s) {
    const double t0 = now_s(), c0 = process_cpu_s();
    for (int i = 0; i < n; i += batch) {
      int b = std::min(batch, n - i);
      engine->embed(inputs.data() + static_cast<size_t>(i) * 3 * S * S, b, S, S, vf::Pooling::CLS);
    }
    *cpu_s = process_cpu_s() - c0;
    return now_s() - t0;
  };
  double engine_cpu_before = 0, engine_cpu_after = 0;
  const std::string load_start = loadavg();
  const double engine_before_s = engine_pass(&engine_cpu_before);

  // 2. The library: decode (threads) -> embed -> commit -> FAISS, from files on disk.
  vf::IndexParams params;
  params.roots = {scratch + "/photos"};
  params.engine.model_dir = model;
  params.batch_size = batch;
  // --previews: previews made at indexing (the default until they moved to first view).
  params.make_previews = has_flag(argc, argv, "previews");  // explicit either way: no remembered choice
  double t1 = now_s();
  vf::IndexReport r;
  {
    auto lib = vf::Library::open(scratch + "/lib");
    r = lib->index(params, {});
  }
  double library_s = now_s() - t1;
  if (r.embedded != n) {
    fs::remove_all(scratch);
    throw std::runtime_error("the library embedded " + std::to_string(r.embedded) + " of " + std::to_string(n) +
                             " photos (" + std::to_string(r.failed) + " failed): not a comparable run");
  }
  const double engine_after_s = engine_pass(&engine_cpu_after);
  const std::string load_end = loadavg();
  engine.reset();
  fs::remove_all(scratch);
  const double engine_s = (engine_before_s + engine_after_s) / 2;
  const double engine_cpu = (engine_cpu_before + engine_cpu_after) / 2;
  double overhead = (library_s - engine_s) / engine_s * 100.0;
  // The goal's ratio: indexing rate over engine-alone rate, same photos, batch and threads.
  const double ratio = engine_s / library_s;
  // The same without the one-off costs around the pipeline (model load, scan, final index
  // build): the steady-state rate of decode -> embed -> commit against the engine alone.
  const double pipeline_ratio = r.stages.pipeline > 0 ? engine_s / r.stages.pipeline : 0;
  const vf::IndexStageTimes& st = r.stages;
  // In CPU time, which other processes do not inflate: when the engine fills every core, the
  // pipeline can run at most at engine_cpu / pipeline_cpu of the engine-alone rate.
  const double cpu_ratio = st.cpu_total > 0 ? engine_cpu / st.cpu_total : 0;
  const json stages = {{"open_engine_s", st.open_engine}, {"scan_s", st.scan}, {"pipeline_s", st.pipeline},
                       {"finish_s", st.finish}, {"decode_thread_s", st.decode},
                       {"thumb_write_thread_s", st.thumb_write}, {"embed_s", st.embed},
                       {"engine_wait_s", st.engine_wait}, {"commit_s", st.commit},
                       {"queue_mean", st.queue_mean}, {"queue_capacity", st.queue_capacity},
                       {"decode_threads", st.decode_threads}, {"cpu_decode_s", st.cpu_decode},
                       {"cpu_engine_s", st.cpu_engine}, {"cpu_commit_s", st.cpu_commit},
                       {"cpu_total_s", st.cpu_total}};
  const json cpu = {{"engine_alone_cpu_s", engine_cpu},
                    {"engine_alone_cpu_ms_per_photo", engine_cpu / n * 1e3},
                    {"decode_cpu_ms_per_photo", st.cpu_decode / n * 1e3},
                    {"engine_cpu_ms_per_photo_in_pipeline", st.cpu_engine / n * 1e3},
                    {"commit_cpu_ms_per_photo", st.cpu_commit / n * 1e3},
                    {"decode_vs_engine_cpu", engine_cpu > 0 ? st.cpu_decode / engine_cpu : 0},
                    {"index_vs_engine_cpu_ratio", cpu_ratio}};
  std::cerr << "stages: " << stages.dump() << "\ncpu: " << cpu.dump() << "\n";
  std::cerr << "model " << mi.model_id << ": " << n << " photos; engine alone " << engine_s << " s ("
            << n / engine_s << " img/s; before " << engine_before_s << " s, after " << engine_after_s
            << " s); library index " << library_s << " s (" << n / library_s
            << " img/s, includes model load, decode, thumbnails, catalog, FAISS); overhead " << overhead
            << " %; load " << load_start << " -> " << load_end << "\n";
  std::cout << json{{"mode", "e2e"}, {"model_id", mi.model_id}, {"hidden_size", mi.hidden_size}, {"photos", n},
                    {"batch", batch}, {"previews_at_indexing", params.make_previews.value_or(false)},
                    {"threads", vf::physical_core_count()}, {"engine_s", engine_s},
                    {"engine_before_s", engine_before_s}, {"engine_after_s", engine_after_s},
                    {"engine_img_per_s", n / engine_s}, {"library_s", library_s},
                    {"library_img_per_s", n / library_s}, {"embed_phase_img_per_s", r.images_per_s},
                    {"embedded", r.embedded}, {"failed", r.failed}, {"overhead_pct", overhead},
                    {"index_vs_engine_ratio", ratio}, {"pipeline_vs_engine_ratio", pipeline_ratio},
                    {"index_vs_engine_cpu_ratio", cpu_ratio}, {"cpu", cpu}, {"stages", stages},
                    {"load_start", load_start}, {"load_end", load_end}}
                   .dump()
            << "\n";
  return 0;
}

// Embedding-like synthetic data: points around `clusters` random centres (real DINOv2
// embeddings of a photo library are strongly clustered; uniform random vectors in 768-d are
// a worst case no ANN index is built for).
std::vector<float> clustered(int64_t n, int d, int clusters, unsigned seed, const std::vector<float>& centres) {
  std::vector<float> x(static_cast<size_t>(n) * d);
#pragma omp parallel
  {
    std::mt19937 rng(seed + 7919 * omp_get_thread_num());
    std::normal_distribution<float> g;
    std::uniform_int_distribution<int> pick(0, clusters - 1);
#pragma omp for
    for (int64_t i = 0; i < n; ++i) {
      int c = pick(rng);
      double s = 0;
      float* v = &x[i * d];
      for (int j = 0; j < d; ++j) {
        v[j] = centres[static_cast<size_t>(c) * d + j] + 0.8f * g(rng) / std::sqrt(static_cast<float>(d));
        s += double(v[j]) * v[j];
      }
      float inv = static_cast<float>(1.0 / std::sqrt(s));
      for (int j = 0; j < d; ++j) v[j] *= inv;
    }
  }
  return x;
}

int run_vectors(int argc, char** argv) {
  int64_t n = std::stoll(arg(argc, argv, "n", "100000"));
  int d = std::stoi(arg(argc, argv, "dim", "768"));
  int nq = std::stoi(arg(argc, argv, "queries", "500"));
  std::string factories = arg(argc, argv, "factories", "");
  if (factories.empty()) {
    std::string ivf = vf::store::choose_factory(std::max<int64_t>(n, 100'000), d);
    factories = "Flat;" + ivf + ";IVF1024,PQ96;HNSW32,SQ8";
  }
  int clusters = std::max<int>(64, static_cast<int>(n / 500));
  std::mt19937 rng(42);
  std::normal_distribution<float> g;
  std::vector<float> centres(static_cast<size_t>(clusters) * d);
  for (auto& c : centres) c = g(rng) / std::sqrt(static_cast<float>(d));
  double tg = now_s();
  auto x = clustered(n, d, clusters, 1, centres);
  auto q = clustered(nq, d, clusters, 999, centres);
  std::vector<int64_t> ids(n);
  for (int64_t i = 0; i < n; ++i) ids[i] = i + 1;
  std::cerr << "generated " << n << " x " << d << " in " << now_s() - tg << " s\n";

  // Exact top-10 (all threads).
  const int k = 10;
  std::vector<float> Dg(static_cast<size_t>(nq) * k);
  std::vector<faiss::Index::idx_t> Ig(static_cast<size_t>(nq) * k);
  {
    faiss::IndexFlatIP flat(d);
    flat.add(n, x.data());
    flat.search(nq, q.data(), k, Dg.data(), Ig.data());
    for (auto& i : Ig) i += 1;  // ids are row + 1
  }
  json results = json::array();
  std::stringstream ss(factories);
  std::string factory;
  int threads_all = omp_get_max_threads();
  while (std::getline(ss, factory, ';')) {
    if (factory.empty()) continue;
    omp_set_num_threads(threads_all);
    double tb = now_s();
    auto index = vf::store::build_index(factory, d, x.data(), ids.data(), n, 100'000);
    double build_s = now_s() - tb;
    int64_t mem = vf::store::index_memory_bytes(index.get());
    // Latency: one query at a time on one thread, as one search request would run.
    omp_set_num_threads(1);
    // Flat at 1M costs ~100 ms a query on one thread: fewer queries keep the run bounded.
    int lq = factory == "Flat" && n >= 500'000 ? std::min(nq, 100) : nq;
    std::vector<double> lat;
    std::vector<float> D(k);
    std::vector<faiss::Index::idx_t> I(static_cast<size_t>(lq) * k);
    for (int i = 0; i < lq; ++i) {
      double t = now_s();
      index->search(1, &q[static_cast<size_t>(i) * d], k, D.data(), &I[static_cast<size_t>(i) * k]);
      lat.push_back((now_s() - t) * 1000);
    }
    int evaluated = lq;
    double hit = 0;
    for (int i = 0; i < evaluated; ++i) {
      std::set<int64_t> truth(Ig.begin() + i * k, Ig.begin() + (i + 1) * k);
      for (int j = 0; j < k; ++j) hit += truth.count(I[static_cast<size_t>(i) * k + j]);
    }
    double recall = hit / (static_cast<double>(evaluated) * k);
    std::sort(lat.begin(), lat.end());
    double p50 = lat[lat.size() / 2], p99 = lat[std::min(lat.size() - 1, lat.size() * 99 / 100)];
    std::string desc = vf::store::describe_index(index.get());
    std::string params;
    if (auto* ivf = dynamic_cast<const faiss::IndexIVF*>(index.get())) params = "nprobe=" + std::to_string(ivf->nprobe);
    if (auto* m = dynamic_cast<const faiss::IndexIDMap*>(index.get()))
      if (auto* h = dynamic_cast<const faiss::IndexHNSW*>(m->index)) params = "efSearch=" + std::to_string(h->hnsw.efSearch);
    std::cerr << n << " " << desc << " (" << params << "): build " << build_s << " s, " << double(mem) / n
              << " B/vector, p50 " << p50 << " ms, p99 " << p99 << " ms, recall@10 " << recall << "\n";
    results.push_back({{"factory", desc}, {"params", params}, {"n", n}, {"dim", d}, {"build_s", build_s},
                       {"bytes_per_vector", double(mem) / n}, {"p50_ms", p50}, {"p99_ms", p99},
                       {"recall_at_10", recall}, {"latency_queries", static_cast<int>(lat.size())}});
  }
  std::cout << json{{"mode", "vectors"}, {"n", n}, {"dim", d}, {"results", results}}.dump() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "e2e") return run_e2e(argc, argv);
    if (mode == "vectors") return run_vectors(argc, argv);
    std::cerr << "usage: index_bench e2e --photos DIR --model DIR [--batch 8] [--limit N] [--previews]\n"
                 "       index_bench vectors --n N [--dim 768] [--queries 500] [--factories \"A;B\"]\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
