// The server's configuration: the JSON config file (docs/deploy.md) and the checks that
// refuse unsafe or inconsistent settings before anything listens.
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <type_traits>

#include "server/server_util.h"
#include "viewfinder/server.h"

namespace vf {

using json = nlohmann::json;

void load_server_config(const std::string& file, ServerParams& p) {
  std::ifstream in(file);
  if (!in) throw Error("cannot read config file " + file, ErrorCode::NotFound);
  json j;
  try {
    j = json::parse(in, nullptr, true, /*ignore_comments=*/true);
  } catch (const json::exception& e) {
    throw Error("config file " + file + " is not valid JSON: " + e.what(), ErrorCode::InvalidArgument);
  }
  if (!j.is_object()) throw Error("config file " + file + " must hold a JSON object", ErrorCode::InvalidArgument);
  auto str = [&](const char* key, std::string& out) {
    if (!j.contains(key)) return;
    if (!j[key].is_string()) throw Error(file + ": '" + key + "' must be a string", ErrorCode::InvalidArgument);
    out = j[key].get<std::string>();
  };
  auto integer = [&](const char* key, auto& out) {
    if (!j.contains(key)) return;
    if (!j[key].is_number_integer()) throw Error(file + ": '" + key + "' must be an integer", ErrorCode::InvalidArgument);
    out = j[key].get<std::decay_t<decltype(out)>>();
  };
  static const std::set<std::string> known = {
      "library", "host", "port", "web_root", "max_concurrent", "max_queue", "max_upload_mb",
      "max_upload_pixels", "token", "basic_auth", "allow_insecure_remote", "tls_cert", "tls_key",
      "log", "roots", "model", "precision", "threads", "engine_threads", "queue_timeout_s",
      "max_upload_mp", "allowed_hosts", "header_timeout_s", "max_connections_per_ip", "max_upload_decodes"};
  for (auto& [k, v] : j.items())
    if (!known.count(k)) throw Error(file + ": unknown key '" + k + "'", ErrorCode::InvalidArgument);
  str("library", p.library_dir);
  str("host", p.host);
  integer("port", p.port);
  str("web_root", p.web_root);
  integer("max_concurrent", p.max_concurrent);
  integer("max_queue", p.max_queue);
  if (j.contains("max_upload_mb")) {
    int64_t mb = 0;
    integer("max_upload_mb", mb);
    p.max_upload_bytes = mb << 20;
  }
  integer("max_upload_pixels", p.max_upload_pixels);
  if (j.contains("max_upload_mp")) {
    int64_t mp = 0;
    integer("max_upload_mp", mp);
    p.max_upload_pixels = mp * 1'000'000;
  }
  if (j.contains("allowed_hosts")) {
    if (!j["allowed_hosts"].is_array())
      throw Error(file + ": 'allowed_hosts' must be an array of host names", ErrorCode::InvalidArgument);
    for (auto& h : j["allowed_hosts"]) {
      if (!h.is_string()) throw Error(file + ": 'allowed_hosts' must be an array of host names", ErrorCode::InvalidArgument);
      p.allowed_hosts.push_back(h.get<std::string>());
    }
  }
  if (j.contains("header_timeout_s")) {
    if (!j["header_timeout_s"].is_number()) throw Error(file + ": 'header_timeout_s' must be a number", ErrorCode::InvalidArgument);
    p.header_timeout_s = j["header_timeout_s"].get<double>();
  }
  integer("max_connections_per_ip", p.max_connections_per_ip);
  integer("max_upload_decodes", p.max_upload_decodes);
  str("token", p.auth_token);
  if (j.contains("basic_auth")) {
    std::string ba;
    str("basic_auth", ba);
    auto colon = ba.find(':');
    if (colon == std::string::npos || colon == 0)
      throw Error(file + ": 'basic_auth' must be \"user:password\"", ErrorCode::InvalidArgument);
    p.basic_user = ba.substr(0, colon);
    p.basic_password = ba.substr(colon + 1);
  }
  if (j.contains("allow_insecure_remote")) {
    if (!j["allow_insecure_remote"].is_boolean())
      throw Error(file + ": 'allow_insecure_remote' must be true or false", ErrorCode::InvalidArgument);
    p.allow_unauthenticated_remote = j["allow_insecure_remote"].get<bool>();
  }
  str("tls_cert", p.tls_cert);
  str("tls_key", p.tls_key);
  str("log", p.log_file);
  if (j.contains("roots")) {
    if (!j["roots"].is_array()) throw Error(file + ": 'roots' must be an array of directories", ErrorCode::InvalidArgument);
    p.roots.clear();
    for (auto& r : j["roots"]) {
      if (!r.is_string()) throw Error(file + ": 'roots' must be an array of directories", ErrorCode::InvalidArgument);
      p.roots.push_back(r.get<std::string>());
    }
  }
  str("model", p.engine.model_dir);
  if (j.contains("precision")) {
    std::string s;
    str("precision", s);
    p.engine.precision = parse_precision(s);
  }
  integer("threads", p.threads);
  integer("engine_threads", p.engine.threads);
  if (j.contains("queue_timeout_s")) {
    if (!j["queue_timeout_s"].is_number()) throw Error(file + ": 'queue_timeout_s' must be a number", ErrorCode::InvalidArgument);
    p.queue_timeout_s = j["queue_timeout_s"].get<double>();
  }
}

void validate_server_params(const ServerParams& p) {
  bool auth = !p.auth_token.empty() || !p.basic_user.empty();
  if (!server::is_loopback_host(p.host) && !auth && !p.allow_unauthenticated_remote)
    throw Error("refusing to listen on " + p.host +
                    " without authentication: anyone on the network could browse and download the library. "
                    "Set a token (--token, VIEWFINDER_TOKEN or the config file) or basic auth, or pass "
                    "--allow-insecure-remote if this network is trusted",
                ErrorCode::InvalidArgument);
  if (!p.basic_user.empty() && p.basic_password.empty())
    throw Error("basic auth needs a password (user:password)", ErrorCode::InvalidArgument);
  if (!p.auth_token.empty() && (p.auth_token.size() < 16 || p.auth_token.find_first_not_of(" \t\r\n") == std::string::npos))
    throw Error("the auth token is too short or blank (use at least 16 characters, e.g. `openssl rand -hex 16`)",
                ErrorCode::InvalidArgument);
  for (char c : p.auth_token)
    if (static_cast<unsigned char>(c) < 0x21 || c == 0x7f)
      throw Error("the auth token must not contain spaces or control characters (they cannot travel in a header)",
                  ErrorCode::InvalidArgument);
  if (p.tls_cert.empty() != p.tls_key.empty())
    throw Error("TLS needs both --tls-cert and --tls-key", ErrorCode::InvalidArgument);
  if (p.port < 0 || p.port > 65535) throw Error("port " + std::to_string(p.port) + " out of range", ErrorCode::InvalidArgument);
  if (p.max_concurrent < 1 || p.max_concurrent > 256)
    throw Error("max-concurrent must be in [1, 256]", ErrorCode::InvalidArgument);
  if (p.max_queue < 0 || p.max_queue > 10000) throw Error("max-queue must be in [0, 10000]", ErrorCode::InvalidArgument);
  if (p.max_upload_bytes < (1 << 20) || p.max_upload_bytes > (int64_t(4) << 30))
    throw Error("max-upload-mb must be in [1, 4096]", ErrorCode::InvalidArgument);
  // The searcher's decoder refuses more than 250 MP whatever the server allows.
  if (p.max_upload_pixels < 1'000'000 || p.max_upload_pixels > 250'000'000)
    throw Error("max-upload-mp must be in [1, 250]", ErrorCode::InvalidArgument);
  if (!(p.header_timeout_s >= 1 && p.header_timeout_s <= 300))
    throw Error("header-timeout-s must be in [1, 300]", ErrorCode::InvalidArgument);
  if (p.max_connections_per_ip < 0 || p.max_connections_per_ip > 100000)
    throw Error("max-connections-per-ip must be in [0, 100000] (0: no cap)", ErrorCode::InvalidArgument);
  if (p.max_upload_decodes < 1 || p.max_upload_decodes > 64)
    throw Error("max-upload-decodes must be in [1, 64]", ErrorCode::InvalidArgument);
  for (auto& h : p.allowed_hosts)
    if (h.empty() || h.find_first_of(" /\t") != std::string::npos)
      throw Error("bad --allowed-host '" + h + "' (a host name such as photos.example.org, or *)",
                  ErrorCode::InvalidArgument);
  if (p.library_dir.empty()) throw Error("no library directory given", ErrorCode::InvalidArgument);
}

}  // namespace vf
