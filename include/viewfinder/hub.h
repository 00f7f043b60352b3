// Viewfinder public API: fetching a model from the Hugging Face hub (`viewfinder model
// download`). Kept out of engine.h: inference needs no network.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "viewfinder/engine.h"

namespace vf {

// Fetching a model from the Hugging Face hub (or a mirror), like huggingface_hub does:
// {endpoint}/{repo}/resolve/{revision}/{file}, endpoint from $HF_ENDPOINT (default
// https://huggingface.co), token from $HF_TOKEN (Authorization: Bearer). Each file is written
// to FILE.incomplete, resumed with an HTTP Range request when that exists, checked (size,
// sha256 against the X-Linked-Etag/ETag when that is a sha256, safetensors header) and only
// then renamed into place; finally the directory is validated with inspect_model().
struct DownloadParams {
  std::string repo;                 // "facebook/dinov2-base"
  std::string revision = "main";
  std::string dest_dir;             // created if missing
  std::string endpoint;             // "" : $HF_ENDPOINT or https://huggingface.co
  std::string token;                // "" : $HF_TOKEN (none if unset)
  std::vector<std::string> files = {"config.json", "model.safetensors", "preprocessor_config.json"};
  bool force = false;               // re-download files that are already complete
  int timeout_s = 30;               // connect / stall timeout
};
struct DownloadProgress {
  std::string file;
  int64_t done = 0, total = 0;      // bytes; total 0 when unknown
  bool resumed = false;             // continuing a .incomplete file
};
// Throws vf::Error (Network for transport/HTTP failures, BadModel for content that fails
// verification) with a one-line message naming the URL or file.
ModelInfo download_model(const DownloadParams& params,
                         const std::function<void(const DownloadProgress&)>& progress = {});

}  // namespace vf
