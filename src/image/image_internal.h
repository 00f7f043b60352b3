// Internals of the ingestion stage shared by src/image/*.cpp and the image tests. Nothing
// here includes libvips/exiv2/LibRaw headers, so tests can use it without those include paths.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "viewfinder/image.h"

namespace vf::image {

// What to do with an alpha channel. The product composites over kAlphaBackground (what a
// photo viewer shows); Drop exists only to reproduce HF/Pillow's convert("RGB"), which keeps
// the colour under transparent pixels (the golden preprocessing files were made that way).
enum class AlphaMode { CompositeBackground, Drop };

struct DecodeRequest {
  bool apply_orientation = true;
  AlphaMode alpha = AlphaMode::CompositeBackground;
  // Shrink-on-load: the decoder may return a smaller image as long as its short edge stays
  // >= min_short_edge and its long edge >= min_long_edge (0 for both: full size).
  int min_short_edge = 0;
  int min_long_edge = 0;
  DecodeLimits limits;
};

struct DecodedImage {
  RgbImage rgb;
  std::string format;  // "jpeg", "png", ...
  std::string mime;
  int stored_width = 0, stored_height = 0;  // full size as stored, before any shrink
  int orientation = 1;                      // EXIF orientation found in the file (1..8)
  int shrink = 1;                           // shrink-on-load factor actually used (approx.)
  std::vector<uint8_t> exif_blob;           // raw EXIF the decoder found (HEIF/AVIF/WebP)
};

// Process-wide one-time set-up of libvips (cache off, warnings silenced), exiv2 (log muted,
// XMP parser initialised, BMFF enabled). Thread-safe; every entry point calls it.
void ensure_initialised();

// Format from content (magic bytes): "jpeg", "png", "webp", "gif", "tiff", "heif", "avif",
// "jxl", "raw" (TIFF-based or other camera RAW), or "" if unknown.
std::string sniff_format(const uint8_t* data, size_t size);
std::string mime_for_format(const std::string& format);

// Reads a whole file, enforcing limits.max_file_bytes. Throws vf::Error naming the file.
std::vector<uint8_t> read_file_bytes(const std::string& path, int64_t max_file_bytes,
                                     int64_t* mtime_ns = nullptr);

// Decodes bytes to 8-bit sRGB RGB. `name` is used in error messages. Throws vf::Error.
DecodedImage decode_buffer(const uint8_t* data, size_t size, const std::string& name,
                           const DecodeRequest& request);

// Pillow's Image.resize(BICUBIC) on 8-bit RGB, bit-exact (fixed point, horizontal pass first
// with a uint8 intermediate, a pass skipped when its size is unchanged).
RgbImage resize_bicubic_pillow(const RgbImage& in, int out_width, int out_height);

// EXIF orientation 1..8 applied to pixels (PIL.ImageOps.exif_transpose semantics).
RgbImage apply_orientation(const RgbImage& in, int orientation);

// Metadata from bytes (exiv2); never throws for bad metadata: fields it cannot read stay empty.
// Fills format-independent fields only (capture time, camera, GPS, rating, keywords,
// orientation when present). `exif_blob` is an extra raw EXIF block (from the decoder).
void read_exiv2_metadata(const uint8_t* data, size_t size, const std::vector<uint8_t>& exif_blob,
                         PhotoMetadata& meta);

// EXIF/XMP date-time text into ISO-8601 local time, its UTC offset ("" when the text has
// none) and seconds since epoch. False for text that is not a real date (month 13, Feb 30).
bool parse_datetime(const std::string& text, std::string& iso, std::string& offset,
                    int64_t& unix_s);

// The orientation to apply to libheif's output for a HEIF/AVIF file (docs/ingestion.md,
// "Orientation"): 1 when the container has irot/imir transforms (libheif applied them) or
// carries the MIAF brand (EXIF orientation is informative only), else the EXIF orientation
// (`exif_blob` as the decoder found it), as Apple's decoders do for such files.
int heif_orientation_to_apply(const uint8_t* data, size_t size, const std::vector<uint8_t>& exif_blob);

// What a file whose content is not a supported image is ("text file", "PDF document", ...).
std::string describe_non_image(const uint8_t* data, size_t size);

// Header-only probe: format, stored size, orientation (no pixel decode).
DecodedImage probe_buffer(const uint8_t* data, size_t size, const std::string& name,
                          const DecodeLimits& limits);

// For a TIFF-container camera RAW: a reason when a strip or tile of IFD0 or its SubIFDs lies
// beyond the end of the data (a truncated file), "" otherwise. Checked before LibRaw, which
// leaks libjpeg state on truncated lossy DNGs (tiff_extent.cpp).
std::string tiff_raw_truncation(const uint8_t* data, size_t size);

std::string content_hash_hex(const uint8_t* data, size_t size);  // xxh3-128, 32 hex chars

// Derived features.
std::array<float, 512> color_histogram(const RgbImage& rgb);
uint64_t perceptual_hash(const RgbImage& rgb);
// `rgb` scaled down (box reduce + Pillow bicubic, as Pillow's thumbnail()) so its long edge is <= long_edge.
RgbImage downsize(const RgbImage& rgb, int long_edge);
// JPEG bytes of `rgb` scaled so its long edge is <= long_edge (never upscaled), quality q.
std::vector<uint8_t> encode_thumbnail(const RgbImage& rgb, int long_edge, int quality);

}  // namespace vf::image

namespace vf::image {
// The resize + centre-crop half of preprocess_for_model: [crop, crop] RGB uint8 (the golden
// crop_uint8).
RgbImage resize_and_crop_for_model(const RgbImage& rgb, int shortest_edge, int crop);
}  // namespace vf::image
