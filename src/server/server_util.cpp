#include "server/server_util.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <sys/socket.h>
#include <openssl/sha.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <ctime>

#include "viewfinder/error.h"

namespace vf::server {

bool constant_time_equal(const std::string& a, const std::string& b) {
  unsigned char da[SHA256_DIGEST_LENGTH], db[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(a.data()), a.size(), da);
  SHA256(reinterpret_cast<const unsigned char*>(b.data()), b.size(), db);
  return CRYPTO_memcmp(da, db, sizeof da) == 0;
}

std::string base64_encode(const std::string& in) {
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += tbl[v >> 18];
    out += tbl[(v >> 12) & 63];
    out += tbl[(v >> 6) & 63];
    out += tbl[v & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += tbl[v >> 18];
    out += tbl[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += tbl[v >> 18];
    out += tbl[(v >> 12) & 63];
    out += tbl[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

bool is_loopback_host(const std::string& host) {
  std::string h = host;
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (h.empty() || ::getaddrinfo(h.c_str(), nullptr, &hints, &res) != 0 || !res) return false;
  bool all_loopback = true;
  for (addrinfo* a = res; a; a = a->ai_next) {
    if (a->ai_family == AF_INET) {
      auto* sin = reinterpret_cast<const sockaddr_in*>(a->ai_addr);
      all_loopback = all_loopback && (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
    } else if (a->ai_family == AF_INET6) {
      auto* sin6 = reinterpret_cast<const sockaddr_in6*>(a->ai_addr);
      all_loopback = all_loopback && IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
    } else {
      all_loopback = false;
    }
  }
  ::freeaddrinfo(res);
  return all_loopback;
}

double round_to(double v, int decimals) {
  if (!std::isfinite(v)) return v;
  double scale = std::pow(10.0, decimals);
  return std::round(v * scale) / scale;
}

std::optional<std::string> safe_static_path(const std::string& url_path) {
  if (url_path.empty() || url_path[0] != '/') return std::nullopt;
  std::string rel = url_path.substr(1);
  if (rel.empty()) return std::string("index.html");
  if (rel.find('\0') != std::string::npos || rel.find('\\') != std::string::npos)
    return std::nullopt;
  size_t start = 0;
  while (start <= rel.size()) {
    size_t end = rel.find('/', start);
    if (end == std::string::npos) end = rel.size();
    std::string seg = rel.substr(start, end - start);
    // Empty segments ("a//b"), "." and "..", and hidden files are never served.
    if (seg.empty() || seg[0] == '.') return std::nullopt;
    for (unsigned char c : seg)
      if (c < 0x20 || c == 0x7f || c == ':' || c == '%') return std::nullopt;
    start = end + 1;
  }
  return rel;
}

std::string mime_for(const std::string& name) {
  auto dot = name.rfind('.');
  std::string ext = dot == std::string::npos ? "" : name.substr(dot + 1);
  for (auto& c : ext) c = char(std::tolower(static_cast<unsigned char>(c)));
  if (ext == "html" || ext == "htm") return "text/html; charset=utf-8";
  if (ext == "js" || ext == "mjs") return "text/javascript; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "json") return "application/json";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "png") return "image/png";
  if (ext == "jpg" || ext == "jpeg") return "image/jpeg";
  if (ext == "webp") return "image/webp";
  if (ext == "ico") return "image/x-icon";
  if (ext == "woff2") return "font/woff2";
  if (ext == "yaml" || ext == "yml") return "application/yaml";
  if (ext == "txt" || ext == "md") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

bool sniff_image(const std::string& b) {
  auto starts = [&](const char* magic, size_t n, size_t at = 0) {
    return b.size() >= at + n && b.compare(at, n, magic, n) == 0;
  };
  if (starts("\xFF\xD8\xFF", 3)) return true;                  // JPEG
  if (starts("\x89PNG\r\n\x1a\n", 8)) return true;             // PNG
  if (starts("GIF87a", 6) || starts("GIF89a", 6)) return true;  // GIF
  if (starts("RIFF", 4) && starts("WEBP", 4, 8)) return true;  // WebP
  if (starts("II*\0", 4) || starts("MM\0*", 4)) return true;   // TIFF, DNG, most RAW
  if (starts("ftyp", 4, 4)) return true;                       // HEIF / AVIF / CR3
  if (starts("BM", 2)) return true;                            // BMP
  if (starts("\0\0\0\x0cjP  ", 8)) return true;                // JPEG 2000
  if (starts("\xff\x0a", 2) || starts("\0\0\0\x0cJXL ", 8)) return true;  // JPEG XL
  if (starts("IIRO", 4) || starts("IIU\0", 4) || starts("FUJIFILM", 8)) return true;  // ORF, RW2, RAF
  return false;
}

std::string normalise_hex_color(const std::string& value) {
  std::string v = value;
  if (!v.empty() && v[0] == '#') v = v.substr(1);
  bool ok = v.size() == 6;
  for (char c : v) ok = ok && std::isxdigit(static_cast<unsigned char>(c));
  if (!ok) throw Error("bad colour '" + value + "' (want #rrggbb)", ErrorCode::InvalidArgument);
  for (auto& c : v) c = char(std::tolower(static_cast<unsigned char>(c)));
  return "#" + v;
}

std::string basename_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace vf::server
