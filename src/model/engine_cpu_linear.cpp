// Linear layers of the CPU engine: weights packed once into oneDNN's preferred layout, one
// matmul primitive per shape and epilogue (bias, GELU, layer scale + residual), and the int8
// path with per-token activation scales. See docs/engine.md.
#include "model/engine_cpu.h"
#include "model/quant.h"

namespace vf::model::cpu {

memory::desc CpuEngine::packed_weights_desc(int K, int N, dt wdt) const {
  // Let oneDNN choose the weight layout for a typical token count (one 224px image); the
  // same packed weights then serve every M (see linear_prim).
  const int64_t M = 257;
  // int8: u8 activations with a zero point per token (see engine_cpu_int8.cpp), s32 results.
  const dt src_dt = wdt == dt::s8 ? dt::u8 : wdt;
  memory::desc src_md({M, K}, src_dt, tag::ab), w_any({K, N}, wdt, tag::any), b_md({1, N}, dt::f32, tag::ab),
      dst_md({M, N}, wdt == dt::s8 ? dt::s32 : dt::f32, tag::ab);
  try {
    if (wdt == dt::s8)
      return dnnl::matmul::primitive_desc(dnnl::matmul::desc(src_md, w_any, dst_md), base_attr(), eng_).weights_desc();
    return dnnl::matmul::primitive_desc(dnnl::matmul::desc(src_md, w_any, b_md, dst_md), base_attr(), eng_)
        .weights_desc();
  } catch (const dnnl::error& e) {
    throw Error(std::string("oneDNN cannot build a ") + (wdt == dt::bf16 ? "bf16" : wdt == dt::s8 ? "int8" : "fp32") +
                    " matmul on this CPU (" + e.what() + ")",
                ErrorCode::Generic);
  }
}

PackedLinear CpuEngine::pack_linear(const std::string& name, const WeightSource& weights, int K, int N,
                                    std::vector<float> bias, dt wdt) {
  OpTimer timer("load.pack", 0);
  PackedLinear L;
  L.name = name;
  L.K = K;
  L.N = N;
  L.bias = std::move(bias);
  L.wdt = wdt;
  std::vector<int8_t> wq;
  std::vector<float> w;
  if (wdt == dt::s8) {
    w = weights();
    // Symmetric per-output-channel weights; the bias is added in fp32 after the GEMM.
    L.wscale.resize(N);
    L.wsum.resize(N);
    wq.resize(static_cast<size_t>(N) * K);
    quantize_weights_s8(w.data(), N, K, wq.data(), L.wscale.data(), L.wsum.data(), threads_);
  }
  L.wdesc = packed_weights_desc(K, N, wdt);
  // int8 layers are looked up whole, calibration results included (engine_cpu_int8_cache.cpp).
  if (wdt != dt::s8 && packed_cache_) {
    // Packed before for exactly this layout: use the mapped file in place (read-only).
    if (const void* cached = packed_cache_->find(name, L.wdesc)) {
      L.weights = memory(L.wdesc, eng_, const_cast<void*>(cached));
      return L;
    }
    packed_cache_missed_ = true;
  }
  if (wdt != dt::s8) w = weights();
  L.weights = memory(L.wdesc, eng_);
  // W is [out, in] row-major, i.e. the [K, N] matrix in "ba" order.
  memory plain = wdt == dt::s8 ? memory({{K, N}, dt::s8, tag::ba}, eng_, wq.data())
                              : memory({{K, N}, dt::f32, tag::ba}, eng_, const_cast<float*>(w.data()));
  dnnl::stream s(eng_);
  dnnl::reorder(plain, L.weights).execute(s, plain, L.weights);
  s.wait();
  return L;
}

const MatmulEntry& CpuEngine::linear_prim(const PackedLinear& L, int64_t M, dt src_dt, dt dst_dt, Epilogue ep) const {
  const std::string key = key_of("lin", {reinterpret_cast<int64_t>(&L), M, static_cast<int64_t>(src_dt),
                                        static_cast<int64_t>(dst_dt), static_cast<int64_t>(ep)});
  {
    std::shared_lock lk(cache_mu_);
    auto it = matmuls_.find(key);
    if (it != matmuls_.end()) return *it->second;
  }
  memory::desc src_md({M, L.K}, src_dt, tag::ab), b_md({1, L.N}, dt::f32, tag::ab),
      dst_md({M, L.N}, dst_dt, tag::ab);
  auto entry = std::make_unique<MatmulEntry>();
  auto build = [&](bool fuse_residual) {
    auto attr = base_attr();
    if (L.wdt == dt::s8) {
      try {
        entry->pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(src_md, L.wdesc, dst_md), attr, eng_);
        entry->reorder_weights = false;
      } catch (const dnnl::error&) {
        memory::desc w_any({L.K, L.N}, L.wdt, tag::any);
        entry->pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(src_md, w_any, dst_md), attr, eng_);
        entry->reorder_weights = true;
      }
      return;
    }
    dnnl::post_ops po;
    if (ep == Epilogue::Gelu) po.append_eltwise(1.f, dnnl::algorithm::eltwise_gelu_erf, 0.f, 0.f);
    if (ep == Epilogue::ScaleAddResidual && fuse_residual) {
      po.append_binary(dnnl::algorithm::binary_mul, memory::desc({1, L.N}, dt::f32, tag::ab));
      po.append_sum(1.f);
    }
    attr.set_post_ops(po);
    try {
      entry->pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(src_md, L.wdesc, b_md, dst_md), attr, eng_);
      entry->reorder_weights = false;
    } catch (const dnnl::error&) {
      // This shape wants another weight layout: reorder the packed weights per call.
      memory::desc w_any({L.K, L.N}, L.wdt, tag::any);
      entry->pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(src_md, w_any, b_md, dst_md), attr, eng_);
      entry->reorder_weights = true;
    }
  };
  build(true);
  if (L.wdt != dt::s8 && ep == Epilogue::ScaleAddResidual && std::string(entry->pd.impl_info_str()).rfind("ref", 0) == 0) {
    build(false);
    entry->unfused_residual = true;
  }
  entry->prim = dnnl::matmul(entry->pd);
  std::unique_lock lk(cache_mu_);
  auto [it, inserted] = matmuls_.emplace(key, std::move(entry));
  return *it->second;
}

