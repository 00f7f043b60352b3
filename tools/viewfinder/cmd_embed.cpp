// viewfinder embed: one pooled, L2-normalised DINOv2 embedding per image, computed the way the
// indexer does (decode with EXIF orientation, HF BitImageProcessor preprocessing, engine).
#include <chrono>
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli.h"
#include "viewfinder/viewfinder.h"

namespace {
using nlohmann::json;

int cmd_embed(int argc, char** argv) {
  vf::cli::Args args("embed", "IMAGE...",
                     "Print the DINOv2 embedding of each image (L2-normalised; CLS pooling by default).\n"
                     "Images are decoded with their EXIF orientation applied, resized (shortest edge, Pillow\n"
                     "bicubic), centre-cropped and normalised as preprocessor_config.json says.");
  args.option("model", "DIR", "Hugging Face model directory ($VIEWFINDER_MODEL)", vf::default_model_dir()).alias('m');
  args.option("pooling", "cls|mean|patch-mean", "which vector represents the image", "cls");
  args.option("precision", "auto|fp32|bf16|int8", "matrix-product precision (auto: int8 with AVX512-VNNI, else bf16 with AVX512-BF16, else fp32)", "auto");
  args.option("threads", "N", "compute threads (0: physical cores)", "0").alias('t');
  args.option("batch", "N", "images per forward pass", "8");
  args.flag("as-stored", "ignore EXIF orientation (match processor(Image.open(p)) instead of HF pipelines)");
  args.flag("json", "print JSON: one object per image with path, dim and embedding");
  args.epilog(
      "examples:\n  viewfinder embed photo.jpg\n  viewfinder embed --json --pooling mean a.jpg b.png\n"
      "  viewfinder embed --model ~/models/dinov2-base --precision fp32 *.jpg");
  if (!args.parse(argc, argv)) return args.exit_code();
  return vf::cli::guarded([&] {
    if (args.positionals().empty()) throw vf::Error("embed: give at least one image", vf::ErrorCode::InvalidArgument);
    vf::EngineParams ep;
    ep.model_dir = args.get("model");
    ep.precision = vf::parse_precision(args.get("precision"));
    ep.threads = args.get_int("threads");
    const vf::Pooling pooling = vf::parse_pooling(args.get("pooling"));
    const int batch = std::max(1, args.get_int("batch"));
    auto engine = vf::Engine::open(ep);
    const vf::ModelInfo& mi = engine->info();
    vf::IngestParams ip = vf::ingest_params_for(mi);
    ip.apply_orientation = !args.has("as-stored");
    ip.thumb_size = 0;
    ip.preview_size = 0;
    ip.features = false;
    const bool as_json = args.has("json");
    const int D = engine->dim(), S = mi.crop_size;
    int failures = 0;
    json all = json::array();
    const auto& paths = args.positionals();
    for (size_t start = 0; start < paths.size(); start += batch) {
      std::vector<std::string> ok;
      std::vector<float> pixels;
      for (size_t i = start; i < std::min(paths.size(), start + batch); ++i) {
        try {
          auto photo = vf::ingest_file(paths[i], ip);
          pixels.insert(pixels.end(), photo.model_input.begin(), photo.model_input.end());
          ok.push_back(paths[i]);
        } catch (const vf::Error& e) {
          std::cerr << "error: " << e.what() << "\n";
          ++failures;
        }
      }
      if (ok.empty()) continue;
      const auto emb = engine->embed(pixels.data(), static_cast<int>(ok.size()), S, S, pooling);
      for (size_t i = 0; i < ok.size(); ++i) {
        std::vector<float> v(emb.begin() + i * D, emb.begin() + (i + 1) * D);
        if (as_json) {
          all.push_back({{"path", ok[i]}, {"dim", D}, {"embedding", v}});
        } else {
          std::cout << ok[i];
          char buf[32];
          for (float x : v) {
            std::snprintf(buf, sizeof buf, " %.7g", x);
            std::cout << buf;
          }
          std::cout << "\n";
        }
      }
    }
    if (as_json)
      std::cout << json{{"model_id", mi.model_id}, {"pooling", vf::to_string(pooling)},
                        {"precision", vf::to_string(engine->precision())}, {"images", all}}
                       .dump()
                << "\n";
    return failures ? 1 : 0;
  });
}

}  // namespace

VF_COMMAND("embed", "print the DINOv2 embedding of images", cmd_embed);
