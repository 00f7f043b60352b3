// Viewfinder public API: file names as bytes, and their lossless JSON form.
//
// A path is whatever bytes the file system holds; on Linux it need not be UTF-8. JSON strings
// must be UTF-8, so every JSON output (CLI --json, the HTTP API) writes a path as
//   "path": the name with each invalid byte replaced by U+FFFD (for display), and,
//   "path_bytes": the exact bytes, base64 (RFC 4648), only when the name is not valid UTF-8.
#pragma once

#include <string>
#include <string_view>

namespace vf {

bool is_valid_utf8(std::string_view s);
// `s` with every byte that is not part of a valid UTF-8 sequence replaced by U+FFFD.
std::string utf8_lossy(std::string_view s);
std::string base64_encode(std::string_view bytes);
// Throws vf::Error (InvalidArgument) on characters outside the base64 alphabet.
std::string base64_decode(std::string_view text);

// Sets j[key] (display form) and, for a name that is not valid UTF-8, j[key + "_bytes"]
// (base64 of the exact bytes). Works with any nlohmann::json-like object.
template <class Json>
void put_path(Json& j, const std::string& key, const std::string& path) {
  if (is_valid_utf8(path)) {
    j[key] = path;
  } else {
    j[key] = utf8_lossy(path);
    j[key + "_bytes"] = base64_encode(path);
  }
}

}  // namespace vf
