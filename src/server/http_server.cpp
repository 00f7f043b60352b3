// The HTTP layer: cpp-httplib setup, authentication, the request queue and log, static files
// and the turning of route results and errors into answers.
//
// Request path: httplib worker thread -> pre-routing (start clock, auth) -> route handler.
// Search-like handlers (anything that embeds, scans the index or the catalog at length) go
// through the Limiter, the spec's request queue: at most max_concurrent run, at most
// max_queue wait, and anything beyond gets 503 + Retry-After at once, so an overloaded
// server answers instead of hanging.
#include "server/http_server.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/time_util.h"
#include "common/value_parse.h"
#include "server/connection_guard.h"
#include "server/request_rules.h"
#include "server/routes.h"
#include "server/server_state.h"
#include "server/server_util.h"
#include "viewfinder/server.h"
#include "viewfinder/viewfinder.h"

namespace vf::server {

namespace {

using Clock = std::chrono::steady_clock;

int status_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::NotFound: return 404;
    case ErrorCode::InvalidArgument: return 400;
    case ErrorCode::BadImage: return 415;
    case ErrorCode::TooLarge: return 413;
    case ErrorCode::Timeout: return 422;
    default: return 500;
  }
}

void send(const Reply& r, httplib::Response& res) {
  res.status = r.status;
  for (auto& [name, value] : r.headers) res.set_header(name.c_str(), value);
  if (!r.body.empty() || !r.content_type.empty()) res.set_content(r.body, r.content_type);
}

// Start of the request being handled on this worker thread (set in pre-routing; httplib
// runs pre-routing, the handler and the logger on one thread).
thread_local Clock::time_point t_request_start{};
thread_local bool t_request_started = false;

bool is_api_path(const std::string& path) { return path.rfind("/api/", 0) == 0 || path == "/api"; }

// The web UI: static files under the web root, nothing else.
Reply static_file(ServerState& s, const Request& req) {
  if (is_api_path(req.path)) return error_reply(404, "no such API endpoint: " + req.path);
  auto rel = safe_static_path(req.path);
  if (!rel) return error_reply(400, "bad path");
  if (s.web_root.empty())
    return error_reply(404, "the web UI is not installed (pass --web-root DIR); the API is at /api/");
  auto real = real_path(s.web_root + "/" + *rel);
  if (!real || !path_within(*real, s.web_root)) return error_reply(404, "not found: " + req.path);
  std::ifstream in(*real, std::ios::binary);
  struct stat st{};
  if (!in || ::stat(real->c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return error_reply(404, "not found: " + req.path);
  std::stringstream ss;
  ss << in.rdbuf();
  Reply r;
  r.headers.emplace_back("Cache-Control", "no-cache");
  if (rel->size() >= 5 && rel->compare(rel->size() - 5, 5, ".html") == 0) {
    r.headers.emplace_back("X-Frame-Options", "DENY");
    r.headers.emplace_back("Content-Security-Policy",
                           "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; "
                           "script-src 'self'; connect-src 'self'; frame-ancestors 'none'");
  }
  r.body = ss.str();
  r.content_type = mime_for(*rel);
  return r;
}

// The vf_token cookie. The UI writes it with encodeURIComponent and cpp-httplib percent-decodes
// every header value before we see it, so a token holding ';' arrives split like two
// cookies: each end of the value at a later ';' is a candidate.
bool cookie_token_matches(const Request& req, const std::string& token) {
  const std::string cookie = req.get_header_value("Cookie");
  bool ok = false;
  for (size_t at = cookie.find("vf_token="); at != std::string::npos; at = cookie.find("vf_token=", at + 1)) {
    if (at > 0 && cookie[at - 1] != ' ' && cookie[at - 1] != ';') continue;
    const size_t start = at + 9;
    for (size_t end = cookie.find(';', start);; end = cookie.find(';', end + 1)) {
      ok = constant_time_equal(cookie.substr(start, end == std::string::npos ? std::string::npos : end - start), token) || ok;
      if (end == std::string::npos) break;
    }
  }
  return ok;
}

// Token (Bearer header or vf_token cookie) or basic auth. nullopt: let the request through.
std::optional<Reply> check_auth(const ServerState& s, const std::string& expected_basic, const Request& req) {
  bool token_mode = !s.params.auth_token.empty();
  bool basic_mode = !expected_basic.empty();
  if (!token_mode && !basic_mode) return std::nullopt;
  if (req.path == "/api/health") return std::nullopt;
  // With a token only, the UI's own files carry no data and load without it so that the
  // page can ask for the token; with basic auth the browser asks, so everything is closed.
  if (token_mode && !basic_mode && !is_api_path(req.path)) return std::nullopt;
  std::string authz = req.get_header_value("Authorization");
  bool ok = false;
  if (token_mode && authz.rfind("Bearer ", 0) == 0) ok = constant_time_equal(authz.substr(7), s.params.auth_token);
  if (!ok && basic_mode && authz.rfind("Basic ", 0) == 0) ok = constant_time_equal(authz, expected_basic);
  // Images in <img> tags cannot send headers: a cookie carries the token, for reads only
  // (SameSite=Strict; writes need the header, so a cross-site form cannot post).
  if (!ok && token_mode && (req.method == "GET" || req.method == "HEAD")) ok = cookie_token_matches(req, s.params.auth_token);
  if (ok) return std::nullopt;
  Reply r = error_reply(401, authz.empty() ? "authentication required" : "bad credentials");
  if (basic_mode) r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"Viewfinder\", charset=\"UTF-8\"");
  else r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"Viewfinder\"");
  return r;
}

