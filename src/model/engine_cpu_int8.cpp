// The CPU engine's int8 mode (docs/engine.md, "int8"): u8 x s8 GEMMs on per-channel int8
// weights with per-token dynamic (asymmetric) activation scales, epilogues fused with GELU,
// LayerNorm and the next quantisation, and SmoothQuant against the activation
// outliers of ViTs: each matmul input channel j is divided by s_j and the matching weight column
// multiplied by it, so that a channel 60x the rest no longer sets every token's quantisation step.
// The scales come from a calibration pass at load over synthetic images; for the QKV and fc1
// inputs they are folded into the LayerNorm before them, so they cost nothing at run time.
#include <cstdio>
#include <random>

#include "model/engine_cpu.h"
#include "model/quant.h"

namespace vf::model::cpu {
namespace {

// SmoothQuant's migration strength: s_j = max|X_j|^a / max|W_j|^(1-a). VF_INT8_SMOOTH_ALPHA
// overrides it (0 turns smoothing off), for measuring.
double smoothing_alpha() {
  static const double alpha = [] {
    const char* v = std::getenv("VF_INT8_SMOOTH_ALPHA");
    return v && *v ? std::atof(v) : 0.5;
  }();
  return alpha;
}

// w [N, K] with column k multiplied by s[k].
std::vector<float> scale_columns(std::vector<float> w, const std::vector<float>& s) {
  const size_t K = s.size();
  for (size_t row = 0; row < w.size(); row += K)
    for (size_t k = 0; k < K; ++k) w[row + k] *= s[k];
  return w;
}

std::vector<float> divided(const std::vector<float>& v, const std::vector<float>& s) {
  std::vector<float> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = v[i] / s[i];
  return out;
}

// Attention in bf16 where the CPU has AVX512-BF16 (else oneDNN would emulate it, slowly).
bool bf16_attention() {
  static const bool native = cpu_has_avx512_bf16();
  return native;
}

// Bump when the calibration or the weight quantisation changes what int8 computes at load:
// int8 cache files of another version are then never used (the version is in their name).
constexpr int kInt8CalibrationVersion = 1;

}  // namespace

std::string int8_cache_tag() {
  char tag[64];
  std::snprintf(tag, sizeof(tag), "int8-sq%g-cal%d", smoothing_alpha(), kInt8CalibrationVersion);
  return tag;
}

// Two 224 px images in the model's normalised pixel space: white noise (every patch differs)
// and a smooth colour field with edges (what photographs look like more), so that the channel
// maxima see both kinds of token.
Int8Calibration CpuEngine::start_int8_calibration() const {
  const int size = 224, P = info_.patch_size;
  const int side = std::max(P, size / P * P);
  std::vector<float> px(static_cast<size_t>(2) * 3 * side * side);
  std::mt19937 rng(1234);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const size_t plane = static_cast<size_t>(side) * side;
  for (size_t i = 0; i < 3 * plane; ++i) px[i] = normal(rng);
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < side; ++y)
      for (int x = 0; x < side; ++x) {
        const float v = std::sin(0.05f * x * (c + 1)) + std::cos(0.03f * y * (3 - c)) + (x > side / 2 ? 0.8f : -0.8f);
        px[3 * plane + c * plane + static_cast<size_t>(y) * side + x] = std::clamp(v, -2.1f, 2.6f);
      }
  Int8Calibration cal;
  dnnl::stream s(eng_);
  cal.nimg = 2;
  cal.T = 1 + info_.num_registers + static_cast<int64_t>(side / P) * (side / P);
  cal.x = embed_tokens(s, px.data(), cal.nimg, side, side);
  cal.buf = std::make_unique<BlockBuffers>(cal.nimg * cal.T, info_.hidden_size, info_.intermediate_size, dt::s8,
                                           info_.swiglu);
  return cal;
}

