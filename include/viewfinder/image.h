// Viewfinder public API: reading photos (decode, metadata, derived features, model input).
//
// Everything is detected from file content, never from the extension. Decoding uses libvips
// (libjpeg-turbo, libheif, libwebp, libtiff, libpng), camera RAW uses LibRaw, metadata uses
// exiv2. A file that cannot be read raises vf::Error with a one-line reason.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "viewfinder/error.h"

namespace vf {

// Background for compositing alpha: documented as white (what photo viewers show).
constexpr uint8_t kAlphaBackground[3] = {255, 255, 255};

struct DecodeLimits {
  int64_t max_pixels = 250'000'000;        // decompression-bomb guard (stored width*height)
  int64_t max_file_bytes = 1'000'000'000;  // 1 GB
  int timeout_ms = 30'000;                 // a single decode taking longer is abandoned
};

// 8-bit interleaved RGB pixels.
struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> pixels;  // width*height*3
};

struct PhotoMetadata {
  std::string format;  // "jpeg" | "png" | "webp" | "tiff" | "heif" | "avif" | "raw" | "gif" ...
  std::string mime;
  int64_t file_size = 0;
  int64_t mtime_ns = 0;        // file modification time, ns since epoch
  std::string content_hash;    // xxh3-128 of the file bytes, 32 hex chars
  int stored_width = 0, stored_height = 0;  // as stored
  int width = 0, height = 0;   // after orientation
  // EXIF orientation 1..8 that is applied to the stored pixels to display them. For HEIF/AVIF
  // it is 1 when the container's irot/imir transforms (applied by libheif) or the MIAF brand
  // make the EXIF tag informative only; see docs/ingestion.md, "Orientation".
  int orientation = 1;
  // Capture time as ISO-8601 local time ("2019-03-14T09:30:12"), with the UTC offset when
  // known ("+01:00"). Only a date the file records for the moment of capture counts, in this
  // order: "exif:DateTimeOriginal", "xmp:DateTimeOriginal", "xmp:DateCreated"
  // (photoshop:DateCreated), "exif:DateTimeDigitized", "xmp:CreateDate" (capture_time_source
  // says which). EXIF DateTime is the last *edit* and the file time is not a capture either:
  // a photo without a capture date has an EMPTY capture_time (capture_unix is then 0 and
  // means nothing); its file time is in file_time below.
  std::string capture_time;
  std::string capture_offset;
  std::string capture_time_source;
  int64_t capture_unix = 0;  // seconds since epoch (UTC when the offset is known, else as local)
  // The file's modification time, UTC ("2026-11-30T15:26:25Z"), and the same in seconds since
  // epoch. A FILE time, not a capture time: shown labelled as such, never used by date
  // filters or "newest first" unless the user asks for file times. Empty/0 for bytes without
  // a file (uploads through ingest_bytes).
  std::string file_time;
  int64_t file_time_unix = 0;
  std::string make, model;
  // Lens model or name (EXIF/XMP LensModel, maker-note lens names, XMP aux:Lens) or, for
  // compact cameras and unnamed lenses, its focal range ("7.1 - 21.3 mm"); "" when unknown.
  std::string lens;
  std::optional<double> focal_length_mm, aperture_f, exposure_s;
  std::optional<int> iso;
  // GPS position; none when absent, out of range, or exactly 0,0 with no other GPS field
  // ("null island": a receiver without a fix writes zeros).
  std::optional<double> gps_lat, gps_lon, gps_alt;
  std::optional<int> rating;          // XMP rating, -1..5
  std::vector<std::string> keywords;  // XMP dc:subject / IPTC keywords
  // Why some metadata could not be read although the pixels decoded (malformed EXIF/XMP);
  // empty when there was no problem. Such a photo is still ingested.
  std::string metadata_warning;
};

struct IngestParams {
  DecodeLimits limits;
  bool apply_orientation = true;  // EXIF orientation before anything else (what users see)
  int model_input_size = 224;     // crop size; 0: skip the model input
  int resize_shortest_edge = 256;
  float image_mean[3] = {0.485f, 0.456f, 0.406f};
  float image_std[3] = {0.229f, 0.224f, 0.225f};
  int thumb_size = 256;           // long edge of the grid thumbnail; 0: none
  int preview_size = 1280;        // long edge of the large preview; 0: none
  bool features = true;           // colour histogram and perceptual hash
};

// Everything the rest of Viewfinder needs from one file.
struct IngestedPhoto {
  std::string path;
  PhotoMetadata meta;
  std::vector<float> model_input;  // [3, S, S] normalised, NCHW for one image; empty if skipped
  std::vector<uint8_t> thumb_jpeg;    // grid thumbnail, JPEG bytes
  std::vector<uint8_t> preview_jpeg;  // large preview, JPEG bytes
  std::array<float, 512> color_hist{};  // 8x8x8 RGB, L1-normalised, index r*64+g*8+b
  uint64_t phash = 0;                  // 64-bit DCT perceptual hash
};

