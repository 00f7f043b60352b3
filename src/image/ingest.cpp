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

// The largest working copy the features are computed on (the size of the indexer's previews).
constexpr int kFeatureEdge = 1280;

// Thumbnails and features from one decoded image. With a preview wanted, one copy reduced to
// the preview size, from which the preview, the thumbnail and the features are made. Without
// (the indexer's default: the server makes previews on first view), the decode itself when it is
// no larger than 1280 px (the model's decode: a 12 MP JPEG at 1/4, 1000x750), else a copy
// reduced to 1280 px: each photo is decoded once, and the features see at most 1280 px as before.
void make_views(const RgbImage& rgb, const IngestParams& params, const std::string& name, IngestedPhoto& out) {
  try {
    const int work_edge = params.preview_size > 0 ? params.preview_size : kFeatureEdge;
    RgbImage reduced;
    const bool reduce = std::max(rgb.width, rgb.height) > work_edge;
    if (reduce) reduced = image::downsize(rgb, work_edge);
    const RgbImage& work = reduce ? reduced : rgb;  // no copy of a decode that is small enough
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
}

bool wants_views(const IngestParams& p) { return p.preview_size > 0 || p.thumb_size > 0 || p.features; }

image::DecodeRequest model_request(const IngestParams& params) {
  image::DecodeRequest req;
  req.apply_orientation = params.apply_orientation;
  req.limits = params.limits;
  req.min_short_edge = model_decode_floor(params.resize_shortest_edge);
  return req;
}

// The model input is decoded at its own smallest DCT scale (model_request), never larger
// because a preview is wanted: the same file gives the same model input whether it is indexed
// (with thumbnails) or queried (decode_model_input). The thumbnails and features take that
// decode when it is big enough for the preview (or when it was not shrunk: a second decode
// could be no larger), else a decode of their own at the preview's scale. Without a preview
// (the indexer's default) the model's decode (short edge >= 640) always serves: one decode.
IngestedPhoto ingest_impl(const uint8_t* data, size_t size, const std::string& name,
                          int64_t mtime_ns, const IngestParams& params) {
  IngestedPhoto out;
  out.path = name;
  fill_file_fields(data, size, mtime_ns, out.meta);
  reject_non_image(data, size, name);

  image::DecodeRequest view_req;
  view_req.apply_orientation = params.apply_orientation;
  view_req.limits = params.limits;
  view_req.min_long_edge = std::max(params.preview_size, params.thumb_size);
  if (view_req.min_long_edge == 0) view_req.min_long_edge = 64;  // features alone
  const bool model = params.model_input_size > 0;
  const image::DecodedImage d = image::decode_buffer(data, size, name, model ? model_request(params) : view_req);
  fill_from_decoder(d, params.apply_orientation, out.meta);
  read_metadata_into(data, size, d, out.meta);
  if (model)
    out.model_input = preprocess_for_model(d.rgb, params.resize_shortest_edge, params.model_input_size,
                                           params.image_mean, params.image_std);
  if (!wants_views(params)) return out;
  const bool reuse = !model || d.shrink <= 1 || std::max(d.rgb.width, d.rgb.height) >= view_req.min_long_edge;
  if (reuse)
    make_views(d.rgb, params, name, out);
  else
    make_views(image::decode_buffer(data, size, name, view_req).rgb, params, name, out);
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
  const image::DecodedImage d = image::decode_buffer(data, size, name, model_request(params));  // as ingest_file's
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