void CpuEngine::pack_layer_int8(RawLayer r, int l, Layer& L, Int8Calibration& cal) {
  const int D = info_.hidden_size, I = info_.intermediate_size, hidden = info_.swiglu ? 2 * I : I;
  const std::string p = layer_prefix(l);  // cache entry names
  const double alpha = smoothing_alpha();
  L.ln1_w = std::move(r.ln1_w);
  L.ln1_b = std::move(r.ln1_b);
  L.ln2_w = std::move(r.ln2_w);
  L.ln2_b = std::move(r.ln2_b);
  // Packs each linear layer when the calibration reaches its input. run_block_int8 reads the
  // layer through a const reference to this same object, so it sees what was packed here.
  const Int8Fit fit = [&](Int8Slot slot, const float* input, int64_t rows) {
    const bool after_ln = slot == Int8Slot::QKV || slot == Int8Slot::Fc1;
    const int K = slot == Int8Slot::Fc2 ? I : D;
    const std::vector<float> w = slot == Int8Slot::QKV ? r.w_qkv()
                                 : slot == Int8Slot::Proj ? r.w_proj()
                                 : slot == Int8Slot::Fc1 ? r.w_fc1()
                                                         : r.w_fc2();
    const int N = static_cast<int>(w.size() / K);
    std::vector<float> amax;
    channel_absmax(input, rows, K, amax);
    const std::vector<float> s = alpha > 0 ? smoothing_scales(amax, w, N, K, alpha) : std::vector<float>(K, 1.0f);
    std::vector<float> ws = scale_columns(w, s);
    switch (slot) {
      case Int8Slot::QKV:
        L.ln1_wq = divided(L.ln1_w, s);
        L.ln1_bq = divided(L.ln1_b, s);
        L.qkv = pack_linear(p + "qkv", std::move(ws), D, N, std::move(r.b_qkv), dt::s8);
        break;
      case Int8Slot::Proj:
        L.proj = pack_linear(p + "proj", std::move(ws), D, N, std::move(r.b_proj), dt::s8);
        L.proj.scale = std::move(r.lambda1);
        break;
      case Int8Slot::Fc1:
        L.ln2_wq = divided(L.ln2_w, s);
        L.ln2_bq = divided(L.ln2_b, s);
        L.fc1 = pack_linear(p + (info_.swiglu ? "weights_in" : "fc1"), std::move(ws), D, hidden, std::move(r.b_fc1), dt::s8);
        break;
      case Int8Slot::Fc2:
        L.fc2 = pack_linear(p + (info_.swiglu ? "weights_out" : "fc2"), std::move(ws), I, N, std::move(r.b_fc2), dt::s8);
        L.fc2.scale = std::move(r.lambda2);
        break;
    }
    if (!after_ln) {
      auto& lin = slot == Int8Slot::Proj ? L.proj : L.fc2;
      lin.smooth_inv.resize(K);
      for (int k = 0; k < K; ++k) lin.smooth_inv[k] = 1.0f / s[k];
    }
  };
  dnnl::stream s(eng_);
  profile_rows = 0;
  run_block_int8(s, L, cal.x.data(), cal.nimg, cal.T, *cal.buf, &fit);
}

void CpuEngine::run_linear_int8(dnnl::stream& s, const PackedLinear& L, int64_t M, const uint8_t* q,
                                const float* row_scale, const int32_t* row_zero, int32_t* acc, float* out,
                                Epilogue ep) const {
  const MatmulEntry& e = linear_prim(L, M, dt::u8, dt::s32, Epilogue::None);
  memory src_m({{M, L.K}, dt::u8, tag::ab}, eng_, const_cast<uint8_t*>(q));
  memory dst_m({{M, L.N}, dt::s32, tag::ab}, eng_, acc);
  memory w = L.weights;
  if (e.reorder_weights) {
    w = memory(e.pd.weights_desc(), eng_);
    dnnl::reorder(L.weights, w).execute(s, const_cast<memory&>(L.weights), w);
  }
  {
    OpTimer t("int8.gemm", profile_rows);
    exec(s, e.prim, e.pd, {{DNNL_ARG_SRC, src_m}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, dst_m}}, eng_);
    s.wait();
  }
  if (!out) return;  // the caller runs a fused epilogue on acc
  {
    OpTimer t("int8.epilogue", profile_rows, static_cast<double>(M) * L.N * (ep == Epilogue::ScaleAddResidual ? 12 : 8));
    int8_epilogue(acc, M, L.N, row_scale, row_zero, L.wscale.data(), L.wsum.data(), L.bias.data(),
                  ep == Epilogue::ScaleAddResidual ? L.scale.data() : nullptr, out, threads_);
  }
  if (ep == Epilogue::Gelu) {
    OpTimer t("gelu", profile_rows, static_cast<double>(M) * L.N * 8);
    gelu_inplace(s, out, M * L.N);
  }
}

