// The machine's matrix-multiply ceiling, measured with oneDNN on the benchmark's thread count.
//
//   matmul_peak [--threads N] [--budget SECONDS] [--json]
//
// For each data type (fp32; bf16 in, fp32 out; u8*s8 -> s32) it times oneDNN matmuls of the
// shapes that dominate a ViT-B/14 forward pass at batch 8 (8*257 = 2056 tokens, D=768, MLP 3072)
// plus a 2048x768x3072 square-ish one, with the weights pre-packed in oneDNN's preferred layout
// (as an inference engine would hold them), and reports the best GFLOP/s over shapes and reps.
// That best is the ceiling the engine benchmark compares Viewfinder against. The
// implementation name oneDNN picked is printed, so an emulated or reference kernel (a CPU
// without native bf16, say) is visible rather than silently reported as a "peak".
// Last line: one JSON object.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <oneapi/dnnl/dnnl.hpp>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

struct Shape {
  int64_t m, k, n;
};

struct Result {
  double best_gflops = 0;
  double best_ms = 0;
  Shape best_shape{0, 0, 0};
  std::string impl;
  int reps = 0;
  std::string error;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void fill_random(dnnl::memory& mem, dnnl::stream& strm, dnnl::engine& eng, dt type) {
  // Fill an f32 buffer, then reorder into the target type, so every type sees comparable data.
  auto desc = mem.get_desc();
  const auto dims = desc.dims();
  dnnl::memory::desc f32_desc(dims, dt::f32, tag::ab);
  if (type == dt::u8 || type == dt::s8) f32_desc = dnnl::memory::desc(dims, dt::f32, tag::ab);
  dnnl::memory src(f32_desc, eng);
  auto* p = static_cast<float*>(src.get_data_handle());
  const int64_t n = dims[0] * dims[1];
  std::mt19937 rng(42);
  std::normal_distribution<float> nd(0.f, 1.f);
  std::uniform_int_distribution<int> ud(0, 100);
  for (int64_t i = 0; i < n; ++i) p[i] = (type == dt::u8 || type == dt::s8) ? float(ud(rng) - (type == dt::s8 ? 50 : 0)) : nd(rng);
  dnnl::reorder(src, mem).execute(strm, src, mem);
  strm.wait();
}

Result measure(dt src_t, dt wei_t, dt dst_t, const std::vector<Shape>& shapes, double budget_s) {
  Result r;
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream strm(eng);
  const double per_shape = budget_s / shapes.size();
  for (const Shape& s : shapes) {
    dnnl::memory::desc a_md({s.m, s.k}, src_t, tag::ab);
    dnnl::memory::desc b_any({s.k, s.n}, wei_t, tag::any);
    dnnl::memory::desc c_md({s.m, s.n}, dst_t, tag::ab);
    dnnl::matmul::primitive_desc pd;
    try {
      pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(a_md, b_any, c_md), eng);
    } catch (const dnnl::error& e) {
      r.error = std::string("oneDNN has no matmul for this type here: ") + e.what();
      return r;
    }
    dnnl::matmul mm(pd);
    dnnl::memory a(a_md, eng), c(c_md, eng);
    dnnl::memory b_plain(dnnl::memory::desc({s.k, s.n}, wei_t, tag::ab), eng);
    dnnl::memory b(pd.weights_desc(), eng);
    fill_random(a, strm, eng, src_t);
    fill_random(b_plain, strm, eng, wei_t);
    dnnl::reorder(b_plain, b).execute(strm, b_plain, b);  // pre-pack once, outside the timing
    strm.wait();
    const double flop = 2.0 * double(s.m) * double(s.k) * double(s.n);
    auto run = [&] {
      mm.execute(strm, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}});
      strm.wait();
    };
    run();  // warm-up: JIT, page faults, caches
    const auto t0 = std::chrono::steady_clock::now();
    int reps = 0;
    // At least 3 reps; then until the shape's share of the budget is spent (max 50 reps).
    while (reps < 3 || (seconds_since(t0) < per_shape && reps < 50)) {
      const auto t = std::chrono::steady_clock::now();
      run();
      const double dt_s = seconds_since(t);
      ++reps;
      const double gf = flop / dt_s / 1e9;
      if (gf > r.best_gflops) {
        r.best_gflops = gf;
        r.best_ms = dt_s * 1e3;
        r.best_shape = s;
        r.impl = pd.impl_info_str();
      }
    }
    r.reps += reps;
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2;
  double budget = 6.0;
  bool json_only = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "matmul_peak: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      std::printf(
          "usage: matmul_peak [--threads N] [--budget SECONDS] [--json]\n"
          "oneDNN matmul GFLOP/s (fp32, bf16, int8) on ViT-B-shaped GEMMs; last line JSON.\n"
          "  --threads N       OpenMP threads (default 2)\n"
          "  --budget SECONDS  timed seconds per data type (default 6)\n"
          "  --json            print only the JSON line\n");
      return 0;
    } else if (a == "--threads") {
      threads = std::atoi(value().c_str());
    } else if (a == "--budget") {
      budget = std::atof(value().c_str());
    } else if (a == "--json") {
      json_only = true;
    } else {
      std::fprintf(stderr, "matmul_peak: unknown option %s (see --help)\n", a.c_str());
      return 2;
    }
  }
  if (threads < 1) {
    std::fprintf(stderr, "matmul_peak: --threads must be >= 1\n");
    return 2;
  }
  omp_set_num_threads(threads);

  const std::vector<Shape> shapes = {
      {2056, 768, 3072},  // fc1 at batch 8
      {2056, 3072, 768},  // fc2 at batch 8
      {2048, 768, 3072},  // the square-ish reference shape
      {2056, 768, 2304},  // fused QKV at batch 8
  };
  struct Kind {
    const char* name;
    dt src, wei, dst;
  };
  const Kind kinds[] = {
      {"fp32", dt::f32, dt::f32, dt::f32},
      {"bf16", dt::bf16, dt::bf16, dt::f32},
      {"int8", dt::u8, dt::s8, dt::s32},
  };
  nlohmann::json out;
  out["threads"] = threads;
  out["onednn_version"] = std::to_string(dnnl_version()->major) + "." +
                          std::to_string(dnnl_version()->minor) + "." +
                          std::to_string(dnnl_version()->patch);
  for (const Kind& k : kinds) {
    Result r = measure(k.src, k.wei, k.dst, shapes, budget);
    nlohmann::json j;
    if (!r.error.empty()) {
      j["error"] = r.error;
      if (!json_only) std::printf("%-5s unavailable: %s\n", k.name, r.error.c_str());
    } else {
      j["gflops"] = r.best_gflops;
      j["best_ms"] = r.best_ms;
      j["shape_mkn"] = {r.best_shape.m, r.best_shape.k, r.best_shape.n};
      j["impl"] = r.impl;
      j["reps"] = r.reps;
      if (!json_only)
        std::printf("%-5s peak %8.1f GFLOP/s  (%lldx%lldx%lld, %s)\n", k.name, r.best_gflops,
                    (long long)r.best_shape.m, (long long)r.best_shape.k, (long long)r.best_shape.n,
                    r.impl.c_str());
    }
    out[k.name] = j;
  }
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
