#include "model/attention.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "model/kernels.h"
#include "model/profile.h"

namespace vf::model {
namespace {

using dnnl::memory;
using dt = memory::data_type;
using tag = memory::format_tag;

}  // namespace

const Attention::Prim& Attention::prim(const char* what, int64_t g, int64_t T, int64_t hd, dt act) const {
  const std::string key = std::string(what) + ":" + std::to_string(g) + ":" + std::to_string(T) + ":" +
                          std::to_string(hd) + ":" + std::to_string(static_cast<int>(act));
  {
    std::shared_lock lk(mu_);
    auto it = cache_.find(key);
    if (it != cache_.end()) return *it->second;
  }
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);  // concurrent forward() calls
  auto p = std::make_unique<Prim>();
  const std::string w = what;
  if (w == "qk") {
    // The scale is applied to the fp32 accumulator, as in HF's matmul(q, k^T) * scale.
    attr.set_output_scales(0, {static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd)))});
    memory::desc q({g, T, hd}, act, tag::abc), kt({g, hd, T}, act, memory::dims{T * hd, 1, hd}),
        out({g, T, T}, dt::f32, tag::abc);
    auto pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(q, kt, out), attr, eng_);
    p->prim = dnnl::matmul(pd);
    p->pd = pd;
  } else {
    // The context comes out in `act` (bf16: rounded once, as the merge used to round it).
    memory::desc pm({g, T, T}, act, tag::abc), v({g, T, hd}, act, tag::abc), out({g, T, hd}, act, tag::abc);
    auto pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(pm, v, out), attr, eng_);
    p->prim = dnnl::matmul(pd);
    p->pd = pd;
  }
  std::unique_lock lk(mu_);
  auto [it, inserted] = cache_.emplace(key, std::move(p));
  return *it->second;
}

void Attention::run(dnnl::stream&, const void* qkv, int nimg, int64_t T, int64_t D, void* out, dt act,
                    int64_t profile_rows) const {
  const int64_t H = heads_, hd = D / H, pairs = nimg * H;
  const bool bf16 = act == dt::bf16;
  const int64_t esz = bf16 ? 2 : 4;  // bytes per Q/K/V/P/context element
  OpTimer timer("attention", profile_rows);
  const Prim& qk = prim("qk", 1, T, hd, act);
  const Prim& pv = prim("pv", 1, T, hd, act);
  const char* src = static_cast<const char*>(qkv);
  // One parallel region: each thread takes whole (image, head) pairs and runs Q K^T, the
  // softmax and P V on its own, with the pair's Q, K, V, scores and context in its own cache
  // (~0.5 MB at 257 tokens). oneDNN runs single-threaded inside the region. Before, every
  // step was a region of its own over groups of pairs (three barriers per group, plus a split
  // and a merge pass over the whole chunk).
#pragma omp parallel num_threads(threads_)
  {
    dnnl::stream ts(eng_);
    // Uninitialised scratch: every element is written before it is read.
    std::unique_ptr<char[]> q(new char[T * hd * esz]), k(new char[T * hd * esz]), v(new char[T * hd * esz]),
        ctx(new char[T * hd * esz]);
    std::unique_ptr<float[]> sc(new float[T * T]);
    std::unique_ptr<uint16_t[]> p16(new uint16_t[bf16 ? T * T : 1]);
    memory qm({{1, T, hd}, act, tag::abc}, eng_, q.get());
    memory ktm({{1, hd, T}, act, memory::dims{T * hd, 1, hd}}, eng_, k.get());
    memory vm({{1, T, hd}, act, tag::abc}, eng_, v.get()), cm({{1, T, hd}, act, tag::abc}, eng_, ctx.get());
    memory scm({{1, T, T}, dt::f32, tag::abc}, eng_, sc.get());
    memory pm = bf16 ? memory({{1, T, T}, dt::bf16, tag::abc}, eng_, p16.get()) : scm;
#pragma omp for schedule(static)
    for (int64_t pair = 0; pair < pairs; ++pair) {
      const int64_t bi = pair / H, h = pair % H;
      // This head's columns of the qkv rows [q(D) k(D) v(D)] (already `act`).
      for (int64_t t = 0; t < T; ++t) {
        const char* row = src + ((bi * T + t) * 3 * D + h * hd) * esz;
        std::memcpy(q.get() + t * hd * esz, row, hd * esz);
        std::memcpy(k.get() + t * hd * esz, row + D * esz, hd * esz);
        std::memcpy(v.get() + t * hd * esz, row + 2 * D * esz, hd * esz);
      }
      exec(ts, qk.prim, qk.pd, {{DNNL_ARG_SRC, qm}, {DNNL_ARG_WEIGHTS, ktm}, {DNNL_ARG_DST, scm}}, eng_);
      ts.wait();
      softmax_rows(sc.get(), T, static_cast<int>(T), bf16 ? p16.get() : nullptr, 1);
      exec(ts, pv.prim, pv.pd, {{DNNL_ARG_SRC, pm}, {DNNL_ARG_WEIGHTS, vm}, {DNNL_ARG_DST, cm}}, eng_);
      ts.wait();
      for (int64_t t = 0; t < T; ++t)
        std::memcpy(static_cast<char*>(out) + ((bi * T + t) * D + h * hd) * esz, ctx.get() + t * hd * esz, hd * esz);
    }
  }
}

}  // namespace vf::model
