// Ingestion benchmark (public API for everything measured): images/s and MP/s from file to
// model input and from file to everything (metadata, model input, thumbnails, features), per
// file group, single-threaded; and decode_share = (24 MP JPEG -> model input) / (one ViT-B
// bf16 forward, batch 1) measured in the same run.
//
//   ingest_bench --model DIR --group NAME:LISTFILE [--group ...] [--budget S] [--big-jpeg PATH]
//
// The 24 MP JPEG is made by this program if missing (upscaled from a 12 MP camera JPEG with
// internal helpers; that is fixture preparation, not part of any measurement).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "viewfinder/engine.h"
#include "viewfinder/image.h"

namespace {

using Clock = std::chrono::steady_clock;
double secs(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

struct Group {
  std::string name;
  std::vector<std::string> files;
  double megapixels = 0;  // total stored MP of one pass
};

struct Rate {
  double images_per_s = 0, mp_per_s = 0;
  int passes = 0;
};

// Runs `fn` over the group's files repeatedly until `budget` seconds have passed (at least one
// full pass), after one warm-up pass.
template <typename Fn>
Rate measure(const Group& g, double budget, Fn fn) {
  for (const auto& f : g.files) fn(f);
  Rate r;
  int images = 0;
  const auto t0 = Clock::now();
  double elapsed = 0;
  do {
    for (const auto& f : g.files) fn(f), ++images;
    ++r.passes;
    elapsed = secs(t0, Clock::now());
  } while (elapsed < budget);
  r.images_per_s = images / elapsed;
  r.mp_per_s = g.megapixels * r.passes / elapsed;
  return r;
}

void make_big_jpeg(const std::string& source, const std::string& out) {
  const vf::RgbImage src = vf::decode_rgb(source);
  // Public API only: upscale, then encode through PNG -> JPEG (quality 92) at full size.
  const vf::RgbImage big = vf::resize_rgb(src, 6000, 4000);
  const std::vector<uint8_t> png = vf::encode_png(big);
  const std::vector<uint8_t> jpeg = vf::resized_jpeg(png.data(), png.size(), "big.png", 6000, nullptr, 92);
  std::ofstream(out, std::ios::binary).write(reinterpret_cast<const char*>(jpeg.data()), jpeg.size());
}

}  // namespace

int main(int argc, char** argv) {
  setvbuf(stdout, nullptr, _IOLBF, 0);  // progress shows as it happens
  std::string model_dir, big_jpeg, big_source;
  double budget = 3;
  std::vector<Group> groups;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--model") model_dir = next();
    else if (a == "--budget") budget = std::stod(next());
    else if (a == "--big-jpeg") big_jpeg = next();
    else if (a == "--big-source") big_source = next();
    else if (a == "--group") {
      const std::string spec = next();
      const size_t colon = spec.find(':');
      Group g;
      g.name = spec.substr(0, colon);
      std::ifstream in(spec.substr(colon + 1));
      for (std::string line; std::getline(in, line);)
        if (!line.empty()) g.files.push_back(line);
      groups.push_back(g);
    } else {
      std::cerr << "usage: ingest_bench --model DIR --group NAME:LISTFILE... [--budget S] "
                   "[--big-jpeg PATH --big-source PATH]\n";
      return a == "--help" ? 0 : 2;
    }
  }
  nlohmann::json result;
  result["threads_decode"] = 1;
  const float mean[3] = {0.485f, 0.456f, 0.406f}, stdv[3] = {0.229f, 0.224f, 0.225f};
  auto to_model_input = [&](const std::string& f) {
    // What `embed` and the indexer do: shrink-on-load to >= 512 short edge, then HF resize.
    const vf::RgbImage rgb = vf::decode_rgb(f, 512);
    const auto x = vf::preprocess_for_model(rgb, 256, 224, mean, stdv);
    if (x.empty()) std::abort();
  };
  auto everything = [&](const std::string& f) {
    const vf::IngestedPhoto p = vf::ingest_file(f);
    if (p.model_input.empty()) std::abort();
  };
  printf("%-12s %6s %8s | %10s %8s | %10s %8s\n", "group", "files", "MP/file", "input img/s",
         "MP/s", "all img/s", "MP/s");
  for (auto& g : groups) {
    if (g.files.empty()) continue;
    for (const auto& f : g.files) {
      const auto m = vf::read_metadata(f);
      g.megapixels += double(m.stored_width) * m.stored_height / 1e6;
    }
    const Rate in = measure(g, budget, to_model_input);
    const Rate all = measure(g, budget, everything);
    printf("%-12s %6zu %8.2f | %10.2f %8.1f | %10.2f %8.1f\n", g.name.c_str(), g.files.size(),
           g.megapixels / g.files.size(), in.images_per_s, in.mp_per_s, all.images_per_s, all.mp_per_s);
    result["groups"][g.name] = {{"files", g.files.size()},
                                {"mp_per_file", g.megapixels / g.files.size()},
                                {"model_input_images_per_s", in.images_per_s},
                                {"model_input_mp_per_s", in.mp_per_s},
                                {"everything_images_per_s", all.images_per_s},
                                {"everything_mp_per_s", all.mp_per_s}};
  }

