// libFuzzer target: the whole ingestion of untrusted bytes (sniffing, libvips/libheif/LibRaw
// decoders, exiv2, resizing, thumbnails, features). Any crash, sanitizer report or escape of
// an exception other than vf::Error is a bug.
#include <cstddef>
#include <cstdint>

#include "viewfinder/image.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vf::IngestParams params;
  // Small limits keep each input fast; they are part of what is being tested.
  params.limits.max_pixels = 4'000'000;
  params.limits.timeout_ms = 2'000;
  params.preview_size = 0;
  params.thumb_size = 64;
  try {
    vf::ingest_bytes(data, size, "fuzz", params);
  } catch (const vf::Error&) {
    // Rejecting bad input with vf::Error is the expected outcome.
  }
  return 0;
}
