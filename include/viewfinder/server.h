// Viewfinder public API: the HTTP server (JSON API + web UI).
//
// The API is documented in docs/api.md and docs/openapi.yaml (also served at
// /api/openapi.yaml); deployment behind nginx with HTTPS in docs/deploy.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "viewfinder/engine.h"

namespace vf {

struct ServerParams {
  std::string library_dir;
  std::string host = "127.0.0.1";
  int port = 7860;                   // 0: any free port (the chosen one is logged)
  std::string web_root;              // "" = the UI assets installed with the binary
  int max_concurrent = 2;            // searches running at once (the spec's request queue)
  int max_queue = 16;                // waiting beyond this gets 503 + Retry-After
  int64_t max_upload_bytes = 50 << 20;
  std::string auth_token;            // "Authorization: Bearer <token>"
  std::string basic_user, basic_password;
  bool allow_unauthenticated_remote = false;  // binding off-loopback without auth
  std::string tls_cert, tls_key;     // PEM files: serve HTTPS
  EngineParams engine;               // for uploaded-image queries
  std::string log_file;              // "" = stderr
  // Directories whose indexed files may be served and re-indexed by POST /api/index.
  // Empty: the top-level folders of the photos in the catalog.
  std::vector<std::string> roots;
  int64_t max_upload_pixels = 100'000'000;  // decompression-bomb guard for query uploads
  double queue_timeout_s = 30;       // a queued search waiting longer gets 503
  int threads = 0;                   // HTTP worker threads; 0: max_concurrent + max_queue + 16
};

// Reads a JSON config file into `params` (keys as in docs/api.md: "library", "host",
// "port", "token", "basic_auth": "user:pass", "tls_cert", ...). Throws vf::Error naming the
// file and the key on a bad file.
void load_server_config(const std::string& file, ServerParams& params);

// Throws vf::Error when the parameters are unsafe or inconsistent (non-loopback host
// without auth, a certificate without its key, limits out of range).
void validate_server_params(const ServerParams& params);

// Runs until SIGINT/SIGTERM. Throws vf::Error for configuration problems
// (unsafe bind, missing certificate, unreadable library).
int serve(const ServerParams& params);

}  // namespace vf
