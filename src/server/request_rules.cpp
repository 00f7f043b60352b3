#include "server/request_rules.h"

#include <algorithm>
#include <cctype>

namespace vf::server {

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

// The host part of a Host value ("name:port", "[v6]:port", "name"), lower-cased, without
// brackets or a trailing dot.
std::string host_name_of(const std::string& authority) {
  std::string a = lower(trim(authority));
  std::string h;
  if (!a.empty() && a[0] == '[') {
    auto close = a.find(']');
    h = close == std::string::npos ? a : a.substr(1, close - 1);
  } else {
    auto colon = a.find(':');
    h = colon == std::string::npos ? a : a.substr(0, colon);
  }
  if (!h.empty() && h.back() == '.') h.pop_back();
  return h;
}

bool is_body_method(const std::string& m) { return m == "POST" || m == "PUT" || m == "PATCH" || m == "DELETE"; }

Reply refuse(int status, const std::string& message) {
  Reply r = error_reply(status, message);
  // The body (if any) is never read: the connection cannot be reused.
  r.headers.emplace_back("Connection", "close");
  return r;
}

}  // namespace

std::optional<Reply> check_host(const ServerParams& params, const Request& req) {
  if (!req.has_header("Host")) return std::nullopt;  // HTTP/1.0 clients; browsers always send it
  if (req.get_header_value_count("Host") > 1) return refuse(400, "more than one Host header");
  if (std::find(params.allowed_hosts.begin(), params.allowed_hosts.end(), "*") != params.allowed_hosts.end())
    return std::nullopt;
  std::string host = host_name_of(req.get_header_value("Host"));
  std::vector<std::string> allowed = {"localhost", "127.0.0.1", "::1", host_name_of(params.host),
                                      lower(req.local_addr)};
  for (auto& a : params.allowed_hosts) allowed.push_back(host_name_of(a));
  if (std::find(allowed.begin(), allowed.end(), host) != allowed.end()) return std::nullopt;
  return refuse(421, "this server does not answer to the host name '" + host +
                         "' (DNS-rebinding guard): use the address it listens on, or add the name with "
                         "--allowed-host (config: allowed_hosts)");
}

std::optional<Reply> check_body_framing(const ServerParams& params, const Request& req) {
  int64_t limit = params.max_upload_bytes + (1 << 20);  // multipart overhead on top of the image
  std::string limit_text = std::to_string(params.max_upload_bytes >> 20) + " MB (--max-upload-mb)";
  if (req.has_header("Transfer-Encoding"))
    return refuse(411, "chunked request bodies are not accepted: send Content-Length (at most " + limit_text + ")");
  if (req.has_header("Content-Encoding") && lower(trim(req.get_header_value("Content-Encoding"))) != "identity")
    return refuse(415, "compressed request bodies (Content-Encoding) are not accepted");
  if (!req.has_header("Content-Length")) {
    if (req.method == "POST" || req.method == "PUT" || req.method == "PATCH")
      return refuse(411, req.method + " needs a Content-Length header");
    return std::nullopt;
  }
  const std::string& cl = req.get_header_value("Content-Length");
  bool digits = !cl.empty() && cl.size() <= 18 &&
                std::all_of(cl.begin(), cl.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
  if (!digits) return refuse(400, "bad Content-Length '" + cl + "'");
  if (std::stoll(cl) > limit) return refuse(413, "request body larger than " + limit_text);
  return std::nullopt;
}

std::optional<Reply> check_same_origin(const Request& req) {
  if (!is_body_method(req.method)) return std::nullopt;
  if (req.has_header("Origin")) {
    std::string origin = lower(trim(req.get_header_value("Origin")));
    auto scheme_end = origin.find("://");
    std::string authority = scheme_end == std::string::npos ? "" : origin.substr(scheme_end + 3);
    if (!authority.empty() && authority.back() == '/') authority.pop_back();
    if (authority.empty() || authority != lower(trim(req.get_header_value("Host"))))
      return refuse(403, "cross-origin request refused (Origin " + req.get_header_value("Origin") +
                             "): this API only answers pages it serves itself");
  }
  std::string type = lower(trim(req.get_header_value("Content-Type").substr(
      0, req.get_header_value("Content-Type").find(';'))));
  if (type == "application/json") return std::nullopt;
  if (type == "multipart/form-data" && req.method == "POST" && req.path == "/api/search") return std::nullopt;
  return refuse(415, req.method + " " + req.path + " needs Content-Type: application/json" +
                         (req.path == "/api/search" ? " or multipart/form-data" : "") +
                         " (got '" + type + "')");
}

bool is_filter_param(const std::string& name) {
  Filters ignored;
  return parse_filter_param(name, "", ignored);
}

Filters filters_named(const std::map<std::string, std::string>& params) {
  for (auto& [name, value] : params) {
    Filters probe;
    try {
      parse_filter_param(name, value, probe);
    } catch (const Error& e) {
      throw HttpError{400, "parameter '" + name + "': " + e.what()};
    }
  }
  return filters_from_params(params);
}

}  // namespace vf::server
