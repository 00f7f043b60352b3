// The file-level content hash, for callers outside src/image (the indexer's change detection).
#include "image/image_internal.h"

namespace vf {

std::string content_hash_file(const std::string& path, const DecodeLimits& limits) {
  auto bytes = image::read_file_bytes(path, limits.max_file_bytes);
  return image::content_hash_hex(bytes.data(), bytes.size());
}

}  // namespace vf
