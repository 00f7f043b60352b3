// Thumbnails of other sizes, made on demand (the server's /api/photos/{id}/thumb?size=N).
#include <algorithm>

#include "image/image_internal.h"
#include "viewfinder/image.h"

namespace vf {

std::vector<uint8_t> resized_jpeg(const uint8_t* data, size_t size, const std::string& name, int long_edge,
                                  int* source_long_edge, int quality, const DecodeLimits& limits) {
  if (long_edge < 1) throw Error("resized_jpeg: long edge must be positive", ErrorCode::InvalidArgument);
  if (static_cast<int64_t>(size) > limits.max_file_bytes)
    throw Error(name + ": over the file size limit", ErrorCode::TooLarge);
  image::DecodeRequest req;
  req.limits = limits;
  // Shrink-on-load (JPEG DCT scaling, RAW previews) down to no less than the target: the
  // final reduce to long_edge is then done by libvips' thumbnail (Lanczos), which keeps it sharp.
  req.min_long_edge = long_edge;
  const auto decoded = image::decode_buffer(data, size, name, req);
  if (source_long_edge) *source_long_edge = std::max(decoded.stored_width, decoded.stored_height);
  try {
    return image::encode_thumbnail(decoded.rgb, long_edge, quality);
  } catch (const std::exception& e) {
    throw Error(name + ": cannot make a " + std::to_string(long_edge) + " px thumbnail: " + e.what(),
                ErrorCode::BadImage);
  }
}

}  // namespace vf
