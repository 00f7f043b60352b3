// Viewfinder's DINOv2 engine throughput, through the public API only (viewfinder/engine.h).
//
//   engine_bench --model DIR [--precisions fp32,bf16,int8] [--threads N] [--batches 1,8]
//                [--size 224] [--warmup 1] [--min-iters 3] [--budget SECONDS] [--json]
//
// For each precision it opens an Engine (a mode the engine does not offer is reported as
// unsupported with the engine's own message, not counted), checks the resolved mode is the one
// asked for, and times Engine::embed (CLS pooling, the indexing path) on random normalised
// pixels: per batch size `warmup` untimed calls, then timed calls until at least `min-iters`
// calls and `budget` seconds; images/s = batch / median call time. It also reports the cosine
// of each mode's embeddings to fp32's on the same input, so a fast-but-wrong mode shows.
// Last line: one JSON object.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "viewfinder/engine.h"

namespace {

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Mean over images of the cosine between two [batch, dim] embedding sets (min is reported too).
std::pair<double, double> cosines(const std::vector<float>& a, const std::vector<float>& b, int dim) {
  double sum = 0, mn = 1;
  const size_t n = a.size() / dim;
  for (size_t i = 0; i < n; ++i) {
    double ab = 0, aa = 0, bb = 0;
    for (int k = 0; k < dim; ++k) {
      ab += double(a[i * dim + k]) * b[i * dim + k];
      aa += double(a[i * dim + k]) * a[i * dim + k];
      bb += double(b[i * dim + k]) * b[i * dim + k];
    }
    const double c = ab / std::sqrt(aa * bb + 1e-30);
    sum += c;
    mn = std::min(mn, c);
  }
  return {sum / n, mn};
}

void usage() {
  std::printf(
      "usage: engine_bench --model DIR [options]\n"
      "Viewfinder engine images/s per precision and batch size; last line JSON.\n"
      "  --model DIR          HF DINOv2 model directory (config.json + model.safetensors)\n"
      "  --precisions LIST    comma list of fp32,bf16,int8,auto (default fp32,bf16,int8)\n"
      "  --threads N          engine threads (default 2)\n"
      "  --batches LIST       batch sizes (default 1,8)\n"
      "  --size PX            input height = width (default 224)\n"
      "  --warmup N           untimed calls per batch size (default 1)\n"
      "  --min-iters N        minimum timed calls per batch size (default 3)\n"
      "  --budget SECONDS     minimum timed seconds per batch size (default 6)\n"
      "  --max-call SECONDS   a mode whose calls take longer is timed from a single call, and\n"
      "                       batch sizes estimated to exceed it are skipped (default 20)\n"
      "  --save-embeddings F  write the fp32 embeddings of the first batch size to F (raw float32)\n"
      "  --reference-embeddings F  compare every mode's embeddings to F (from --save-embeddings),\n"
      "                       for runs that time one mode per process\n"
      "  --json               print only the JSON line\n");
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_dir, precisions = "fp32,bf16,int8", batches = "1,8";
  int threads = 2, size = 224, warmup = 1, min_iters = 3;
  double budget = 6.0;
  double max_call = 20.0;
  bool json_only = false;
  std::string save_embeddings, reference_embeddings;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "engine_bench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      usage();
      return 0;
    } else if (a == "--model") model_dir = value();
    else if (a == "--precisions") precisions = value();
    else if (a == "--threads") threads = std::atoi(value().c_str());
    else if (a == "--batches") batches = value();
    else if (a == "--size") size = std::atoi(value().c_str());
    else if (a == "--warmup") warmup = std::atoi(value().c_str());
    else if (a == "--min-iters") min_iters = std::atoi(value().c_str());
    else if (a == "--budget") budget = std::atof(value().c_str());
    else if (a == "--max-call") max_call = std::atof(value().c_str());
    else if (a == "--save-embeddings") save_embeddings = value();
    else if (a == "--reference-embeddings") reference_embeddings = value();
    else if (a == "--json") json_only = true;
    else {
      std::fprintf(stderr, "engine_bench: unknown option %s (see --help)\n", a.c_str());
      return 2;
    }
  }
  if (model_dir.empty()) {
    std::fprintf(stderr, "engine_bench: --model DIR is required (see --help)\n");
    return 2;
  }
  if (threads < 1 || size < 14 || min_iters < 1) {
    std::fprintf(stderr, "engine_bench: --threads, --size and --min-iters must be positive\n");
    return 2;
  }

  std::vector<int> batch_sizes;
  for (const auto& b : split(batches)) batch_sizes.push_back(std::atoi(b.c_str()));
  const int max_batch = *std::max_element(batch_sizes.begin(), batch_sizes.end());
  // One random input for all modes, so the cross-mode cosine compares like with like.
  std::vector<float> pixels(size_t(max_batch) * 3 * size * size);
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.f, 1.f);
  for (auto& p : pixels) p = nd(rng);

  nlohmann::json out;
  out["threads"] = threads;
  out["size"] = size;
  out["model_dir"] = model_dir;
  nlohmann::json modes = nlohmann::json::object();
  std::vector<float> fp32_ref;  // fp32 embeddings of the first batch size, for the cosines
  if (!reference_embeddings.empty()) {
    FILE* f = std::fopen(reference_embeddings.c_str(), "rb");
    if (!f) {
      std::fprintf(stderr, "engine_bench: %s: cannot open the reference embeddings\n", reference_embeddings.c_str());
      return 2;
    }
    float v;
    while (std::fread(&v, sizeof v, 1, f) == 1) fp32_ref.push_back(v);
    std::fclose(f);
  }
  int rc = 0;
  for (const auto& pname : split(precisions)) {
    nlohmann::json m;
    std::unique_ptr<vf::Engine> engine;
    const auto load_start = std::chrono::steady_clock::now();
    try {
      vf::EngineParams params;
      params.model_dir = model_dir;
      params.precision = vf::parse_precision(pname);
      params.threads = threads;
      const auto open_t0 = std::chrono::steady_clock::now();
      engine = vf::Engine::open(params);
      m["open_s"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - open_t0).count();
      if (!json_only) std::printf("viewfinder_%s: model loaded in %.3f s\n", pname.c_str(), m["open_s"].get<double>());
    } catch (const std::exception& e) {
      m["supported"] = false;
      m["error"] = e.what();
      if (!json_only) std::printf("viewfinder_%s: not offered by the engine: %s\n", pname.c_str(), e.what());
      modes[pname] = m;
      continue;
    }
    const std::string resolved = vf::to_string(engine->precision());
    m["supported"] = true;
    m["resolved"] = resolved;
    m["threads"] = engine->threads();
    // Engine::open: weights read and packed (int8: also its calibration pass), model hash cached.
    m["load_s"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
    if (!json_only) std::printf("viewfinder_%s: loaded in %.2f s\n", resolved.c_str(), m["load_s"].get<double>());
    if (pname != "auto" && resolved != pname) {
      // The engine silently ran another mode: reporting it under this name would mislead.
      m["supported"] = false;
      m["error"] = "engine resolved " + pname + " to " + resolved;
      if (!json_only) std::printf("viewfinder_%s: resolved to %s, not timed\n", pname.c_str(), resolved.c_str());
      modes[pname] = m;
      continue;
    }
    const int dim = engine->dim();
    try {
      nlohmann::json res = nlohmann::json::object();
      double per_image_s = 0;  // from the previous batch size, to skip hopeless ones
      for (int b : batch_sizes) {
        if (per_image_s * b > max_call) {
          // Keeps the whole benchmark bounded when a mode runs on a slow (reference) kernel.
          res[std::to_string(b)] = {{"batch", b}, {"skipped", "estimated " + std::to_string(per_image_s * b) +
                                                                  " s per call > --max-call"}};
          if (!json_only) std::printf("viewfinder_%s batch %d: skipped (estimated %.1f s per call)\n", pname.c_str(),
                                      b, per_image_s * b);
          continue;
        }
        std::vector<float> emb;
        std::vector<double> times;
        for (int w = 0; w < warmup; ++w) {
          const auto s = std::chrono::steady_clock::now();
          emb = engine->embed(pixels.data(), b, size, size, vf::Pooling::CLS);
          const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - s).count();
          if (w == 0 && b == batch_sizes.front()) {
            // The first call also builds the matmul primitives (JIT) and touches the weights.
            m["first_call_s"] = t;
            if (!json_only) std::printf("viewfinder_%s first call (batch %d): %.3f s\n", pname.c_str(), b, t);
          }
          if (t > max_call) times.push_back(t);  // too slow to repeat: this call is the measurement
        }
        const auto t0 = std::chrono::steady_clock::now();
        while (times.empty() || times.back() <= max_call) {
          const auto s = std::chrono::steady_clock::now();
          emb = engine->embed(pixels.data(), b, size, size, vf::Pooling::CLS);
          const auto e = std::chrono::steady_clock::now();
          times.push_back(std::chrono::duration<double>(e - s).count());
          if (int(times.size()) >= min_iters && std::chrono::duration<double>(e - t0).count() >= budget) break;
        }
        const double med = median(times), best = *std::min_element(times.begin(), times.end());
        per_image_s = med / b;
        res[std::to_string(b)] = {{"batch", b}, {"iters", times.size()}, {"median_s", med}, {"best_s", best},
                                  {"images_per_s", b / med}};
        if (!json_only)
          std::printf("viewfinder_%s batch %d: %.3f images/s (median of %zu, best %.3f)\n", pname.c_str(), b,
                      b / med, times.size(), b / best);
        std::fflush(stdout);
        if (b == batch_sizes.front()) {  // always timed, so always there to compare
          if (pname == "fp32") {
            fp32_ref = emb;
            if (!save_embeddings.empty()) {
              FILE* f = std::fopen(save_embeddings.c_str(), "wb");
              if (!f || std::fwrite(emb.data(), sizeof(float), emb.size(), f) != emb.size())
                std::fprintf(stderr, "engine_bench: %s: cannot write the embeddings\n", save_embeddings.c_str());
              if (f) std::fclose(f);
            }
          } else if (!fp32_ref.empty() && fp32_ref.size() == emb.size()) {
            auto [mean_cos, min_cos] = cosines(emb, fp32_ref, dim);
            m["cosine_vs_fp32"] = {{"mean", mean_cos}, {"min", min_cos}};
            if (!json_only) std::printf("viewfinder_%s cosine to fp32: mean %.6f min %.6f\n", pname.c_str(),
                                        mean_cos, min_cos);
          }
        }
      }
      m["results"] = res;
    } catch (const std::exception& e) {
      m["error"] = e.what();
      std::fprintf(stderr, "viewfinder_%s: forward failed: %s\n", pname.c_str(), e.what());
      rc = 1;
    }
    modes[pname] = m;
  }
  out["modes"] = modes;
  std::printf("%s\n", out.dump().c_str());
  return rc;
}
