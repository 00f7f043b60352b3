// The int8 layers from the packed-weights cache (packed_cache.h). Everything pack_layer_int8
// derives from the fp32 weights and the calibration pass (the s8 weights in oneDNN's layout,
// their per-channel scales and sums, the SmoothQuant scales folded into the LayerNorms or kept
// as 1/s) is saved after a full load; the next load reads it back and then neither reads the
// weight matrices nor runs the calibration. Biases and layer scales still come from the model
// file. See docs/engine.md ("Start-up").
#include <type_traits>

#include "model/engine_cpu.h"

namespace vf::model::cpu {
namespace {

using Entry = PackedWeightsCache::Entry;

// 1-D descriptors: find() then checks the element type and count of a cached vector.
memory::desc vector_desc(size_t n, dt type) { return memory::desc({static_cast<int64_t>(n)}, type, tag::a); }

template <class T>
Entry vector_entry(std::string name, const std::vector<T>& v) {
  const dt type = std::is_same_v<T, int32_t> ? dt::s32 : dt::f32;
  return {std::move(name), vector_desc(v.size(), type), v.data()};
}

// Copies the cached vector `name` of n elements into `out`; false when absent or of another size.
template <class T>
bool find_vector(const PackedWeightsCache& cache, const std::string& name, int64_t n, std::vector<T>& out) {
  const dt type = std::is_same_v<T, int32_t> ? dt::s32 : dt::f32;
  const auto* p = static_cast<const T*>(cache.find(name, vector_desc(static_cast<size_t>(n), type)));
  if (!p) return false;
  out.assign(p, p + n);
  return true;
}

}  // namespace

void append_int8_cache_entries(int l, const Layer& L, std::vector<Entry>& out) {
  const std::string p = layer_prefix(l);
  for (const PackedLinear* lin : {&L.qkv, &L.proj, &L.fc1, &L.fc2}) {
    out.push_back(vector_entry(lin->name + ".wscale", lin->wscale));
    out.push_back(vector_entry(lin->name + ".wsum", lin->wsum));
    if (!lin->smooth_inv.empty()) out.push_back(vector_entry(lin->name + ".smooth_inv", lin->smooth_inv));
  }
  out.push_back(vector_entry(p + "ln1_wq", L.ln1_wq));
  out.push_back(vector_entry(p + "ln1_bq", L.ln1_bq));
  out.push_back(vector_entry(p + "ln2_wq", L.ln2_wq));
  out.push_back(vector_entry(p + "ln2_bq", L.ln2_bq));
}

// The packed weights are used in place from the mapped file, as in pack_linear, and only when
// cached for exactly the layout oneDNN asks for now.
bool CpuEngine::load_linear_int8(const std::string& name, int K, int N, bool smoothed_input, std::vector<float> bias,
                                 PackedLinear& L) const {
  L.name = name;
  L.K = K;
  L.N = N;
  L.bias = std::move(bias);
  L.wdt = dt::s8;
  L.wdesc = packed_weights_desc(K, N, dt::s8);
  const PackedWeightsCache& c = *packed_cache_;
  const void* w = c.find(name, L.wdesc);
  if (!w || !find_vector(c, name + ".wscale", N, L.wscale) || !find_vector(c, name + ".wsum", N, L.wsum) ||
      (smoothed_input && !find_vector(c, name + ".smooth_inv", K, L.smooth_inv)))
    return false;
  L.weights = memory(L.wdesc, eng_, const_cast<void*>(w));
  return true;
}

bool CpuEngine::load_layer_int8(RawLayer r, int l, Layer& L) const {
  const int D = info_.hidden_size, I = info_.intermediate_size, hidden = info_.swiglu ? 2 * I : I;
  const std::string p = layer_prefix(l);
  const PackedWeightsCache& c = *packed_cache_;
  L.ln1_w = std::move(r.ln1_w);
  L.ln1_b = std::move(r.ln1_b);
  L.ln2_w = std::move(r.ln2_w);
  L.ln2_b = std::move(r.ln2_b);
  L.proj.scale = std::move(r.lambda1);
  L.fc2.scale = std::move(r.lambda2);
  const std::string in = info_.swiglu ? "weights_in" : "fc1", out = info_.swiglu ? "weights_out" : "fc2";
  // Smoothed inputs: proj's and fc2's are divided by s when quantised; QKV's and fc1's
  // through the LayerNorms before them (ln*_wq, ln*_bq).
  return find_vector(c, p + "ln1_wq", D, L.ln1_wq) && find_vector(c, p + "ln1_bq", D, L.ln1_bq) &&
         find_vector(c, p + "ln2_wq", D, L.ln2_wq) && find_vector(c, p + "ln2_bq", D, L.ln2_bq) &&
         load_linear_int8(p + "qkv", D, 3 * D, false, std::move(r.b_qkv), L.qkv) &&
         load_linear_int8(p + "proj", D, D, true, std::move(r.b_proj), L.proj) &&
         load_linear_int8(p + in, D, hidden, false, std::move(r.b_fc1), L.fc1) &&
         load_linear_int8(p + out, I, D, true, std::move(r.b_fc2), L.fc2);
}

void CpuEngine::pack_layers_int8(const SafetensorsFile& st) {
  // Packed in place at their final addresses: primitives are cached by a layer's address.
  layers_.reserve(info_.num_layers);
  if (packed_cache_->loaded()) {
    bool hit = true;
    for (int l = 0; hit && l < info_.num_layers; ++l) hit = load_layer_int8(read_layer(st, l), l, layers_.emplace_back());
    if (hit) return;
    // No primitive was built for these layers yet, and clear() keeps the capacity.
    layers_.clear();
  }
  packed_cache_missed_ = true;  // rewrite the cache file with this load's results
  Int8Calibration cal = start_int8_calibration();
  for (int l = 0; l < info_.num_layers; ++l) pack_layer_int8(read_layer(st, l), l, layers_.emplace_back(), cal);
}

}  // namespace vf::model::cpu
