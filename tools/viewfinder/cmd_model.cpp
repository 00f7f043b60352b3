// viewfinder model info: validate a Hugging Face DINOv2 model directory and describe it.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iomanip>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli.h"
#include "viewfinder/viewfinder.h"

namespace {
using nlohmann::json;

int cmd_model_info(int argc, char** argv) {
  vf::cli::Args args("model info", "[DIR]",
                     "Validate a model directory (config.json, model.safetensors, preprocessor_config.json)\n"
                     "and print its architecture, parameter count, storage dtype and sha256.");
  args.flag("json", "print JSON");
  args.flag("no-hash", "skip the sha256 of model.safetensors");
  args.epilog("examples:\n  viewfinder model info ~/.local/share/viewfinder/models/dinov2-base\n"
              "  viewfinder model info --json DIR");
  if (!args.parse(argc, argv)) return args.exit_code();
  return vf::cli::guarded([&] {
    const std::string dir = args.positionals().empty() ? vf::default_model_dir() : args.positionals()[0];
    const vf::ModelInfo m = vf::inspect_model(dir, !args.has("no-hash"));
    const int64_t G = m.image_size / m.patch_size;
    if (args.has("json")) {
      std::cout << json{{"model_dir", m.model_dir},
                        {"model_type", m.model_type},
                        {"model_id", m.model_id},
                        {"hidden_size", m.hidden_size},
                        {"num_layers", m.num_layers},
                        {"num_heads", m.num_heads},
                        {"intermediate_size", m.intermediate_size},
                        {"ffn", m.swiglu ? "swiglu" : "mlp_gelu"},
                        {"patch_size", m.patch_size},
                        {"image_size", m.image_size},
                        {"position_grid", G},
                        {"num_registers", m.num_registers},
                        {"layer_norm_eps", m.layer_norm_eps},
                        {"num_parameters", m.num_parameters},
                        {"dtype", m.dtype},
                        {"sha256", m.sha256},
                        {"resize_shortest_edge", m.resize_shortest_edge},
                        {"crop_size", m.crop_size},
                        {"image_mean", {m.image_mean[0], m.image_mean[1], m.image_mean[2]}},
                        {"image_std", {m.image_std[0], m.image_std[1], m.image_std[2]}},
                        {"valid", true}}
                       .dump(1)
                << "\n";
      return 0;
    }
    std::cout << "model        " << m.model_dir << "\n"
              << "id           " << m.model_id << "\n"
              << "type         " << m.model_type << (m.swiglu ? " (SwiGLU FFN)" : " (MLP FFN, exact GELU)") << "\n"
              << "architecture ViT/" << m.patch_size << ": D=" << m.hidden_size << ", " << m.num_layers << " layers, "
              << m.num_heads << " heads (head_dim " << m.hidden_size / m.num_heads << "), FFN "
              << m.intermediate_size << ", " << m.num_registers << " registers\n"
              << "positions    " << G << "x" << G << " grid (" << m.image_size << "px), interpolated for other sizes\n"
              << "parameters   " << m.num_parameters << "\n"
              << "dtype        " << m.dtype << "\n"
              << "sha256       " << (m.sha256.empty() ? "(skipped)" : m.sha256) << "\n"
              << "preprocess   shortest edge " << m.resize_shortest_edge << ", crop " << m.crop_size << ", mean "
              << m.image_mean[0] << "," << m.image_mean[1] << "," << m.image_mean[2] << ", std " << m.image_std[0]
              << "," << m.image_std[1] << "," << m.image_std[2] << "\n"
              << "status       ok\n";
    return 0;
  });
}

int cmd_model_download(int argc, char** argv) {
  vf::cli::Args args("model download", "REPO",
                     "Download a DINOv2 model (config.json, model.safetensors, preprocessor_config.json)\n"
                     "from the Hugging Face hub, resumably, and verify it. Honours HF_ENDPOINT (mirror;\n"
                     "default https://huggingface.co) and HF_TOKEN (gated/private repositories).");
  args.option("to", "DIR", "destination directory (default: $VIEWFINDER_MODEL or the default model dir)");
  args.option("revision", "REV", "branch, tag or commit", "main");
  args.flag("force", "download again even when the files are complete");
  args.flag("quiet", "no progress line").alias('q');
  args.flag("json", "print the resulting model info as JSON");
  args.epilog("examples:\n  viewfinder model download facebook/dinov2-base\n"
              "  viewfinder model download facebook/dinov2-small --to ~/models/dinov2-small\n"
              "  HF_ENDPOINT=https://hf-mirror.example viewfinder model download facebook/dinov2-base\n"
              "An interrupted download resumes from FILE.incomplete when run again.");
  if (!args.parse(argc, argv)) return args.exit_code();
  return vf::cli::guarded([&] {
    if (args.positionals().size() != 1)
      throw vf::Error("model download: give exactly one repository (e.g. facebook/dinov2-base)",
                      vf::ErrorCode::InvalidArgument);
    vf::DownloadParams p;
    p.repo = args.positionals()[0];
    p.revision = args.get("revision");
    p.dest_dir = args.has("to") ? args.get("to") : vf::default_model_dir();
    p.force = args.has("force");
    // Byte progress on stderr: redrawn in place on a terminal, a line every 5 s in a log.
    const bool show = !args.has("quiet");
    const bool tty = isatty(2);
    const auto t0 = std::chrono::steady_clock::now();
    double last_print = -10;
    std::string current;
    auto progress = [&](const vf::DownloadProgress& d) {
      if (!show) return;
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const bool done = d.total > 0 && d.done >= d.total;
      if (d.file != current) {
        if (tty && !current.empty()) std::cerr << "\n";
        current = d.file;
        if (d.resumed) std::cerr << "resuming " << d.file << " from " << vf::cli::format_bytes(d.done) << "\n";
        last_print = -10;
      }
      if (!done && s - last_print < (tty ? 0.1 : 5.0)) return;
      last_print = s;
      char buf[200];
      std::snprintf(buf, sizeof buf, "%s  %s / %s  %.0f%%", d.file.c_str(), vf::cli::format_bytes(d.done).c_str(),
                    d.total > 0 ? vf::cli::format_bytes(d.total).c_str() : "?",
                    d.total > 0 ? 100.0 * d.done / d.total : 0.0);
      std::cerr << (tty ? "\r" : "") << buf << (tty ? "\033[K" : "\n") << std::flush;
    };
    const vf::ModelInfo m = vf::download_model(p, progress);
    if (show && tty && !current.empty()) std::cerr << "\n";
    if (args.has("json")) {
      std::cout << json{{"model_dir", m.model_dir}, {"model_id", m.model_id}, {"model_type", m.model_type},
                        {"hidden_size", m.hidden_size}, {"num_layers", m.num_layers},
                        {"num_parameters", m.num_parameters}, {"dtype", m.dtype}, {"sha256", m.sha256}}
                       .dump(1)
                << "\n";
    } else {
      std::cout << "downloaded " << p.repo << " to " << m.model_dir << "\n"
                << m.model_type << ", D=" << m.hidden_size << ", " << m.num_layers << " layers, "
                << m.num_parameters << " parameters, " << m.dtype << ", sha256 " << m.sha256 << "\n"
                << "use it with --model " << m.model_dir << " or VIEWFINDER_MODEL=" << m.model_dir << "\n";
    }
    return 0;
  });
}

}  // namespace

VF_COMMAND("model download", "download a DINOv2 model from the Hugging Face hub", cmd_model_download);
VF_COMMAND("model info", "validate a model directory and describe it", cmd_model_info);
