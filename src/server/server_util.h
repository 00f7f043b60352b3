// Internal helpers of the HTTP server that need no library: authentication, path
// containment, static-file names, upload sniffing. Kept apart so that the security rules
// sit in one place. (Integers, numbers and dates of requests: common/value_parse.h.)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/real_paths.h"

namespace vf::server {

// Compares secrets without leaking where they differ or how long they are: both sides are
// hashed with SHA-256 and the digests compared with CRYPTO_memcmp.
bool constant_time_equal(const std::string& a, const std::string& b);

std::string base64_encode(const std::string& in);

// True when every address `host` resolves to (getaddrinfo) is a loopback address
// (127.0.0.0/8, ::1): a name is judged by where it points, never by its text, so a hosts
// entry mapping "studio" to 0.0.0.0 is not loopback. A name that does not resolve: false.
bool is_loopback_host(const std::string& host);

// `v` rounded to `decimals` places, for display in JSON (scores, milliseconds).
double round_to(double v, int decimals);

using vf::path_within;  // common/real_paths.h
using vf::real_path;

// A URL path below the web root that is safe to look up: no "..", ".", empty or hidden
// segments, no backslashes or NULs. Returns the relative path ("index.html" for "/").
std::optional<std::string> safe_static_path(const std::string& url_path);

// Content type for a static file name by extension.
std::string mime_for(const std::string& name);

// The leading bytes of an upload look like an image format we decode (JPEG, PNG, GIF,
// WebP, TIFF/RAW, HEIF/AVIF, BMP). A cheap reject before the decoder sees the bytes.
bool sniff_image(const std::string& bytes);

// "#rrggbb" (or "rrggbb") normalised to "#rrggbb"; throws vf::Error otherwise.
std::string normalise_hex_color(const std::string& value);

std::string basename_of(const std::string& path);

}  // namespace vf::server
