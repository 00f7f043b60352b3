// Multi-head self-attention of the DINOv2 blocks on oneDNN: per group of (image, head) pairs,
// scores = Q K^T * hd^-0.5 (batched matmul, fp32 accumulation), softmax (fp32, our own
// vectorised kernel), then P V. The groups
// are sized so that a group's scores stay in cache (see attention.cpp). In bf16 mode Q, K, V
// and the softmax output P are bf16 (fp32 accumulation and fp32 softmax), as in HF's bf16
// autocast; otherwise everything is fp32.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <shared_mutex>
#include <string>
#include <unordered_map>

namespace vf::model {

// Runs a primitive with a scratchpad of its own (primitives are made with
// scratchpad_mode::user), so concurrent calls on one primitive stay independent.
inline void exec(dnnl::stream& s, const dnnl::primitive& p, const dnnl::primitive_desc_base& pd,
                 std::unordered_map<int, dnnl::memory> args, const dnnl::engine& eng) {
  dnnl::memory scratch;
  if (pd.scratchpad_desc().get_size() > 0) {
    scratch = dnnl::memory(pd.scratchpad_desc(), eng);
    args.emplace(DNNL_ARG_SCRATCHPAD, scratch);
  }
  p.execute(s, args);
}

class Attention {
 public:
  Attention(const dnnl::engine& eng, int heads, int threads) : eng_(eng), heads_(heads), threads_(threads) {}

  // qkv: [nimg*T, 3D] rows [q | k | v] of type `act` (f32 or bf16); out: [nimg*T, D] of type
  // `act`, heads concatenated. `profile_rows` only labels the per-op profile.
  void run(dnnl::stream& s, const void* qkv, int nimg, int64_t T, int64_t D, void* out,
           dnnl::memory::data_type act, int64_t profile_rows) const;

 private:
  struct Prim {
    dnnl::primitive_desc_base pd;
    dnnl::primitive prim;
  };
  const Prim& prim(const char* what, int64_t g, int64_t T, int64_t hd, dnnl::memory::data_type act) const;

  dnnl::engine eng_;
  int heads_, threads_;
  mutable std::shared_mutex mu_;
  mutable std::unordered_map<std::string, std::unique_ptr<Prim>> cache_;
};

}  // namespace vf::model
