// The CPU DINOv2 engine: oneDNN matmuls (weights pre-packed once at load, fused bias / GELU /
// layer-scale + residual epilogues), layer by layer over cache-sized chunks of images,
// attention in attention.cpp, fp32 LayerNorm / softmax / residuals. See docs/engine.md.
#include "model/engine_cpu.h"

namespace vf {

int64_t Tensor::numel() const {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  return shape.empty() ? 0 : n;
}

namespace model {
namespace cpu {

namespace {
// A weight read from the safetensors file only when called (the packed-weights cache may make
// reading it unnecessary).
WeightSource lazy_tensor(const SafetensorsFile& st, const std::string& name, std::vector<int64_t> shape) {
  return [&st, name, shape] { return st.read_f32(name, shape); };
}
}  // namespace

CpuEngine::CpuEngine(const EngineParams& params) {
  info_ = inspect_model(params.model_dir, true);
  legacy_offset_ = params.legacy_interpolate_offset;
  threads_ = params.threads > 0 ? params.threads : physical_core_count();
  precision_ = params.precision;
  // auto: int8 where the CPU has AVX512-VNNI (with SmoothQuant it holds cosine >= 0.999 to fp32,
  // outlier weights included, and is the fastest mode there), else bf16 where it multiplies bf16
  // natively, else fp32. docs/engine.md, "Precision modes".
  if (precision_ == Precision::Auto)
    precision_ = cpu_has_avx512_vnni()   ? Precision::INT8
                 : cpu_has_avx512_bf16() ? Precision::BF16
                                         : Precision::FP32;
  act_dt_ = precision_ == Precision::BF16 ? dt::bf16 : precision_ == Precision::INT8 ? dt::s8 : dt::f32;
  if (params.backend != "cpu")
    throw Error("backend '" + params.backend + "' is not available in this build (only cpu)",
                ErrorCode::InvalidArgument);

  attention_ = std::make_unique<Attention>(eng_, info_.num_heads, threads_);
  OmpThreadsScope omp(threads_);
  OpTimer timer("load", 0);
  const std::string wfile = weights_path(info_.model_dir);
  SafetensorsFile st(wfile);
  // The packed weights of an earlier load (int8: with its calibration), when there is a cache file.
  const bool int8 = act_dt_ == dt::s8;
  const std::string cache_path =
      PackedWeightsCache::path_for(info_.sha256, int8 ? int8_cache_tag().c_str() : to_string(precision_));
  packed_cache_ = std::make_unique<PackedWeightsCache>(cache_path);
  const int64_t D = info_.hidden_size, P = info_.patch_size, G = info_.image_size / info_.patch_size;
  cls_ = st.read_f32("embeddings.cls_token", {1, 1, D});
  pos_ = st.read_f32("embeddings.position_embeddings", {1, 1 + G * G, D});
  if (info_.num_registers > 0) registers_ = st.read_f32("embeddings.register_tokens", {1, info_.num_registers, D});
  patch_ = pack_linear("patch_embeddings", lazy_tensor(st, "embeddings.patch_embeddings.projection.weight", {D, 3, P, P}),
                       static_cast<int>(3 * P * P), static_cast<int>(D),
                       st.read_f32("embeddings.patch_embeddings.projection.bias", {D}), dt::f32);
  if (int8) {
    pack_layers_int8(st);
  } else {
    layers_.reserve(info_.num_layers);
    for (int l = 0; l < info_.num_layers; ++l) layers_.push_back(pack_layer(read_layer(st, l), l, act_dt_));
  }
  final_w_ = st.read_f32("layernorm.weight", {D});
  final_b_ = st.read_f32("layernorm.bias", {D});
  if (!cache_path.empty() && (!packed_cache_->loaded() || packed_cache_missed_)) save_packed_cache(cache_path);
}

void CpuEngine::save_packed_cache(const std::string& path) const {
  std::vector<PackedWeightsCache::Entry> entries{{patch_.name, patch_.wdesc, patch_.weights.get_data_handle()}};
  for (size_t l = 0; l < layers_.size(); ++l) {
    const Layer& L = layers_[l];
    for (const PackedLinear* lin : {&L.qkv, &L.proj, &L.fc1, &L.fc2})
      entries.push_back({lin->name, lin->wdesc, lin->weights.get_data_handle()});
    if (act_dt_ == dt::s8) append_int8_cache_entries(static_cast<int>(l), L, entries);
  }
  PackedWeightsCache::write(path, entries);  // a cache that cannot be written only costs the packing
}

RawLayer CpuEngine::read_layer(const SafetensorsFile& st, int l) const {
  const int64_t D = info_.hidden_size, I = info_.intermediate_size;
  const std::string p = layer_prefix(l);
  RawLayer r;
  r.ln1_w = st.read_f32(p + "norm1.weight", {D});
  r.ln1_b = st.read_f32(p + "norm1.bias", {D});
  r.ln2_w = st.read_f32(p + "norm2.weight", {D});
  r.ln2_b = st.read_f32(p + "norm2.bias", {D});
  // Q, K and V as one [3D, D] matrix: one GEMM instead of three.
  for (const char* n : {"query", "key", "value"}) {
    auto b = st.read_f32(p + "attention.attention." + n + ".bias", {D});
    r.b_qkv.insert(r.b_qkv.end(), b.begin(), b.end());
  }
  r.w_qkv = [&st, p, D] {
    std::vector<float> w;
    for (const char* n : {"query", "key", "value"}) {
      auto part = st.read_f32(p + "attention.attention." + n + ".weight", {D, D});
      w.insert(w.end(), part.begin(), part.end());
    }
    return w;
  };
  r.w_proj = lazy_tensor(st, p + "attention.output.dense.weight", {D, D});
  r.b_proj = st.read_f32(p + "attention.output.dense.bias", {D});
  r.lambda1 = st.read_f32(p + "layer_scale1.lambda1", {D});
  const std::string in = info_.swiglu ? "mlp.weights_in." : "mlp.fc1.", out = info_.swiglu ? "mlp.weights_out." : "mlp.fc2.";
  const int64_t hidden = info_.swiglu ? 2 * I : I;
  r.w_fc1 = lazy_tensor(st, p + in + "weight", {hidden, D});
  r.b_fc1 = st.read_f32(p + in + "bias", {hidden});
  r.w_fc2 = lazy_tensor(st, p + out + "weight", {D, I});
  r.b_fc2 = st.read_f32(p + out + "bias", {D});
  r.lambda2 = st.read_f32(p + "layer_scale2.lambda1", {D});
  return r;
}

// fp32/bf16: each linear layer's weights are read only when the packed-weights cache misses.
Layer CpuEngine::pack_layer(RawLayer r, int l, dt wdt) {
  const int D = info_.hidden_size, I = info_.intermediate_size, hidden = info_.swiglu ? 2 * I : I;
  const std::string p = layer_prefix(l);  // cache entry names
  Layer L;
  L.ln1_w = std::move(r.ln1_w);
  L.ln1_b = std::move(r.ln1_b);
  L.ln2_w = std::move(r.ln2_w);
  L.ln2_b = std::move(r.ln2_b);
  L.qkv = pack_linear(p + "qkv", r.w_qkv, D, 3 * D, std::move(r.b_qkv), wdt);
  L.proj = pack_linear(p + "proj", r.w_proj, D, D, std::move(r.b_proj), wdt);
  L.proj.scale = std::move(r.lambda1);
  const std::string in = info_.swiglu ? "weights_in" : "fc1", out = info_.swiglu ? "weights_out" : "fc2";
  L.fc1 = pack_linear(p + in, r.w_fc1, D, hidden, std::move(r.b_fc1), wdt);
  L.fc2 = pack_linear(p + out, r.w_fc2, I, D, std::move(r.b_fc2), wdt);
  L.fc2.scale = std::move(r.lambda2);
  return L;
}

void CpuEngine::gelu_inplace(dnnl::stream& s, float* x, int64_t n) const {
  dnnl::eltwise_forward::primitive_desc pd;
  const std::string key = key_of("gelu", {n});
  {
    std::shared_lock lk(cache_mu_);
    auto it = eltwises_.find(key);
    if (it != eltwises_.end()) pd = it->second;
  }
  if (!pd) {
    memory::desc md({n}, dt::f32, tag::a);
    pd = dnnl::eltwise_forward::primitive_desc(
        dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::eltwise_gelu_erf, md, 0.f,
                                    0.f),
        base_attr(), eng_);
    std::unique_lock lk(cache_mu_);
    eltwises_.emplace(key, pd);
  }
  memory m({{n}, dt::f32, tag::a}, eng_, x);
  exec(s, dnnl::eltwise_forward(pd), pd, {{DNNL_ARG_SRC, m}, {DNNL_ARG_DST, m}}, eng_);
  s.wait();
}

std::shared_ptr<const std::vector<float>> CpuEngine::pos_embed_for(int h, int w, int height, int width) const {
  const int G = info_.image_size / info_.patch_size, D = info_.hidden_size;
  const bool registers = info_.model_type == "dinov2_with_registers";
  // HF skips interpolation only when the patch count matches and the *pixel* input is square.
  const bool identity = h * w == G * G && height == width;
  const std::pair<int, int> key = identity ? std::pair<int, int>{-1, -1} : std::pair<int, int>{h, w};
  {
    std::shared_lock lk(cache_mu_);
    auto it = pos_cache_.find(key);
    if (it != pos_cache_.end()) return it->second;
  }
  std::shared_ptr<const std::vector<float>> table;
  if (identity) {
    table = std::make_shared<const std::vector<float>>(pos_.begin() + D, pos_.end());
  } else {
    // The registers model interpolates with antialias and never with the +0.1 offset
    // (Meta's *_reg models use interpolate_offset=0).
    const PosInterp mode = registers ? PosInterp::AntialiasA05
                                     : (legacy_offset_ ? PosInterp::BicubicLegacy : PosInterp::BicubicA075);
    table = std::make_shared<const std::vector<float>>(interpolate_pos_grid(pos_.data() + D, G, D, h, w, mode));
  }
  std::unique_lock lk(cache_mu_);
  auto [it, inserted] = pos_cache_.emplace(key, table);
  return it->second;
}

void CpuEngine::run_block(dnnl::stream& s, const Layer& L, float* x, int nimg, int64_t T, BlockBuffers& b) const {
  const int64_t M = nimg * T, D = info_.hidden_size, I = info_.intermediate_size;
  const double eps = info_.layer_norm_eps;
  const bool bf16 = act_dt_ == dt::bf16;
  const int64_t R = profile_rows;
  const double ln_bytes = static_cast<double>(M) * D * (4 + (bf16 ? 2 : 4));
  void* ln = bf16 ? static_cast<void*>(b.ln16.data()) : b.ln32.data();
  void* attn = bf16 ? static_cast<void*>(b.attn16.data()) : b.attn32.data();
  void* hid = bf16 ? static_cast<void*>(b.hid16.data()) : b.hid32.data();
  {
    OpTimer t("layernorm", R, ln_bytes);
    layer_norm_rows(x, M, static_cast<int>(D), L.ln1_w.data(), L.ln1_b.data(), eps, bf16 ? nullptr : b.ln32.data(),
                    bf16 ? b.ln16.data() : nullptr, threads_);
  }
  {
    OpTimer t("mm.qkv", R);
    // Q, K and V come out in the matmul input type: attention reads them as such.
    run_linear(s, L.qkv, M, ln, act_dt_, b.qkv.data(), act_dt_, Epilogue::None);
    s.wait();
  }
  attention_->run(s, b.qkv.data(), nimg, T, D, attn, act_dt_, R);
  {
    OpTimer t("mm.proj+res", R);
    run_linear(s, L.proj, M, attn, act_dt_, x, dt::f32, Epilogue::ScaleAddResidual);
    s.wait();
  }
  {
    OpTimer t("layernorm", R, ln_bytes);
    layer_norm_rows(x, M, static_cast<int>(D), L.ln2_w.data(), L.ln2_b.data(), eps, bf16 ? nullptr : b.ln32.data(),
                    bf16 ? b.ln16.data() : nullptr, threads_);
  }
  if (info_.swiglu) {
    run_linear(s, L.fc1, M, ln, act_dt_, b.swi.data(), dt::f32, Epilogue::None);
    s.wait();
    swiglu_gate(b.swi.data(), M, static_cast<int>(I), bf16 ? nullptr : b.hid32.data(), bf16 ? b.hid16.data() : nullptr,
                threads_);
  } else {
    OpTimer t("mm.fc1+gelu", R);
    run_linear(s, L.fc1, M, ln, act_dt_, hid, act_dt_, Epilogue::Gelu);
    s.wait();
  }
  OpTimer t("mm.fc2+res", R);
  run_linear(s, L.fc2, M, hid, act_dt_, x, dt::f32, Epilogue::ScaleAddResidual);
  s.wait();
}

// Patch conv as a GEMM over im2col rows, then CLS, positions, registers.
std::vector<float> CpuEngine::embed_tokens(dnnl::stream& s, const float* pixels, int batch, int height,
                                           int width) const {
  const int P = info_.patch_size, D = info_.hidden_size, R = info_.num_registers;
  const int gh = height / P, gw = width / P;
  const int64_t HW = static_cast<int64_t>(gh) * gw, T = 1 + R + HW, M = batch * T;
  const int64_t K = 3 * P * P;
  OpTimer timer("embeddings", M);
  std::vector<float> cols(batch * HW * K), patches(batch * HW * D);
#pragma omp parallel for num_threads(threads_) collapse(2) schedule(static)
  for (int b = 0; b < batch; ++b)
    for (int py = 0; py < gh; ++py)
      for (int px = 0; px < gw; ++px) {
        float* row = &cols[((static_cast<int64_t>(b) * gh + py) * gw + px) * K];
        for (int c = 0; c < 3; ++c)
          for (int ky = 0; ky < P; ++ky) {
            const float* src = pixels + ((static_cast<int64_t>(b) * 3 + c) * height + (py * P + ky)) * width + px * P;
            std::memcpy(row + (c * P + ky) * P, src, P * 4);
          }
      }
  run_linear(s, patch_, batch * HW, cols.data(), dt::f32, patches.data(), dt::f32, Epilogue::None);
  s.wait();
  const auto pos = pos_embed_for(gh, gw, height, width);
  std::vector<float> x(M * D);
  for (int b = 0; b < batch; ++b) {
    float* xb = &x[b * T * D];
    for (int d = 0; d < D; ++d) xb[d] = cls_[d] + pos_[d];
    for (int r = 0; r < R; ++r) std::memcpy(xb + (1 + r) * D, &registers_[r * D], D * 4);
    for (int64_t p = 0; p < HW; ++p) {
      float* dst = xb + (1 + R + p) * D;
      const float* src = &patches[(b * HW + p) * D];
      const float* pe = pos->data() + p * D;
      for (int d = 0; d < D; ++d) dst[d] = src[d] + pe[d];
    }
  }
  return x;
}

// Images [first, first + count) of x through every encoder layer, layer by layer. Within a
// layer the images go through a few at a time: a chunk's activations (LayerNorm output, QKV,
// scores, MLP hidden) stay in cache, and the layer's packed weights are reused from cache by
// every chunk. A whole batch at once streamed tens of MB per op through memory and made
// batch 8 slower than batch 1.
void CpuEngine::encode_images(dnnl::stream& s, float* x, int64_t first, int64_t count, int64_t T,
                              Tensor* block0) const {
  const int64_t D = info_.hidden_size;
  const int64_t chunk = images_per_chunk(static_cast<int>(count), T);
  BlockBuffers buf(chunk * T, D, info_.intermediate_size, act_dt_, info_.swiglu);
  for (size_t l = 0; l < layers_.size(); ++l) {
    for (int64_t b0 = first; b0 < first + count; b0 += chunk) {
      const int nimg = static_cast<int>(std::min<int64_t>(chunk, first + count - b0));
      float* xc = x + b0 * T * D;
      if (act_dt_ == dt::s8)
        run_block_int8(s, layers_[l], xc, nimg, T, buf);
      else
        run_block(s, layers_[l], xc, nimg, T, buf);
    }
    if (l == 0 && block0) *block0 = Tensor{{count, T, D}, std::vector<float>(x + first * T * D, x + (first + count) * T * D)};
  }
}

// The encoder blocks on the whole batch. With at least one image per thread, each thread runs
// whole images through all the layers on its own (oneDNN then runs single-threaded in each):
// no barrier between ops, and each core keeps its own activations in its own cache. The images
// left over (batch % threads), a single image, or a request for block 0's output go through
// layer by layer with all threads on every op.
void CpuEngine::encode_batch(dnnl::stream& s, float* x, int batch, int64_t T, Tensor* block0) const {
  const int per_thread = threads_ > 1 && !block0 ? batch / threads_ : 0;
  if (per_thread > 0) {
    const int64_t rows = profile_rows;
    std::exception_ptr error;
#pragma omp parallel num_threads(threads_)
    {
      try {
        profile_rows = rows;  // thread-local
        dnnl::stream ts(eng_);
        // A team smaller than asked (forward() called inside a parallel region) still covers
        // every share.
        for (int share = omp_get_thread_num(); share < threads_; share += omp_get_num_threads())
          encode_images(ts, x, int64_t{share} * per_thread, per_thread, T);
      } catch (...) {
#pragma omp critical(vf_engine_error)
        if (!error) error = std::current_exception();
      }
    }
    if (error) std::rethrow_exception(error);
  }
  const int rest = batch - per_thread * threads_;
  if (rest > 0) encode_images(s, x, per_thread * threads_, rest, T, block0);
}

ForwardOutputs CpuEngine::forward(const float* pixels, int batch, int height, int width,
                                  const ForwardRequest& req) const {
  try {
    return forward_impl(pixels, batch, height, width, req);
  } catch (const dnnl::error& e) {
    throw Error(std::string("inference failed in oneDNN (") + e.what() + ")", ErrorCode::Generic);
  }
}

ForwardOutputs CpuEngine::forward_impl(const float* pixels, int batch, int height, int width,
                                       const ForwardRequest& req) const {
  const int P = info_.patch_size, D = info_.hidden_size, R = info_.num_registers;
  if (batch <= 0) throw Error("forward: batch must be >= 1", ErrorCode::InvalidArgument);
  if (height < P || width < P)
    throw Error("forward: input " + std::to_string(height) + "x" + std::to_string(width) +
                    " is smaller than one patch (" + std::to_string(P) + "px)",
                ErrorCode::InvalidArgument);
  const int gh = height / P, gw = width / P;
  const int64_t HW = static_cast<int64_t>(gh) * gw, T = 1 + R + HW, M = batch * T;
  if (T * T * info_.num_heads > (int64_t{1} << 33))
    throw Error("forward: input " + std::to_string(height) + "x" + std::to_string(width) + " is too large",
                ErrorCode::TooLarge);
  OmpThreadsScope omp(threads_);
  dnnl::stream s(eng_);
  profile_rows = M;

  std::vector<float> x = embed_tokens(s, pixels, batch, height, width);
  ForwardOutputs out;
  if (req.embeddings_output) out.embeddings_output = Tensor{{batch, T, D}, x};

  encode_batch(s, x.data(), batch, T, req.block0_output ? &out.block0_output : nullptr);

  // ---- final layernorm, only on the rows that the requested outputs need.
  const double eps = info_.layer_norm_eps;
  const bool need_all = req.last_hidden_state || req.mean_all || req.mean_patch || req.patch_tokens;
  std::vector<float> lhs;
  if (need_all) {
    lhs.resize(M * D);
    layer_norm_rows(x.data(), M, D, final_w_.data(), final_b_.data(), eps, lhs.data(), nullptr, threads_);
  }
  if (req.pooler) {
    out.pooler.shape = {batch, D};
    out.pooler.data.resize(static_cast<size_t>(batch) * D);
    for (int b = 0; b < batch; ++b) {
      if (need_all)
        std::memcpy(&out.pooler.data[b * D], &lhs[b * T * D], D * 4);
      else
        layer_norm_rows(&x[b * T * D], 1, D, final_w_.data(), final_b_.data(), eps, &out.pooler.data[b * D], nullptr,
                        1);
    }
  }
  auto mean_rows = [&](int64_t first, Tensor& t) {
    t.shape = {batch, D};
    t.data.assign(static_cast<size_t>(batch) * D, 0.0f);
    std::vector<double> acc(D);
    for (int b = 0; b < batch; ++b) {
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t r = first; r < T; ++r) {
        const float* row = &lhs[(b * T + r) * D];
        for (int d = 0; d < D; ++d) acc[d] += row[d];
      }
      for (int d = 0; d < D; ++d) t.data[b * D + d] = static_cast<float>(acc[d] / static_cast<double>(T - first));
    }
  };
  if (req.mean_all) mean_rows(0, out.mean_all);
  if (req.mean_patch) mean_rows(1 + R, out.mean_patch);
  if (req.patch_tokens) {
    out.patch_tokens.shape = {batch, HW, D};
    out.patch_tokens.data.resize(static_cast<size_t>(batch) * HW * D);
    for (int b = 0; b < batch; ++b)
      std::memcpy(&out.patch_tokens.data[b * HW * D], &lhs[(b * T + 1 + R) * D], HW * D * 4);
  }
  if (req.last_hidden_state) out.last_hidden_state = Tensor{{batch, T, D}, std::move(lhs)};
  return out;
}

std::vector<float> CpuEngine::embed(const float* pixels, int batch, int height, int width, Pooling pooling) const {
  ForwardRequest req;
  req.pooler = pooling == Pooling::CLS;
  req.mean_all = pooling == Pooling::Mean;
  req.mean_patch = pooling == Pooling::PatchMean;
  ForwardOutputs o = forward(pixels, batch, height, width, req);
  std::vector<float> v = pooling == Pooling::CLS ? std::move(o.pooler.data)
                         : pooling == Pooling::Mean ? std::move(o.mean_all.data)
                                                    : std::move(o.mean_patch.data);
  const int D = info_.hidden_size;
  for (int b = 0; b < batch; ++b) {
    double n = 0;
    for (int d = 0; d < D; ++d) n += static_cast<double>(v[b * D + d]) * v[b * D + d];
    const float inv = n > 0 ? static_cast<float>(1.0 / std::sqrt(n)) : 0.0f;
    for (int d = 0; d < D; ++d) v[b * D + d] *= inv;
  }
  return v;
}

}  // namespace cpu
}  // namespace model

std::unique_ptr<Engine> Engine::open(const EngineParams& params) {
  if (params.model_dir.empty()) throw Error("no model directory given", ErrorCode::BadModel);
  try {
    return std::make_unique<model::cpu::CpuEngine>(params);
  } catch (const dnnl::error& e) {
    throw Error(params.model_dir + ": oneDNN failed while loading the model (" + e.what() + ")", ErrorCode::BadModel);
  }
}

}  // namespace vf
