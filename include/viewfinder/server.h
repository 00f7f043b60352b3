// Viewfinder public API: the HTTP server (JSON API + web UI).
#pragma once

#include <cstdint>
#include <string>

#include "viewfinder/engine.h"

namespace vf {

struct ServerParams {
  std::string library_dir;
  std::string host = "127.0.0.1";
  int port = 7860;
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
};

// Runs until SIGINT/SIGTERM. Throws vf::Error for configuration problems
// (unsafe bind, missing certificate, unreadable library).
int serve(const ServerParams& params);

}  // namespace vf