// Per-token dynamic quantisation of every matmul input (smoothed); attention, LayerNorm, GELU
// and residuals in fp32. With `fit` (calibration) each linear is packed when its input is first seen.
void CpuEngine::run_block_int8(dnnl::stream& s, const Layer& L, float* x, int nimg, int64_t T, BlockBuffers& b,
                               const Int8Fit* fit) const {
  const int64_t M = nimg * T, D = info_.hidden_size, I = info_.intermediate_size;
  const double eps = info_.layer_norm_eps;
  const int64_t R = profile_rows;
  uint8_t* q8 = b.q8.data();
  float* qs = b.qscale.data();
  int32_t* qz = b.qzero.data();
  int32_t* acc = b.acc.data();
  auto quantize = [&](const float* src, int64_t K, const std::vector<float>& inv_smooth) {
    OpTimer t("quantize", R, static_cast<double>(M) * K * 5);
    quantize_rows_u8(src, M, static_cast<int>(K), inv_smooth.data(), q8, qs, qz, threads_);
  };
  // LayerNorm then quantisation in one pass; in calibration, the fp32 LayerNorm output first.
  auto norm_quantize = [&](const std::vector<float>& w, const std::vector<float>& bias, Int8Slot slot) {
    if (fit) {
      layer_norm_rows(x, M, static_cast<int>(D), w.data(), bias.data(), eps, b.ln32.data(), nullptr, threads_);
      (*fit)(slot, b.ln32.data(), M);
    }
    const bool first = slot == Int8Slot::QKV;
    OpTimer t("layernorm+quantize", R, static_cast<double>(M) * D * 5);
    layer_norm_quantize_rows(x, M, static_cast<int>(D), (first ? L.ln1_wq : L.ln2_wq).data(),
                             (first ? L.ln1_bq : L.ln2_bq).data(), eps, q8, qs, qz, threads_);
  };
  norm_quantize(L.ln1_w, L.ln1_b, Int8Slot::QKV);
  const bool bf16_attn = bf16_attention() && !fit;
  {
    OpTimer t("mm.qkv", R);
    // bf16 attention reads Q, K and V as bf16: the epilogue writes them so.
    run_linear_int8(s, L.qkv, M, q8, qs, qz, acc, bf16_attn ? nullptr : b.qkv.data(), Epilogue::None);
    if (bf16_attn) {
      OpTimer te("int8.epilogue", R, static_cast<double>(M) * 3 * D * 6);
      int8_epilogue_bf16(acc, M, static_cast<int>(3 * D), qs, qz, L.qkv.wscale.data(), L.qkv.wsum.data(),
                         L.qkv.bias.data(), b.qkv16.data(), threads_);
    }
  }
  if (bf16_attn) {
    // Q, K, V and P in bf16 with fp32 accumulation, as the bf16 mode does: half the time of fp32
    // attention where the CPU multiplies bf16 natively, and far below the int8 error.
    attention_->run(s, b.qkv16.data(), nimg, T, D, b.attn16.data(), dt::bf16, R);
    OpTimer t("quantize", R, static_cast<double>(M) * D * 3);
    quantize_rows_u8(b.attn16.data(), M, static_cast<int>(D), L.proj.smooth_inv.data(), q8, qs, qz, threads_);
  } else {
    attention_->run(s, b.qkv.data(), nimg, T, D, b.attn32.data(), dt::f32, R);
    if (fit) (*fit)(Int8Slot::Proj, b.attn32.data(), M);
    quantize(b.attn32.data(), D, L.proj.smooth_inv);
  }
  if (!fit) {
    // The residual add, LayerNorm 2 and the quantisation of fc1's input in the projection's epilogue.
    OpTimer t("mm.proj+res+layernorm+quantize", R);
    run_linear_int8(s, L.proj, M, q8, qs, qz, acc, nullptr, Epilogue::None);
    OpTimer te("int8.epilogue+layernorm+quantize", R, static_cast<double>(M) * D * 13);
    int8_epilogue_residual_norm_quantize(acc, M, static_cast<int>(D), qs, qz, L.proj.wscale.data(),
                                         L.proj.wsum.data(), L.proj.bias.data(), L.proj.scale.data(), x,
                                         L.ln2_wq.data(), L.ln2_bq.data(), eps, q8, threads_);
  } else {
    run_linear_int8(s, L.proj, M, q8, qs, qz, acc, x, Epilogue::ScaleAddResidual);
    norm_quantize(L.ln2_w, L.ln2_b, Int8Slot::Fc1);
  }
  if (info_.swiglu) {
    run_linear_int8(s, L.fc1, M, q8, qs, qz, acc, b.swi.data(), Epilogue::None);
    swiglu_gate(b.swi.data(), M, static_cast<int>(I), b.hid32.data(), nullptr, threads_);
  } else if (!fit) {
    // GELU and the quantisation of fc2's input fused into fc1's epilogue.
    OpTimer t("mm.fc1+gelu+quantize", R);
    run_linear_int8(s, L.fc1, M, q8, qs, qz, acc, nullptr, Epilogue::None);
    OpTimer te("int8.epilogue+gelu+quantize", R, static_cast<double>(M) * I * 5);
    int8_epilogue_gelu_quantize(acc, M, static_cast<int>(I), qs, qz, L.fc1.wscale.data(), L.fc1.wsum.data(),
                                L.fc1.bias.data(), L.fc2.smooth_inv.data(), q8, threads_);
  } else {
    run_linear_int8(s, L.fc1, M, q8, qs, qz, acc, b.hid32.data(), Epilogue::Gelu);
  }
  if (info_.swiglu || fit) {
    if (fit) (*fit)(Int8Slot::Fc2, b.hid32.data(), M);
    quantize(b.hid32.data(), I, L.fc2.smooth_inv);
  }
  OpTimer t("mm.fc2+res", R);
  run_linear_int8(s, L.fc2, M, q8, qs, qz, acc, x, Epilogue::ScaleAddResidual);
}

}  // namespace vf::model::cpu
