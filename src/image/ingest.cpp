// ingest_file / ingest_bytes / read_metadata: one read of the bytes, one decode, everything
// else (metadata, model input, thumbnails, features) derived from those.
#include <algorithm>
#include <ctime>

#include "image/image_internal.h"

namespace vf {
namespace {

void fill_file_fields(const uint8_t* data, size_t size, int64_t mtime_ns, PhotoMetadata& meta) {
  meta.file_size = static_cast<int64_t>(size);
  meta.mtime_ns = mtime_ns;
  meta.content_hash = image::content_hash_hex(data, size);
  // The file time, kept apart from the capture time (which it never replaces).
  if (mtime_ns > 0) {
    const time_t t = static_cast<time_t>(mtime_ns / 1'000'000'000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    meta.file_time = buf;
    meta.file_time_unix = static_cast<int64_t>(t);
  }
}

// A file that is not an image at all gets a reason ("not an image: text file") before any
// decoder sees it, so that the indexer can list it under failures with that reason.
void reject_non_image(const uint8_t* data, size_t size, const std::string& name) {
  if (size > 0 && image::sniff_format(data, size).empty())
    throw Error(name + ": not an image: " + image::describe_non_image(data, size), ErrorCode::BadImage);
}

void fill_from_decoder(const image::DecodedImage& d, bool oriented, PhotoMetadata& meta) {
  meta.format = d.format;
  meta.mime = d.mime;
  meta.stored_width = d.stored_width;
  meta.stored_height = d.stored_height;
  // Swap for 5..8 (HEIF whose container transforms libheif applied reports 1 here).
  const bool swap = oriented && d.orientation >= 5;
  meta.width = swap ? d.stored_height : d.stored_width;
  meta.height = swap ? d.stored_width : d.stored_height;
  meta.orientation = d.orientation;
}

void read_metadata_into(const uint8_t* data, size_t size, const image::DecodedImage& d,
                        PhotoMetadata& meta) {
  const int decoder_orientation = meta.orientation;
  image::read_exiv2_metadata(data, size, d.exif_blob, meta);
  // The decoder's view wins: it is the orientation applied to the pixels (for HEIF/AVIF the
  // rule of heif_orientation.cpp, not the EXIF tag that exiv2 reads).
  if (d.format != "raw") meta.orientation = decoder_orientation;
}

// Shrink-on-load floor for the model input: the JPEG DCT-scaled decode keeps a short edge of at
// least 2.5x the resize target, so the final antialiased bicubic still does the real filtering.
// At 2.08x (the golden portrait: 1064 -> 532 px for a 256 px target) the pooler cosine to the
// full-size decode was 0.99988; from 2.5x up it is >= 0.9999 on every golden photo
// (tests/unit/test_engine_images.cpp). A 12 MP photo (3000 px short edge) still decodes at 1/4.
int model_decode_floor(int resize_shortest_edge) { return (5 * resize_shortest_edge + 1) / 2; }

IngestedPhoto ingest_impl(const uint8_t* data, size_t size, const std::string& name,
                          int64_t mtime_ns, const IngestParams& params) {
  IngestedPhoto out;
  out.path = name;
  fill_file_fields(data, size, mtime_ns, out.meta);
  reject_non_image(data, size, name);

  image::DecodeRequest req;
  req.apply_orientation = params.apply_orientation;
  req.limits = params.limits;
  // Shrink-on-load floor: the model's (see model_decode_floor), and the preview's long edge.
  req.min_short_edge = params.model_input_size > 0 ? model_decode_floor(params.resize_shortest_edge) : 0;
  req.min_long_edge = std::max(params.preview_size, params.thumb_size);
  if (req.min_short_edge == 0 && req.min_long_edge == 0) req.min_long_edge = 64;  // features
  const image::DecodedImage d = image::decode_buffer(data, size, name, req);
  fill_from_decoder(d, params.apply_orientation, out.meta);
  read_metadata_into(data, size, d, out.meta);

  if (params.model_input_size > 0)
    out.model_input = preprocess_for_model(d.rgb, params.resize_shortest_edge,
                                           params.model_input_size, params.image_mean,
                                           params.image_std);
  // Thumbnails and features work on one copy reduced to the preview size (or 1280 when no
  // preview is wanted): the decode may be several times larger because of the model's
  // shrink-on-load floor, and neither a 256 px thumbnail nor a 32x32 hash needs more.
  try {
    const int work_edge = params.preview_size > 0 ? params.preview_size : 1280;
    const RgbImage work = image::downsize(d.rgb, work_edge);
    if (params.preview_size > 0) out.preview_jpeg = image::encode_thumbnail(work, params.preview_size, 80);
    if (params.thumb_size > 0) out.thumb_jpeg = image::encode_thumbnail(work, params.thumb_size, 80);
    if (params.features) {
      out.color_hist = image::color_histogram(work);
      out.phash = image::perceptual_hash(work);
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(name + ": cannot make thumbnails: " + e.what(), ErrorCode::BadImage);
  }
  return out;
}

}  // namespace

IngestedPhoto ingest_file(const std::string& path, const IngestParams& params) {
  int64_t mtime_ns = 0;
  const std::vector<uint8_t> bytes = image::read_file_bytes(path, params.limits.max_file_bytes, &mtime_ns);
  return ingest_impl(bytes.data(), bytes.size(), path, mtime_ns, params);
}

IngestedPhoto ingest_bytes(const uint8_t* data, size_t size, const std::string& name,
                           const IngestParams& params) {
  return ingest_impl(data, size, name, 0, params);
}

std::vector<float> decode_model_input(const uint8_t* data, size_t size, const std::string& name,
                                      const IngestParams& params) {
  image::ensure_initialised();
  if (params.model_input_size <= 0 || params.resize_shortest_edge <= 0)
    throw Error(name + ": decode_model_input needs a model input size", ErrorCode::InvalidArgument);
  image::DecodeRequest req;
  req.apply_orientation = params.apply_orientation;
  req.limits = params.limits;
  req.min_short_edge = model_decode_floor(params.resize_shortest_edge);  // as ingest_file's
  const image::DecodedImage d = image::decode_buffer(data, size, name, req);
  return preprocess_for_model(d.rgb, params.resize_shortest_edge, params.model_input_size, params.image_mean,
                              params.image_std);
}

std::vector<float> decode_model_input(const std::string& path, const IngestParams& params) {
  const std::vector<uint8_t> bytes = image::read_file_bytes(path, params.limits.max_file_bytes);
  return decode_model_input(bytes.data(), bytes.size(), path, params);
}

PhotoMetadata read_metadata(const std::string& path) {
  int64_t mtime_ns = 0;
  const DecodeLimits limits;
  const std::vector<uint8_t> bytes = image::read_file_bytes(path, limits.max_file_bytes, &mtime_ns);
  PhotoMetadata meta;
  fill_file_fields(bytes.data(), bytes.size(), mtime_ns, meta);
  reject_non_image(bytes.data(), bytes.size(), path);
  const image::DecodedImage d = image::probe_buffer(bytes.data(), bytes.size(), path, limits);
  fill_from_decoder(d, true, meta);
  read_metadata_into(bytes.data(), bytes.size(), d, meta);
  return meta;
}

ImageProbe probe_image_bytes(const uint8_t* data, size_t size, const std::string& name,
                             const DecodeLimits& limits) {
  image::DecodedImage d = image::probe_buffer(data, size, name, limits);
  return ImageProbe{d.format, d.stored_width, d.stored_height};
}

}  // namespace vf
