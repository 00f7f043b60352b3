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

// (image, head) pairs per group: the group's fp32 scores [g, T, T] about
// VF_ATTENTION_SCORE_BYTES (default 2 MiB), so that QK^T, softmax and PV meet them in cache.
// The whole batch at once (96 pairs at batch 8) was 25 MB of scores streamed three times.
int64_t pairs_per_group(int64_t pairs, int64_t T) {
  static const int64_t budget = [] {
    const char* v = std::getenv("VF_ATTENTION_SCORE_BYTES");
    return v && std::atoll(v) > 0 ? std::atoll(v) : int64_t{2} << 20;
  }();
  return std::clamp<int64_t>(budget / (T * T * 4), 1, pairs);
}

void run_prim(dnnl::stream& s, const dnnl::primitive& p, const dnnl::primitive_desc_base& pd,
              std::unordered_map<int, memory> args, const dnnl::engine& eng) {
  memory scratch;
  if (pd.scratchpad_desc().get_size() > 0) {
    scratch = memory(pd.scratchpad_desc(), eng);
    args.emplace(DNNL_ARG_SCRATCHPAD, scratch);
  }
  p.execute(s, args);
}

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
  } else if (w == "pv") {
    memory::desc pm({g, T, T}, act, tag::abc), v({g, T, hd}, act, tag::abc), out({g, T, hd}, dt::f32, tag::abc);
    auto pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(pm, v, out), attr, eng_);
    p->prim = dnnl::matmul(pd);
    p->pd = pd;
  } else {
    memory::desc src({g, T, T}, dt::f32, tag::abc), dst({g, T, T}, act, tag::abc);
    auto build = [&](const memory::desc& d) {
      return dnnl::softmax_v2_forward::primitive_desc(
          dnnl::softmax_v2_forward::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::softmax_accurate, src,
                                         d, 2),
          attr, eng_);
    };
    auto pd = build(dst);
    if (act != dt::f32 && std::string(pd.impl_info_str()).rfind("ref", 0) == 0) {
      pd = build(src);  // no fast mixed-type kernel: softmax in fp32, then convert
      p->softmax_to_f32 = true;
    }
    p->prim = dnnl::softmax_v2_forward(pd);
    p->pd = pd;
  }
  std::unique_lock lk(mu_);
  auto [it, inserted] = cache_.emplace(key, std::move(p));
  return *it->second;
}