// The request rules (request_rules.h), the method check and auth, in that order, before any
// body is read. nullopt: let the request through.
std::optional<Reply> pre_route(ServerState& state, const RouteTable& routes, const std::string& expected_basic,
                               const Request& req) {
  std::optional<Reply> refused = check_host(state.params, req);
  if (!refused) refused = check_body_framing(state.params, req);
  if (!refused) refused = routes.method_not_allowed(req);
  if (!refused) refused = check_same_origin(req);
  if (!refused) refused = check_auth(state, expected_basic, req);
  // A refused request's body is never read, so the connection cannot carry another request.
  if (refused && (req.has_header("Content-Length") || req.has_header("Transfer-Encoding")) &&
      req.get_header_value("Content-Length") != "0")
    close_connection_after_response();
  return refused;
}

// Pre-routing rules, logging, and JSON answers for errors that never reach a route.
void install_cross_cutting(httplib::Server& svr, ServerState& state, const RouteTable& routes) {
  std::string expected_basic;
  if (!state.params.basic_user.empty())
    expected_basic = "Basic " + base64_encode(state.params.basic_user + ":" + state.params.basic_password);
  svr.set_pre_routing_handler([&state, &routes, expected_basic](const httplib::Request& req, httplib::Response& res) {
    t_request_start = Clock::now();
    t_request_started = true;
    ++state.requests;
    auto refused = pre_route(state, routes, expected_basic, req);
    if (!refused) return httplib::Server::HandlerResponse::Unhandled;
    send(*refused, res);
    return httplib::Server::HandlerResponse::Handled;
  });
  svr.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    std::string msg = res.status == 413 ? "request body too large"
                      : res.status == 400 ? "malformed request"
                      : res.status == 404 ? "not found"
                      : res.status == 414 ? "URI too long"
                      : res.status == 405 ? "method not allowed"
                                          : "HTTP error " + std::to_string(res.status);
    send(error_reply(res.status, msg), res);
    return httplib::Server::HandlerResponse::Handled;
  }));
  svr.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string msg = "internal error";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      msg = e.what();
    } catch (...) {
    }
    send(error_reply(500, msg), res);
  });
  svr.set_logger([&state](const httplib::Request& req, const httplib::Response& res) {
    char lat[32] = "-";
    if (t_request_started) std::snprintf(lat, sizeof lat, "%.1fms", ms_since(t_request_start));
    t_request_started = false;
    state.log.line(req.method + " " + req.path + " " + std::to_string(res.status) + " " + lat + " " +
                   req.remote_addr);
  });
}

}  // namespace

Reply json_reply(const json& body, int status) {
  Reply r;
  r.status = status;
  r.headers.emplace_back("Cache-Control", "no-store");
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  r.content_type = "application/json";
  return r;
}

Reply error_reply(int status, const std::string& message) {
  return json_reply(json{{"error", message}, {"status", status}}, status);
}

// Unknown query parameters are refused; vf::Error and bad JSON become 4xx/5xx JSON answers.
httplib::Server::Handler RouteTable::wrap(Handler handler, QueryParams accepted) {
  return [handler = std::move(handler), accepted = std::move(accepted), &state = state_](
             const httplib::Request& req, httplib::Response& res) {
    Reply r;
    try {
      if (!accepted.any)
        for (auto& [name, value] : req.params) {
          bool known = std::find(accepted.names.begin(), accepted.names.end(), name) != accepted.names.end() ||
                       (accepted.filters && is_filter_param(name));
          if (!known) throw HttpError{400, "unknown query parameter '" + name + "' for " + req.path};
        }
      r = handler(state, req);
    } catch (const HttpError& e) {
      r = error_reply(e.status, e.message);
    } catch (const Error& e) {
      r = error_reply(status_for(e.code()), e.what());
    } catch (const json::exception& e) {
      r = error_reply(400, std::string("bad JSON: ") + e.what());
    } catch (const std::bad_alloc&) {
      r = error_reply(503, "out of memory");
    } catch (const std::exception& e) {
      r = error_reply(500, e.what());
    }
    send(r, res);
  };
}

