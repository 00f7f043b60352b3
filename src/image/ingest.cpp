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

IngestedPhoto ingest_impl(const uint8_t* data, size_t size, const std::string& name,
                          int64_t mtime_ns, const IngestParams& params) {
  IngestedPhoto out;
  out.path = name;
  fill_file_fields(data, size, mtime_ns, out.meta);
  reject_non_image(data, size, name);

  image::DecodeRequest req;
  req.apply_orientation = params.apply_orientation;
  req.limits = params.limits;
  // Shrink-on-load floor: twice the model's resize target so that the final antialiased
  // bicubic still does real filtering (measured: pixel_values within ~0.01 mean of the
  // full decode, see docs/ingestion.md), and the preview's long edge.
  req.min_short_edge = params.model_input_size > 0 ? 2 * params.resize_shortest_edge : 0;
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

}  // namespace vf