void Attention::run(dnnl::stream& s, const float* qkv, int nimg, int64_t T, int64_t D, void* out, dt act,
                    int64_t profile_rows) const {
  const int64_t H = heads_, hd = D / H, pairs = nimg * H;
  const bool bf16 = act == dt::bf16;
  const int64_t esz = bf16 ? 2 : 4;  // bytes per Q/K/V/P element
  // Scratch is left uninitialised: every element is written before it is read, and zero-filling
  // these buffers (several MB per call) was memory traffic for nothing.
  const int64_t qkv_n = pairs * T * hd * esz / 2;
  std::unique_ptr<uint16_t[]> q(new uint16_t[qkv_n]), k(new uint16_t[qkv_n]), v(new uint16_t[qkv_n]);
  std::unique_ptr<float[]> ctx(new float[pairs * T * hd]);
  {
    // Split heads: qkv row (b,t) = [q(D) k(D) v(D)] -> [b*H + h, t, hd], converted to `act`.
    OpTimer t("attn.split", profile_rows, static_cast<double>(pairs) * T * hd * 3 * (4 + esz));
    char* dst[3] = {reinterpret_cast<char*>(q.get()), reinterpret_cast<char*>(k.get()),
                    reinterpret_cast<char*>(v.get())};
#pragma omp parallel for num_threads(threads_) collapse(2) schedule(static)
    for (int64_t bi = 0; bi < nimg; ++bi)
      for (int64_t t = 0; t < T; ++t) {
        const float* row = qkv + (bi * T + t) * 3 * D;
        for (int part = 0; part < 3; ++part)
          for (int64_t h = 0; h < H; ++h) {
            const int64_t o = ((bi * H + h) * T + t) * hd;
            const float* src = row + part * D + h * hd;
            if (bf16)
              to_bf16_serial(src, reinterpret_cast<uint16_t*>(dst[part]) + o, hd);
            else
              std::memcpy(reinterpret_cast<float*>(dst[part]) + o, src, hd * 4);
          }
      }
  }
  const int64_t g_full = pairs_per_group(pairs, T);
  std::unique_ptr<float[]> sc(new float[g_full * T * T]);
  std::unique_ptr<uint16_t[]> p16(new uint16_t[bf16 ? g_full * T * T : 1]);
  for (int64_t g0 = 0; g0 < pairs; g0 += g_full) {
    const int64_t g = std::min(g_full, pairs - g0);
    char* qg = reinterpret_cast<char*>(q.get()) + g0 * T * hd * esz;
    char* kg = reinterpret_cast<char*>(k.get()) + g0 * T * hd * esz;
    char* vg = reinterpret_cast<char*>(v.get()) + g0 * T * hd * esz;
    memory scm({{g, T, T}, dt::f32, tag::abc}, eng_, sc.get());
    memory pm = bf16 ? memory({{g, T, T}, dt::bf16, tag::abc}, eng_, p16.get()) : scm;
    {
      OpTimer t("attn.qk", profile_rows);
      const Prim& qk = prim("qk", g, T, hd, act);
      run_prim(s, qk.prim, qk.pd,
               {{DNNL_ARG_SRC, memory({{g, T, hd}, act, tag::abc}, eng_, qg)},
                {DNNL_ARG_WEIGHTS, memory({{g, hd, T}, act, memory::dims{T * hd, 1, hd}}, eng_, kg)},
                {DNNL_ARG_DST, scm}},
               eng_);
      s.wait();
    }
    {
      OpTimer t("attn.softmax", profile_rows, static_cast<double>(g) * T * T * (4 + esz));
      const Prim& sm = prim("softmax", g, T, hd, act);
      run_prim(s, sm.prim, sm.pd, {{DNNL_ARG_SRC, scm}, {DNNL_ARG_DST, sm.softmax_to_f32 ? scm : pm}}, eng_);
      s.wait();
      if (bf16 && sm.softmax_to_f32) to_bf16(sc.get(), p16.get(), g * T * T, threads_);
    }
    {
      OpTimer t("attn.pv", profile_rows);
      const Prim& pv = prim("pv", g, T, hd, act);
      run_prim(s, pv.prim, pv.pd,
               {{DNNL_ARG_SRC, pm},
                {DNNL_ARG_WEIGHTS, memory({{g, T, hd}, act, tag::abc}, eng_, vg)},
                {DNNL_ARG_DST, memory({{g, T, hd}, dt::f32, tag::abc}, eng_, ctx.get() + g0 * T * hd)}},
               eng_);
      s.wait();
    }
  }
  // Merge heads back: [b*H + h, t, hd] -> out row (b,t), columns h*hd..
  OpTimer t("attn.merge", profile_rows, static_cast<double>(pairs) * T * hd * (4 + esz));
#pragma omp parallel for num_threads(threads_) collapse(2) schedule(static)
  for (int64_t bi = 0; bi < nimg; ++bi)
    for (int64_t t = 0; t < T; ++t) {
      const int64_t row = bi * T + t;
      for (int64_t h = 0; h < H; ++h) {
        const float* src = ctx.get() + ((bi * H + h) * T + t) * hd;
        if (bf16)
          to_bf16_serial(src, static_cast<uint16_t*>(out) + row * D + h * hd, hd);
        else
          std::memcpy(static_cast<float*>(out) + row * D + h * hd, src, hd * 4);
      }
    }
}

}  // namespace vf::model
