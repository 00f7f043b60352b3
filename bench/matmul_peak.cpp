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
//
//   matmul_peak --shapes MxKxN[:gelu|:res][:bf16out],... [--type bf16|fp32] [--pack-m M]
//
// times exactly the engine's chunk shapes instead: weights packed once for --pack-m rows (as
// the engine packs them, default 257) and reused for M rows when oneDNN accepts that layout
// (else reordered per call, as the engine would), the engine's fused epilogues (bias always;
// gelu: + exact-erf GELU; res: + layer scale and residual add), and the CPU time per call, so
// a shape's efficiency shows even on a loaded machine.
#include <omp.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <oneapi/dnnl/dnnl.hpp>
#include <random>
#include <stdexcept>
#include <string>
#include <unordered_map>
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

double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

struct EngineShape {
  Shape s;
  std::string epilogue = "none";  // none | gelu | res
  bool bf16_out = false;
};

// "514x768x3072:gelu:bf16out" -> shape, epilogue, dst type.
EngineShape parse_engine_shape(const std::string& text) {
  EngineShape e;
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i)
    if (i == text.size() || text[i] == ':') {
      parts.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  long long m = 0, k = 0, n = 0;
  if (std::sscanf(parts[0].c_str(), "%lldx%lldx%lld", &m, &k, &n) != 3 || m <= 0 || k <= 0 || n <= 0)
    throw std::runtime_error("bad shape '" + text + "' (want MxKxN[:gelu|:res][:bf16out])");
  e.s = {m, k, n};
  for (size_t i = 1; i < parts.size(); ++i) {
    if (parts[i] == "gelu" || parts[i] == "gelutanh" || parts[i] == "res" || parts[i] == "none") e.epilogue = parts[i];
    else if (parts[i] == "bf16out") e.bf16_out = true;
    else throw std::runtime_error("bad shape option '" + parts[i] + "' in '" + text + "'");
  }
  return e;
}

