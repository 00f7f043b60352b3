// libFuzzer target: metadata parsing of untrusted bytes (exiv2 on any container, plus a raw
// EXIF block as libvips would hand it over, and the header-only probe).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "../src/image/image_internal.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vf::PhotoMetadata meta;
  // The same bytes as a whole file and as a bare EXIF (TIFF-structured) block.
  const std::vector<uint8_t> exif_blob(data, data + size);
  vf::image::read_exiv2_metadata(data, size, exif_blob, meta);  // must never throw
  try {
    vf::DecodeLimits limits;
    limits.max_pixels = 4'000'000;
    vf::image::probe_buffer(data, size, "fuzz", limits);
  } catch (const vf::Error&) {
  }
  return 0;
}
