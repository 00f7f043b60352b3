// What a file is when it is not an image we read, so that "not an image" comes with a reason a
// user can act on ("text file", "PDF document"), and which file names promise a photo.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "image/image_internal.h"

namespace vf::image {
namespace {

bool starts_with(const uint8_t* d, size_t n, size_t off, const char* magic, size_t len) {
  return n >= off + len && std::memcmp(d + off, magic, len) == 0;
}

// Printable ASCII, tabs/newlines and well-formed UTF-8 only, no NUL: text. The last few bytes
// may be a multi-byte character cut by the sample's end.
bool looks_like_text(const uint8_t* d, size_t n) {
  if (n == 0) return false;
  size_t i = starts_with(d, n, 0, "\xEF\xBB\xBF", 3) ? 3 : 0;
  while (i < n) {
    const uint8_t c = d[i];
    if (c == '\t' || c == '\n' || c == '\r' || c == '\f' || (c >= 0x20 && c < 0x7f)) {
      ++i;
      continue;
    }
    const int follow = (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : -1;
    if (follow < 0) return false;
    for (int k = 1; k <= follow; ++k) {
      if (i + k >= n) return true;  // cut at the end of the sample
      if ((d[i + k] & 0xC0) != 0x80) return false;
    }
    i += follow + 1;
  }
  return true;
}

std::string lower_prefix(const uint8_t* d, size_t n, size_t max) {
  std::string s(reinterpret_cast<const char*>(d), std::min(n, max));
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::string describe_non_image(const uint8_t* d, size_t n) {
  if (n == 0) return "empty file";
  if (starts_with(d, n, 0, "%PDF", 4)) return "PDF document";
  if (starts_with(d, n, 0, "PK\x03\x04", 4)) return "ZIP archive (or an office document)";
  if (starts_with(d, n, 0, "\x1F\x8B", 2)) return "gzip archive";
  if (starts_with(d, n, 0, "8BPS", 4)) return "Photoshop document (PSD, not supported)";
  if (starts_with(d, n, 0, "BM", 2) && n > 26 && d[14] >= 12 && d[15] == 0)
    return "BMP image (format not supported)";
  if (starts_with(d, n, 0, "RIFF", 4)) return "RIFF media file (AVI/WAV), not a WebP image";
  if (starts_with(d, n, 4, "ftyp", 4) && n >= 12)
    return "video or other ISO media file (brand '" +
           std::string(reinterpret_cast<const char*>(d + 8), 4) + "'), not a HEIF/AVIF image";
  if (starts_with(d, n, 0, "ID3", 3) || starts_with(d, n, 0, "OggS", 4) ||
      starts_with(d, n, 0, "fLaC", 4))
    return "audio file";
  if (looks_like_text(d, std::min<size_t>(n, 4096))) {
    const std::string head = lower_prefix(d, n, 1024);
    if (head.find("<svg") != std::string::npos) return "SVG drawing (vector images are not supported)";
    if (head.find("<html") != std::string::npos || head.find("<!doctype html") != std::string::npos)
      return "HTML document";
    return "text file";
  }
  char hex[3 * 8 + 1] = {};
  for (size_t i = 0; i < std::min<size_t>(n, 8); ++i) std::snprintf(hex + 3 * i, 4, "%02x ", d[i]);
  std::string first(hex);
  if (!first.empty()) first.pop_back();
  return "unrecognised content (starts with " + first + ")";
}

}  // namespace vf::image

namespace vf {

std::string not_an_image_reason(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::string("cannot open: ") + std::strerror(errno);
  uint8_t head[4096];
  in.read(reinterpret_cast<char*>(head), sizeof head);
  const size_t n = static_cast<size_t>(in.gcount());
  if (!image::sniff_format(head, n).empty()) return "";
  return image::describe_non_image(head, n);
}

bool has_image_extension(const std::string& path) {
  static const char* const extensions[] = {
      "jpg", "jpeg", "jpe", "jfif", "png", "webp", "gif", "tif", "tiff", "heic", "heif",
      "hif", "avif", "jxl", "dng", "cr2", "cr3", "crw", "nef", "nrw", "arw", "srf", "sr2",
      "orf", "rw2", "raf", "pef", "srw", "x3f", "3fr", "iiq", "erf", "mrw", "dcr", "kdc"};
  const size_t slash = path.find_last_of('/');
  const size_t dot = path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return false;
  std::string ext = path.substr(dot + 1);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return std::find(std::begin(extensions), std::end(extensions), ext) != std::end(extensions);
}

}  // namespace vf