void CpuEngine::run_linear(dnnl::stream& s, const PackedLinear& L, int64_t M, const void* src, dt src_dt, void* dst,
                           dt dst_dt, Epilogue ep) const {
  const MatmulEntry& e = linear_prim(L, M, src_dt, dst_dt, ep);
  memory src_m({{M, L.K}, src_dt, tag::ab}, eng_, const_cast<void*>(src));
  std::vector<float> tmp;
  if (e.unfused_residual) tmp.resize(static_cast<size_t>(M) * L.N);
  memory dst_m({{M, L.N}, dst_dt, tag::ab}, eng_, e.unfused_residual ? static_cast<void*>(tmp.data()) : dst);
  memory bias_m({{1, L.N}, dt::f32, tag::ab}, eng_, const_cast<float*>(L.bias.data()));
  memory w = L.weights;
  if (e.reorder_weights) {
    w = memory(e.pd.weights_desc(), eng_);
    dnnl::reorder(L.weights, w).execute(s, const_cast<memory&>(L.weights), w);
  }
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, src_m}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_BIAS, bias_m}, {DNNL_ARG_DST, dst_m}};
  if (ep == Epilogue::ScaleAddResidual && !e.unfused_residual)
    args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1,
                 memory({{1, L.N}, dt::f32, tag::ab}, eng_, const_cast<float*>(L.scale.data())));
  exec(s, e.prim, e.pd, std::move(args), eng_);
  if (e.unfused_residual) {
    s.wait();
    float* x = static_cast<float*>(dst);
    const float* lambda = L.scale.data();
    const int64_t N = L.N;
#pragma omp parallel for num_threads(threads_) schedule(static)
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) x[m * N + n] += lambda[n] * tmp[m * N + n];
  }
}

}  // namespace vf::model::cpu