void RouteTable::get(const std::string& pattern, Handler handler, QueryParams accepted) {
  if (is_api_path(pattern)) methods_.emplace_back(std::regex(pattern), "GET");
  server_.Get(pattern, wrap(std::move(handler), std::move(accepted)));
}

void RouteTable::post(const std::string& pattern, Handler handler, QueryParams accepted) {
  if (is_api_path(pattern)) methods_.emplace_back(std::regex(pattern), "POST");
  server_.Post(pattern, wrap(std::move(handler), std::move(accepted)));
}

std::optional<Reply> RouteTable::method_not_allowed(const Request& req) const {
  std::string method = req.method == "HEAD" ? "GET" : req.method;
  std::vector<std::string> allow;
  if (is_api_path(req.path)) {
    for (auto& [pattern, m] : methods_)
      if (std::regex_match(req.path, pattern) && std::find(allow.begin(), allow.end(), m) == allow.end())
        allow.push_back(m);
  } else {
    allow = {"GET"};
  }
  if (allow.empty() || std::find(allow.begin(), allow.end(), method) != allow.end()) return std::nullopt;
  std::string list;
  for (auto& m : allow) list += (list.empty() ? "" : ", ") + m + (m == "GET" ? ", HEAD" : "");
  Reply r = error_reply(405, req.method + " is not allowed on " + req.path + " (allowed: " + list + ")");
  r.headers.emplace_back("Allow", list);
  return r;
}

int64_t path_id(const Request& req) { return parse_int(req.matches[1].str(), "photo id", 1, INT64_MAX); }

std::map<std::string, std::string> params_map(const Request& req) {
  std::map<std::string, std::string> m;
  for (auto& [k, v] : req.params) m[k] = v;
  return m;
}

// ---- request log ----
RequestLog::RequestLog(const std::string& file) {
  if (!file.empty()) {
    file_ = std::fopen(file.c_str(), "a");
    if (!file_) throw Error("cannot open log file " + file + ": " + std::strerror(errno), ErrorCode::Io);
  }
}

RequestLog::~RequestLog() {
  if (file_) std::fclose(file_);
}

void RequestLog::line(const std::string& text) {
  std::lock_guard<std::mutex> lock(mu_);
  FILE* f = file_ ? file_ : stderr;
  std::fprintf(f, "%s %s\n", now_iso_utc().c_str(), text.c_str());
  std::fflush(f);
}

// ---- the request queue ----
Limiter::Limiter(int max_concurrent, int max_queue, double timeout_s)
    : max_running_(max_concurrent), max_waiting_(max_queue), timeout_s_(timeout_s), slots_free_(max_concurrent, true) {}

int Limiter::acquire() {
  std::unique_lock<std::mutex> lock(mu_);
  if (running_ >= max_running_) {
    if (waiting_ >= max_waiting_) {
      ++rejected_;
      return -1;
    }
    ++waiting_;
    bool ok = cv_.wait_for(lock, std::chrono::duration<double>(timeout_s_),
                           [&] { return running_ < max_running_; });
    --waiting_;
    if (!ok) {
      ++rejected_;
      return -1;
    }
  }
  ++running_;
  ++served_;
  for (size_t i = 0; i < slots_free_.size(); ++i)
    if (slots_free_[i]) {
      slots_free_[i] = false;
      return int(i);
    }
  return 0;  // unreachable: running_ < max_running_ guarantees a free slot
}

void Limiter::release(int slot) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    --running_;
    slots_free_[size_t(slot)] = true;
  }
  cv_.notify_one();
}

json Limiter::stats() {
  std::lock_guard<std::mutex> lock(mu_);
  return {{"max_concurrent", max_running_}, {"max_queue", max_waiting_}, {"running", running_},
          {"queued", waiting_}, {"served", served_}, {"rejected", rejected_}};
}

}  // namespace vf::server