// One engine-shaped matmul: the engine's packing and epilogues, timed per call (wall and CPU).
nlohmann::json time_engine_shape(const EngineShape& es, dt type, int64_t pack_m, int threads, double budget_s) {
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream strm(eng);
  const Shape& s = es.s;
  const dt out_t = es.bf16_out ? dt::bf16 : dt::f32;
  dnnl::memory::desc w_any({s.k, s.n}, type, tag::any), b_md({1, s.n}, dt::f32, tag::ab);
  auto packed_pd = dnnl::matmul::primitive_desc(
      dnnl::matmul::desc(dnnl::memory::desc({pack_m, s.k}, type, tag::ab), w_any, b_md,
                         dnnl::memory::desc({pack_m, s.n}, dt::f32, tag::ab)),
      eng);
  dnnl::memory::desc a_md({s.m, s.k}, type, tag::ab), c_md({s.m, s.n}, out_t, tag::ab);
  dnnl::post_ops po;
  if (es.epilogue == "gelu") po.append_eltwise(1.f, dnnl::algorithm::eltwise_gelu_erf, 0.f, 0.f);
  if (es.epilogue == "gelutanh") po.append_eltwise(1.f, dnnl::algorithm::eltwise_gelu_tanh, 0.f, 0.f);
  if (es.epilogue == "res") {
    po.append_binary(dnnl::algorithm::binary_mul, dnnl::memory::desc({1, s.n}, dt::f32, tag::ab));
    po.append_sum(1.f);
  }
  dnnl::primitive_attr attr;
  attr.set_post_ops(po);
  bool reorder_per_call = false;
  dnnl::matmul::primitive_desc pd;
  try {
    pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(a_md, packed_pd.weights_desc(), b_md, c_md), attr, eng);
  } catch (const dnnl::error&) {
    pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(a_md, w_any, b_md, c_md), attr, eng);
    reorder_per_call = true;
  }
  dnnl::matmul mm(pd);
  dnnl::memory a(a_md, eng), c(c_md, eng), bias(b_md, eng), lam(dnnl::memory::desc({1, s.n}, dt::f32, tag::ab), eng);
  dnnl::memory w_plain(dnnl::memory::desc({s.k, s.n}, type, tag::ab), eng);
  dnnl::memory w_packed(packed_pd.weights_desc(), eng), w_call(pd.weights_desc(), eng);
  fill_random(a, strm, eng, type);
  fill_random(w_plain, strm, eng, type);
  dnnl::reorder(w_plain, w_packed).execute(strm, w_plain, w_packed);
  std::memset(bias.get_data_handle(), 0, s.n * 4);
  std::fill_n(static_cast<float*>(lam.get_data_handle()), s.n, 0.1f);
  std::memset(c.get_data_handle(), 0, c_md.get_size());
  strm.wait();
  auto run = [&] {
    if (reorder_per_call) dnnl::reorder(w_packed, w_call).execute(strm, w_packed, w_call);
    std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, reorder_per_call ? w_call : w_packed},
                                               {DNNL_ARG_BIAS, bias}, {DNNL_ARG_DST, c}};
    if (es.epilogue == "res") args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, lam);
    mm.execute(strm, args);
    strm.wait();
  };
  run();
  std::vector<double> wall, cpu;
  const auto t0 = std::chrono::steady_clock::now();
  while (wall.size() < 5 || (seconds_since(t0) < budget_s && wall.size() < 400)) {
    const double c0 = cpu_seconds();
    const auto t = std::chrono::steady_clock::now();
    run();
    wall.push_back(seconds_since(t));
    cpu.push_back(cpu_seconds() - c0);
  }
  auto med = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const double flop = 2.0 * double(s.m) * double(s.k) * double(s.n);
  const double best = *std::min_element(wall.begin(), wall.end()), median = med(wall), cpu_med = med(cpu);
  nlohmann::json j;
  j["shape_mkn"] = {s.m, s.k, s.n};
  j["epilogue"] = es.epilogue;
  j["dst"] = es.bf16_out ? "bf16" : "f32";
  j["impl"] = pd.impl_info_str();
  j["weights_reordered_per_call"] = reorder_per_call;
  j["reps"] = wall.size();
  j["best_ms"] = best * 1e3;
  j["median_ms"] = median * 1e3;
  j["cpu_ms_median"] = cpu_med * 1e3;
  j["gflops_best"] = flop / best / 1e9;
  j["gflops_median"] = flop / median / 1e9;
  // GFLOP/s if every thread had had a core to itself for the CPU time it used.
  j["gflops_per_cpu_s"] = flop / cpu_med / 1e9 * threads;
  return j;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2;
  double budget = 6.0;
  bool json_only = false;
  std::string shapes_arg, type_arg = "bf16";
  int64_t pack_m = 257;
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
          "  --json            print only the JSON line\n"
          "  --shapes LIST     time these engine shapes instead: MxKxN[:gelu|:res][:bf16out],...\n"
          "  --type T          bf16 (default) or fp32, for --shapes\n"
          "  --pack-m M        rows the weights are packed for, for --shapes (default 257)\n");
      return 0;
    } else if (a == "--threads") {
      threads = std::atoi(value().c_str());
    } else if (a == "--budget") {
      budget = std::atof(value().c_str());
    } else if (a == "--json") {
      json_only = true;
    } else if (a == "--shapes") {
      shapes_arg = value();
    } else if (a == "--type") {
      type_arg = value();
    } else if (a == "--pack-m") {
      pack_m = std::atoll(value().c_str());
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
  if (!shapes_arg.empty()) {
    if (type_arg != "bf16" && type_arg != "fp32") {
      std::fprintf(stderr, "matmul_peak: --type must be bf16 or fp32\n");
      return 2;
    }
    nlohmann::json rows = nlohmann::json::array();
    try {
      size_t start = 0;
      std::vector<EngineShape> list;
      for (size_t i = 0; i <= shapes_arg.size(); ++i)
        if (i == shapes_arg.size() || shapes_arg[i] == ',') {
          if (i > start) list.push_back(parse_engine_shape(shapes_arg.substr(start, i - start)));
          start = i + 1;
        }
      for (const EngineShape& es : list) {
        nlohmann::json j = time_engine_shape(es, type_arg == "bf16" ? dt::bf16 : dt::f32, pack_m, threads,
                                             budget / list.size());
        if (!json_only)
          std::printf("%5lldx%4lldx%4lld %-4s %-4s best %7.3f ms median %7.3f ms  %6.1f / %6.1f GFLOP/s  "
                      "cpu-based %6.1f  %s%s\n",
                      (long long)es.s.m, (long long)es.s.k, (long long)es.s.n, es.epilogue.c_str(),
                      j["dst"].get<std::string>().c_str(), j["best_ms"].get<double>(), j["median_ms"].get<double>(),
                      j["gflops_best"].get<double>(), j["gflops_median"].get<double>(),
                      j["gflops_per_cpu_s"].get<double>(), j["impl"].get<std::string>().c_str(),
                      j["weights_reordered_per_call"].get<bool>() ? " (weights reordered per call)" : "");
        rows.push_back(j);
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "matmul_peak: %s\n", e.what());
      return 2;
    }
    std::printf("%s\n", nlohmann::json{{"threads", threads}, {"type", type_arg}, {"pack_m", pack_m}, {"shapes", rows}}
                             .dump()
                             .c_str());
    return 0;
  }

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
