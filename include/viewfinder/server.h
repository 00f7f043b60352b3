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
  // Decompression-bomb guard for query uploads (--max-upload-mp): 200 MP covers today's
  // medium-format cameras (100-150 MP) with room to spare.
  int64_t max_upload_pixels = 200'000'000;
  double queue_timeout_s = 30;       // a queued search waiting longer gets 503
  int threads = 0;                   // HTTP worker threads; 0: max_concurrent + max_queue + 48
  // Host names (besides localhost, 127.0.0.1, [::1], the bound address and the address a
  // connection arrived on) that requests may carry in Host: the DNS-rebinding guard.
  // "*" turns the check off (a proxy in front checks Host itself).
  std::vector<std::string> allowed_hosts;
  double header_timeout_s = 10;      // request line + headers must arrive within this
  int max_connections_per_ip = 16;   // open connections from one client address; 0: no cap
  int max_upload_decodes = 1;        // upload searches decoding at once (their own queue lane)
  // A reader library (mirror_collection): sync it from its Milvus collection every N seconds
  // (0: only at start and on POST /api/index).
  double reader_refresh_s = 0;
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