namespace vf {

namespace {

volatile sig_atomic_t g_stop_requested = 0;

std::unique_ptr<httplib::Server> make_http_server(const ServerParams& params, server::RequestLog& log) {
  std::unique_ptr<httplib::Server> svr;
  if (!params.tls_cert.empty()) {
    auto ssl = std::make_unique<httplib::SSLServer>(params.tls_cert.c_str(), params.tls_key.c_str());
    if (!ssl->is_valid())
      throw Error("cannot load the TLS certificate " + params.tls_cert + " / key " + params.tls_key, ErrorCode::InvalidArgument);
    svr = std::move(ssl);
  } else {
    server::ConnectionLimits limits;
    limits.header_timeout_s = params.header_timeout_s;
    limits.max_per_ip = params.max_connections_per_ip;
    svr = std::make_unique<server::GuardedServer>(limits, [&log](const std::string& line) { log.line(line); });
  }
  // httplib's default also sets SO_REUSEPORT, which let a second server bind the same port
  // and answer half the requests from another library.
  svr->set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  // Workers only move bytes (searches are bounded by the request queue); enough of them that
  // the per-address connection cap keeps one client from holding them all.
  int threads = params.threads > 0 ? params.threads : params.max_concurrent + params.max_queue + 48;
  svr->new_task_queue = [threads] { return new httplib::ThreadPool(size_t(threads)); };
  // Multipart overhead on top of the image bytes; a larger body is refused with 413 before
  // it is read.
  svr->set_payload_max_length(size_t(params.max_upload_bytes) + (1 << 20));
  svr->set_default_headers({{"X-Content-Type-Options", "nosniff"}, {"Referrer-Policy", "same-origin"}});
  // Small JSON answers on kept-alive connections otherwise wait ~40 ms for Nagle + delayed ACK.
  svr->set_tcp_nodelay(true);
  svr->set_keep_alive_max_count(1000);
  svr->set_read_timeout(30, 0);
  svr->set_write_timeout(30, 0);
  return svr;
}

// Binds; returns the port (the chosen one for port 0).
int bind_port(httplib::Server& svr, const ServerParams& params) {
  int port = params.port;
  if (port == 0) {
    port = svr.bind_to_any_port(params.host);
    if (port < 0) throw Error("cannot bind " + params.host, ErrorCode::Io);
  } else if (errno = 0; !svr.bind_to_port(params.host, port)) {
    if (errno == EADDRINUSE)
      throw Error("port " + std::to_string(port) + " on " + params.host +
                      " is already in use (another viewfinder serve?): stop it or pick another --port",
                  ErrorCode::Io);
    throw Error("cannot listen on " + params.host + ":" + std::to_string(port) +
                    " (not an address of this machine?): " + std::strerror(errno),
                ErrorCode::Io);
  }
  return port;
}

void log_startup(server::ServerState& state, int port) {
  const ServerParams& params = state.params;
  if (!server::is_loopback_host(params.host) && params.auth_token.empty() && params.basic_user.empty())
    state.log.line("WARNING: listening on " + params.host +
                   " without authentication (--allow-insecure-remote): anyone who can reach this port can read the library");
  if (!server::is_loopback_host(params.host) && params.tls_cert.empty())
    state.log.line("note: no TLS; put the server behind an HTTPS reverse proxy (docs/deploy.md) on untrusted networks");
  std::string scheme = params.tls_cert.empty() ? "http" : "https";
  std::string host = params.host.find(':') != std::string::npos ? "[" + params.host + "]" : params.host;
  state.log.line("viewfinder " + std::string(version()) + " listening on " + scheme + "://" + host + ":" +
                 std::to_string(port) + "/ (library " + params.library_dir + ", UI " +
                 (state.web_root.empty() ? std::string("not found") : state.web_root) + ")");
}

}  // namespace

int serve(const ServerParams& params) {
  validate_server_params(params);
  for (auto* f : {&params.tls_cert, &params.tls_key})
    if (!f->empty() && ::access(f->c_str(), R_OK) != 0)
      throw Error("cannot read TLS file " + *f, ErrorCode::NotFound);

  // SIGINT/SIGTERM only set a flag (libraries may have started threads before us, so the
  // signal can land on any thread); a watcher thread turns it into an orderly stop.
  g_stop_requested = 0;
  struct sigaction sa{};
  sa.sa_handler = [](int) { g_stop_requested = 1; };
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  server::ServerState state(params);
  std::unique_ptr<httplib::Server> svr = make_http_server(params, state.log);
  server::RouteTable routes(*svr, state);
  server::add_search_routes(routes);
  server::add_photo_routes(routes);
  server::add_duplicate_routes(routes);
  server::add_stack_routes(routes);
  server::add_cluster_routes(routes);
  server::add_explain_routes(routes);
  server::add_library_routes(routes);
  routes.get(".*", server::static_file, {.any = true});
  server::install_cross_cutting(*svr, state, routes);
  server::start_reader_refresh(state);

  log_startup(state, bind_port(*svr, params));
  std::atomic<bool> done{false};
  std::thread stopper([&] {
    while (!done && !g_stop_requested) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (g_stop_requested) svr->stop();
  });
  bool ok = svr->listen_after_bind();
  done = true;
  stopper.join();
  state.log.line(g_stop_requested ? "server stopped by signal" : "server stopped");
  return ok ? 0 : 1;
}

}  // namespace vf