// Reads one file fully: metadata, model input, thumbnails, features. Throws vf::Error; a file
// that is not an image at all says so: "<path>: not an image: text file" (ErrorCode::BadImage).
IngestedPhoto ingest_file(const std::string& path, const IngestParams& params = {});
// Same, from bytes in memory (uploads); `name` is used in messages only.
IngestedPhoto ingest_bytes(const uint8_t* data, size_t size, const std::string& name,
                           const IngestParams& params = {});

// Only the model input ([3, S, S], as IngestedPhoto::model_input): no metadata, thumbnails or
// features, and the JPEG decoded at the smallest DCT scale whose short edge stays >= twice
// params.resize_shortest_edge (the preview's size does not hold it larger). Throws vf::Error.
std::vector<float> decode_model_input(const std::string& path, const IngestParams& params = {});
std::vector<float> decode_model_input(const uint8_t* data, size_t size, const std::string& name,
                                      const IngestParams& params = {});

// Metadata only (no pixel decode beyond the header). Throws vf::Error.
PhotoMetadata read_metadata(const std::string& path);

// Decodes to RGB with orientation applied and alpha composited, shrinking on load so that
// the result's shortest edge is >= min_short_edge (0: full size). Throws vf::Error.
RgbImage decode_rgb(const std::string& path, int min_short_edge = 0, const DecodeLimits& = {});
// The same from encoded bytes (an upload), shrinking on load so that the long edge stays
// >= min_long_edge (0: full size); `name` is used in messages.
RgbImage decode_rgb_bytes(const uint8_t* data, size_t size, const std::string& name, int min_long_edge = 0,
                          const DecodeLimits& = {});
// The picture as a preview of long edge `long_edge` shows it (never upscaled): decoded with
// shrink-on-load, then reduced as the indexer's thumbnails are. For a photo without a preview
// file (previews are made on first view by default). Throws vf::Error.
RgbImage decode_preview_rgb(const std::string& path, int long_edge, const DecodeLimits& = {});
// Pillow-exact bicubic resize (the model's preprocessing filter) to width x height.
RgbImage resize_rgb(const RgbImage& picture, int width, int height);
// The picture as a PNG file's bytes. Throws vf::Error.
std::vector<uint8_t> encode_png(const RgbImage& picture);

// A JPEG of the picture in the bytes (orientation applied, alpha composited) whose long edge
// is min(long_edge, the picture's): shrunk on load, never upscaled. For thumbnails made on
// demand (the server's ?size=N); `name` is used in messages. `source_long_edge`, when given,
// receives the picture's own long edge. Throws vf::Error.
std::vector<uint8_t> resized_jpeg(const uint8_t* data, size_t size, const std::string& name, int long_edge,
                                  int* source_long_edge = nullptr, int quality = 82,
                                  const DecodeLimits& limits = {});

// The HF BitImageProcessor pipeline on decoded pixels (Pillow-exact bicubic resize of the
// shortest edge, centre crop, rescale, normalise): [3, crop, crop] float32.
std::vector<float> preprocess_for_model(const RgbImage& rgb, int shortest_edge, int crop,
                                        const float mean[3], const float std[3]);

// True if the file's leading bytes look like an image format we read.
bool looks_like_image(const std::string& path);

// A header-only look at encoded image bytes (an upload): the format and the stored size,
// without decoding pixels. Throws vf::Error naming `name` (ErrorCode::TooLarge past `limits`,
// BadImage for content that is not an image we read).
struct ImageProbe {
  std::string format;  // "jpeg", "png", ...
  int width = 0, height = 0;  // as stored, before orientation
};
ImageProbe probe_image_bytes(const uint8_t* data, size_t size, const std::string& name,
                             const DecodeLimits& limits = {});

// Why the file's content is not an image we read ("text file", "PDF document", "empty file",
// "unrecognised content (starts with 50 4b 03 04)"); "" when it looks like an image. A file
// that cannot be opened gives the system's reason.
std::string not_an_image_reason(const std::string& path);

// True if the file name ends in an extension photos usually have (.jpg, .heic, .png, .dng,
// ...; case-insensitive). A file named like a photo whose content is not an image is a
// failure to list, not a file to skip silently.
bool has_image_extension(const std::string& path);

// The content hash ingest_file() records (PhotoMetadata::content_hash: xxh3-128 of the file's
// bytes, 32 hex chars), without decoding. Throws vf::Error naming the file (unreadable, or
// over limits.max_file_bytes).
std::string content_hash_file(const std::string& path, const DecodeLimits& limits = {});

// The camera body's serial number (EXIF BodySerialNumber or a maker-note serial); "" when the
// file records none or cannot be read. Never throws.
std::string read_camera_serial(const std::string& path);

}  // namespace vf