  if (!big_jpeg.empty()) {
    if (!std::ifstream(big_jpeg) && !big_source.empty()) make_big_jpeg(big_source, big_jpeg);
    const auto m = vf::read_metadata(big_jpeg);
    Group g{"24mp", {big_jpeg}, double(m.stored_width) * m.stored_height / 1e6};
    const Rate in = measure(g, budget, to_model_input);
    const double decode_s = 1.0 / in.images_per_s;
    // Full decode (no shrink-on-load) for comparison.
    Group full = g;
    const Rate full_rate = measure(full, budget, [&](const std::string& f) {
      const vf::RgbImage rgb = vf::decode_rgb(f, 0);
      vf::preprocess_for_model(rgb, 256, 224, mean, stdv);
    });
    printf("24 MP JPEG (%dx%d) -> model input: %.1f ms (full decode without shrink-on-load: %.1f ms)\n",
           m.stored_width, m.stored_height, decode_s * 1e3, 1e3 / full_rate.images_per_s);
    result["jpeg24mp_to_input_ms"] = decode_s * 1e3;
    result["jpeg24mp_full_decode_to_input_ms"] = 1e3 / full_rate.images_per_s;
    if (!model_dir.empty()) {
      vf::EngineParams ep;
      ep.model_dir = model_dir;
      ep.precision = vf::Precision::BF16;
      auto engine = vf::Engine::open(ep);
      std::vector<float> x(3 * 224 * 224);
      std::mt19937 rng(1);
      std::normal_distribution<float> nd;
      for (auto& v : x) v = nd(rng);
      vf::ForwardRequest req;
      for (int i = 0; i < 2; ++i) engine->forward(x.data(), 1, 224, 224, req);
      int n = 0;
      const auto t0 = Clock::now();
      double el = 0;
      do {
        engine->forward(x.data(), 1, 224, 224, req);
        ++n;
        el = secs(t0, Clock::now());
      } while (el < budget || n < 3);
      const double fwd_s = el / n;
      printf("ViT-B bf16 forward, batch 1, %d threads (precision %s): %.1f ms\n", engine->threads(),
             vf::to_string(engine->precision()), fwd_s * 1e3);
      printf("decode_share = %.3f (goal <= 0.10)\n", decode_s / fwd_s);
      // Shrink-on-load fidelity: embedding of the shrunk decode vs the full decode.
      double min_cos = 1;
      int compared = 0;
      for (const auto& g2 : groups) {
        if (g2.name != "large_jpeg") continue;
        for (const auto& f : g2.files) {
          const auto a = vf::preprocess_for_model(vf::decode_rgb(f, 512), 256, 224, mean, stdv);
          const auto b = vf::preprocess_for_model(vf::decode_rgb(f, 0), 256, 224, mean, stdv);
          const auto ea = engine->embed(a.data(), 1, 224, 224, vf::Pooling::CLS);
          const auto eb = engine->embed(b.data(), 1, 224, 224, vf::Pooling::CLS);
          double dot = 0, na = 0, nb = 0;
          for (size_t k = 0; k < ea.size(); ++k) dot += ea[k] * eb[k], na += ea[k] * ea[k], nb += eb[k] * eb[k];
          min_cos = std::min(min_cos, dot / std::sqrt(na * nb));
          ++compared;
        }
      }
      if (compared) {
        printf("shrink-on-load vs full decode, CLS embedding cosine (random ViT-B, %d large JPEGs): min %.6f\n",
               compared, min_cos);
        result["shrink_vs_full_min_cosine"] = min_cos;
      }
      result["vitb_bf16_forward_ms"] = fwd_s * 1e3;
      result["engine_threads"] = engine->threads();
      result["engine_precision"] = vf::to_string(engine->precision());
      result["decode_share"] = decode_s / fwd_s;
    }
  }
  std::cout << result.dump() << std::endl;
  return 0;
}
