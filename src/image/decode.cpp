// Decoding: content sniffing, libvips for ordinary formats, LibRaw for camera RAW, limits and
// a decode deadline. Output is always 8-bit sRGB RGB with orientation applied (on request)
// and alpha composited over kAlphaBackground (or dropped, for HF-compatibility tests).
#include <libraw/libraw.h>
#include <sys/stat.h>
#include <vips/vips8>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>

#include "image/image_internal.h"

namespace vf::image {
namespace {

using Clock = std::chrono::steady_clock;

std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
  if (s.size() > 300) s = s.substr(0, 300) + "...";
  return s;
}

// libvips keeps one process-wide error buffer that accumulates lines; the lines this decode
// added are the last ones, so keep the last two (the specific reason and its context) and
// clear the buffer. Under heavy concurrency a line from another file can still slip in.
std::string vips_reason(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (!line.empty() && (lines.empty() || lines.back() != line)) lines.push_back(line);
    start = end + 1;
  }
  vips_error_clear();
  if (lines.empty()) return "unknown libvips error";
  if (lines.size() == 1) return lines[0];
  return lines[lines.size() - 2] + "; " + lines.back();
}

[[noreturn]] void fail(const std::string& name, const std::string& what,
                       ErrorCode code = ErrorCode::BadImage) {
  throw Error(name + ": " + one_line(what), code);
}

uint32_t rd32(const uint8_t* p, bool le) {
  return le ? (p[0] | p[1] << 8 | p[2] << 16 | static_cast<uint32_t>(p[3]) << 24)
            : (static_cast<uint32_t>(p[0]) << 24 | p[1] << 16 | p[2] << 8 | p[3]);
}
uint16_t rd16(const uint8_t* p, bool le) {
  return le ? static_cast<uint16_t>(p[0] | p[1] << 8) : static_cast<uint16_t>(p[0] << 8 | p[1]);
}

// Camera RAWs that are TIFF containers (DNG, NEF, ARW, PEF, CR2, ...) are told apart from
// ordinary TIFFs by IFD0: DNGVersion, or a camera Make together with SubIFDs (the raw data).
bool tiff_looks_raw(const uint8_t* d, size_t n) {
  if (n < 16) return false;
  const bool le = d[0] == 'I';
  if (d[8] == 'C' && d[9] == 'R') return true;  // Canon CR2
  // 64-bit so that an offset near 2^32 cannot wrap around the bounds check (found by
  // fuzz_metadata: "II*\0" followed by 0xFFFFFFFF).
  const uint64_t ifd = rd32(d + 4, le);
  if (ifd + 2 > n) return false;
  const uint16_t count = rd16(d + ifd, le);
  bool make = false, subifds = false;
  for (uint32_t i = 0; i < count && i < 512; ++i) {
    const size_t e = ifd + 2 + static_cast<size_t>(i) * 12;
    if (e + 12 > n) break;
    const uint16_t tag = rd16(d + e, le);
    if (tag == 0xC612) return true;  // DNGVersion
    if (tag == 0x010F) make = true;
    if (tag == 0x014A) subifds = true;
  }
  return make && subifds;
}

const char* loader_for(const std::string& format) {
  if (format == "jpeg") return "jpegload_buffer";
  if (format == "png") return "pngload_buffer";
  if (format == "webp") return "webpload_buffer";
  if (format == "gif") return "gifload_buffer";
  if (format == "tiff") return "tiffload_buffer";
  if (format == "heif" || format == "avif") return "heifload_buffer";
  if (format == "jxl") return "jxlload_buffer";
  return nullptr;
}

// The decode deadline: libvips emits "eval" on the image being computed; past the deadline
// we set its kill flag and the computation stops with an error.
struct Deadline {
  Clock::time_point at;
  std::atomic<bool> hit{false};
};
void on_eval(VipsImage* image, VipsProgress*, void* user) {
  auto* deadline = static_cast<Deadline*>(user);
  if (Clock::now() > deadline->at) {
    deadline->hit = true;
    vips_image_set_kill(image, TRUE);
  }
}

int shrink_factor_jpeg(int w, int h, int min_short, int min_long) {
  if (min_short <= 0 && min_long <= 0) return 1;
  const int s = std::min(w, h), l = std::max(w, h);
  int best = 1;
  for (int f : {2, 4, 8}) {
    const int ss = (s + f - 1) / f, ll = (l + f - 1) / f;  // libjpeg rounds scaled sizes up
    if (ss >= min_short && ll >= min_long) best = f;
  }
  return best;
}

int orientation_from_libraw_flip(int flip) {
  switch (flip) {
    case 3: return 3;
    case 5: return 8;
    case 6: return 6;
    default: return 1;
  }
}

vips::VImage load_vips(const std::string& format, VipsBlob* blob, int shrink) {
  vips::VImage out;
  auto* options = vips::VImage::option()
                      ->set("buffer", blob)
                      ->set("out", &out)
                      ->set("access", VIPS_ACCESS_SEQUENTIAL)
                      // Truncated data is an error, not a grey bottom half in the catalog.
                      ->set("fail_on", VIPS_FAIL_ON_TRUNCATED);
  if (format == "jpeg" && shrink > 1) options->set("shrink", shrink);
  vips::VImage::call(loader_for(format), options);
  return out;
}

// Libvips image -> 8-bit sRGB, 3 bands, alpha handled; the pixels are computed here.
RgbImage to_rgb8(vips::VImage img, AlphaMode alpha, const Deadline* deadline_in) {
  // Ignore embedded ICC profiles for RGB data, like Pillow/HF do (the model was trained on
  // such pixels); CMYK and other non-RGB spaces are converted by libvips.
  const VipsInterpretation interp = img.interpretation();
  if (interp != VIPS_INTERPRETATION_sRGB && interp != VIPS_INTERPRETATION_B_W) {
    if (interp == VIPS_INTERPRETATION_RGB16 || interp == VIPS_INTERPRETATION_GREY16 ||
        interp == VIPS_INTERPRETATION_CMYK || interp == VIPS_INTERPRETATION_scRGB ||
        interp == VIPS_INTERPRETATION_LAB || interp == VIPS_INTERPRETATION_XYZ ||
        interp == VIPS_INTERPRETATION_LABS || interp == VIPS_INTERPRETATION_LCH ||
        interp == VIPS_INTERPRETATION_CMC || interp == VIPS_INTERPRETATION_HSV ||
        interp == VIPS_INTERPRETATION_YXY || interp == VIPS_INTERPRETATION_sRGB) {
      img = img.colourspace(VIPS_INTERPRETATION_sRGB);
    }
  }
  // Anything still not 8-bit (16-bit multiband, float TIFF) is scaled to 0..255.
  if (img.format() == VIPS_FORMAT_USHORT) {
    img = (img / 257.0).cast(VIPS_FORMAT_UCHAR);
  } else if (img.format() == VIPS_FORMAT_FLOAT || img.format() == VIPS_FORMAT_DOUBLE) {
    img = (img * 255.0).cast(VIPS_FORMAT_UCHAR);
  } else if (img.format() != VIPS_FORMAT_UCHAR) {
    img = img.cast(VIPS_FORMAT_UCHAR);
  }
  const int bands = img.bands();
  const bool has_alpha = bands == 2 || bands == 4 || bands > 4;
  const int colour_bands = bands >= 3 ? 3 : 1;
  if (has_alpha) {
    if (alpha == AlphaMode::CompositeBackground) {
      // flatten wants exactly one alpha band after the colour bands.
      vips::VImage with_alpha = img.extract_band(0, vips::VImage::option()->set("n", colour_bands))
                                    .bandjoin(img.extract_band(colour_bands));
      std::vector<double> bg(colour_bands, kAlphaBackground[0]);
      img = with_alpha.flatten(vips::VImage::option()->set("background", bg)->set("max_alpha", 255.0));
      img = img.cast(VIPS_FORMAT_UCHAR);
    } else {
      img = img.extract_band(0, vips::VImage::option()->set("n", colour_bands));
    }
  } else if (bands > 3) {
    img = img.extract_band(0, vips::VImage::option()->set("n", 3));
  }
  if (img.bands() == 1) img = img.bandjoin(img).bandjoin(img);
  if (img.bands() != 3) throw Error("unexpected band count after conversion");

  VipsImage* final_image = img.get_image();
  Deadline* deadline = const_cast<Deadline*>(deadline_in);
  if (deadline) {
    vips_image_set_progress(final_image, TRUE);
    g_signal_connect(final_image, "eval", G_CALLBACK(on_eval), deadline);
  }
  size_t size = 0;
  void* mem = vips_image_write_to_memory(final_image, &size);
  if (!mem) throw vips::VError();
  std::unique_ptr<void, decltype(&g_free)> guard(mem, g_free);
  RgbImage out;
  out.width = img.width();
  out.height = img.height();
  if (size != static_cast<size_t>(out.width) * out.height * 3)
    throw Error("unexpected pixel buffer size");
  out.pixels.assign(static_cast<uint8_t*>(mem), static_cast<uint8_t*>(mem) + size);
  return out;
}

struct BlobDeleter {
  void operator()(VipsBlob* b) const { vips_area_unref(VIPS_AREA(b)); }
};
using BlobPtr = std::unique_ptr<VipsBlob, BlobDeleter>;
BlobPtr make_blob(const uint8_t* data, size_t size) {
  // No copy and no free function: the caller's bytes outlive every image made from them.
  return BlobPtr(vips_blob_new(nullptr, data, size));
}

int vips_orientation(const vips::VImage& img) {
  int o = vips_image_get_orientation(img.get_image());
  return (o >= 1 && o <= 8) ? o : 1;
}

std::vector<uint8_t> vips_exif_blob(const vips::VImage& img) {
  std::vector<uint8_t> out;
  if (vips_image_get_typeof(img.get_image(), VIPS_META_EXIF_NAME)) {
    const void* data = nullptr;
    size_t len = 0;
    if (vips_image_get_blob(img.get_image(), VIPS_META_EXIF_NAME, &data, &len) == 0 && data)
      out.assign(static_cast<const uint8_t*>(data), static_cast<const uint8_t*>(data) + len);
  }
  return out;
}

// ---- camera RAW ---------------------------------------------------------------------------
struct RawProgress {
  Deadline* deadline;
};
int raw_progress(void* user, LibRaw_progress, int, int) {
  auto* d = static_cast<Deadline*>(user);
  if (Clock::now() > d->at) {
    d->hit = true;
    return 1;  // non-zero cancels the LibRaw operation
  }
  return 0;
}

void check_pixels(const std::string& name, int64_t w, int64_t h, const DecodeLimits& limits) {
  if (w <= 0 || h <= 0) fail(name, "image has no pixels (" + std::to_string(w) + "x" + std::to_string(h) + ")");
  if (w * h > limits.max_pixels)
    fail(name,
         "image is " + std::to_string(w) + "x" + std::to_string(h) + " = " +
             std::to_string(w * h) + " pixels, over the limit of " +
             std::to_string(limits.max_pixels),
         ErrorCode::TooLarge);
}

DecodedImage decode_raw(const uint8_t* data, size_t size, const std::string& name,
                        const DecodeRequest& req, bool header_only) {
  // LibRaw's destructor runs recycle(): the raw and thumbnail buffers it allocated are freed on
  // every path, including the failures below.
  auto raw = std::make_unique<LibRaw>(LIBRAW_OPTIONS_NONE);
  Deadline deadline;
  deadline.at = Clock::now() + std::chrono::milliseconds(req.limits.timeout_ms);
  raw->set_progress_handler(raw_progress, &deadline);
  int rc = raw->open_buffer(const_cast<uint8_t*>(data), size);
  if (rc != LIBRAW_SUCCESS) fail(name, std::string("camera RAW not readable: ") + libraw_strerror(rc));
  DecodedImage out;
  out.format = "raw";
  out.mime = mime_for_format("raw");
  const auto& s = raw->imgdata.sizes;
  const int flip = s.flip;
  out.orientation = orientation_from_libraw_flip(flip);
  // LibRaw's width/height are the visible area as stored (before flip).
  out.stored_width = s.width;
  out.stored_height = s.height;
  check_pixels(name, s.raw_width, s.raw_height, req.limits);
  if (header_only) return out;

  const int short_stored = std::min<int>(s.width, s.height);
  const int long_stored = std::max<int>(s.width, s.height);
  const bool shrink_ok = req.min_short_edge > 0 || req.min_long_edge > 0;
  // The camera's embedded JPEG preview is what the photographer saw and decodes 10-50x faster
  // than demosaicing; use it when it is big enough for what was asked.
  if (shrink_ok && raw->unpack_thumb() == LIBRAW_SUCCESS) {
    const auto& t = raw->imgdata.thumbnail;
    if (t.tformat == LIBRAW_THUMBNAIL_JPEG && t.thumb && t.tlength > 0 &&
        std::min<int>(t.twidth, t.theight) >= req.min_short_edge &&
        std::max<int>(t.twidth, t.theight) >= req.min_long_edge) {
      try {
        DecodeRequest sub = req;
        sub.apply_orientation = false;
        DecodedImage preview = decode_buffer(reinterpret_cast<const uint8_t*>(t.thumb), t.tlength,
                                             name, sub);
        out.rgb = req.apply_orientation ? apply_orientation(preview.rgb, out.orientation)
                                        : std::move(preview.rgb);
        out.shrink = std::max(1, short_stored / std::max<int>(1, std::min<int>(t.twidth, t.theight)));
        return out;
      } catch (const Error&) {
        // A broken preview is no reason to fail: demosaic the raw data below.
      }
    }
  }
  auto& p = raw->imgdata.params;
  p.output_bps = 8;
  p.use_camera_wb = 1;
  // half_size skips demosaicing interpolation (each 2x2 Bayer cell becomes one pixel): 4x
  // less work, exact colours, fine when half the size is still big enough.
  p.half_size = shrink_ok && short_stored / 2 >= req.min_short_edge &&
                long_stored / 2 >= req.min_long_edge;
  // We apply orientation ourselves so that as-stored mode is possible.
  p.user_flip = 0;
  if ((rc = raw->unpack()) != LIBRAW_SUCCESS)
    fail(name, deadline.hit ? "decode took longer than the limit" : std::string("camera RAW unpack failed: ") + libraw_strerror(rc),
         deadline.hit ? ErrorCode::Timeout : ErrorCode::BadImage);
  if ((rc = raw->dcraw_process()) != LIBRAW_SUCCESS)
    fail(name, deadline.hit ? "decode took longer than the limit" : std::string("camera RAW processing failed: ") + libraw_strerror(rc),
         deadline.hit ? ErrorCode::Timeout : ErrorCode::BadImage);
  int err = 0;
  libraw_processed_image_t* img = raw->dcraw_make_mem_image(&err);
  if (!img) fail(name, std::string("camera RAW conversion failed: ") + libraw_strerror(err));
  std::unique_ptr<libraw_processed_image_t, void (*)(libraw_processed_image_t*)> guard(
      img, LibRaw::dcraw_clear_mem);
  if (img->type != LIBRAW_IMAGE_BITMAP || img->bits != 8 || (img->colors != 3 && img->colors != 1))
    fail(name, "camera RAW produced an unsupported pixel layout");
  RgbImage rgb;
  rgb.width = img->width;
  rgb.height = img->height;
  rgb.pixels.resize(static_cast<size_t>(rgb.width) * rgb.height * 3);
  for (size_t i = 0; i < static_cast<size_t>(rgb.width) * rgb.height; ++i)
    for (int c = 0; c < 3; ++c) rgb.pixels[i * 3 + c] = img->data[i * img->colors + (img->colors == 3 ? c : 0)];
  out.shrink = p.half_size ? 2 : 1;
  out.rgb = req.apply_orientation ? apply_orientation(rgb, out.orientation) : std::move(rgb);
  return out;
}

DecodedImage decode_impl(const uint8_t* data, size_t size, const std::string& name,
                         const DecodeRequest& req, bool header_only) {
  ensure_initialised();
  if (size == 0) fail(name, "file is empty");
  if (static_cast<int64_t>(size) > req.limits.max_file_bytes)
    fail(name, "file is " + std::to_string(size) + " bytes, over the limit of " +
                   std::to_string(req.limits.max_file_bytes), ErrorCode::TooLarge);
  std::string format = sniff_format(data, size);
  if (format.empty()) fail(name, "not an image in a supported format (unrecognised content)");
  if (format == "raw") {
    // Before LibRaw and before the TIFF fallback: a truncated RAW is neither.
    if (const std::string cut = tiff_raw_truncation(data, size); !cut.empty())
      fail(name, "camera RAW not readable: " + cut);
    try {
      return decode_raw(data, size, name, req, header_only);
    } catch (const Error&) {
      // TIFF-container guesses that LibRaw rejects are ordinary TIFFs.
      if (data[0] != 'I' && data[0] != 'M') throw;
      format = "tiff";
    }
  }
  try {
    BlobPtr blob = make_blob(data, size);
    vips::VImage header = load_vips(format, blob.get(), 1);
    DecodedImage out;
    out.format = format;
    out.mime = mime_for_format(format);
    out.stored_width = header.width();
    out.stored_height = header.height();
    out.exif_blob = vips_exif_blob(header);
    // libheif has already applied the HEIF irot/imir transforms, and libvips drops the EXIF
    // orientation of HEIF files; which orientation still applies is the rule in
    // heif_orientation.cpp (container transforms or MIAF brand: none, else EXIF's).
    out.orientation = (format == "heif" || format == "avif")
                          ? heif_orientation_to_apply(data, size, out.exif_blob)
                          : vips_orientation(header);
    check_pixels(name, out.stored_width, out.stored_height, req.limits);
    if (header_only) return out;
    vips::VImage img = header;
    if (format == "jpeg") {
      out.shrink = shrink_factor_jpeg(out.stored_width, out.stored_height, req.min_short_edge,
                                      req.min_long_edge);
      if (out.shrink > 1) img = load_vips(format, blob.get(), out.shrink);
    }
    Deadline deadline;
    deadline.at = Clock::now() + std::chrono::milliseconds(req.limits.timeout_ms);
    try {
      out.rgb = to_rgb8(img, req.alpha, &deadline);
    } catch (const vips::VError& e) {
      if (deadline.hit) vips_error_clear();
      if (deadline.hit) fail(name, "decode took longer than the limit of " + std::to_string(req.limits.timeout_ms) + " ms", ErrorCode::Timeout);
      throw;
    }
    if (req.apply_orientation && out.orientation > 1)
      out.rgb = apply_orientation(out.rgb, out.orientation);
    return out;
  } catch (const vips::VError& e) {
    fail(name, "cannot decode " + format + ": " + vips_reason(e.what()));
  }
}

}  // namespace

std::string sniff_format(const uint8_t* d, size_t n) {
  auto starts = [&](size_t off, const char* magic, size_t len) {
    return n >= off + len && std::memcmp(d + off, magic, len) == 0;
  };
  if (starts(0, "\xFF\xD8\xFF", 3)) return "jpeg";
  if (starts(0, "\x89PNG\r\n\x1A\n", 8)) return "png";
  if (starts(0, "RIFF", 4) && starts(8, "WEBP", 4)) return "webp";
  if (starts(0, "GIF87a", 6) || starts(0, "GIF89a", 6)) return "gif";
  if (starts(0, "\xFF\x0A", 2) || starts(0, "\0\0\0\x0CJXL \r\n\x87\n", 12)) return "jxl";
  if (starts(4, "ftyp", 4) && n >= 12) {
    const std::string major(reinterpret_cast<const char*>(d + 8), 4);
    if (major == "crx ") return "raw";  // Canon CR3
    if (major == "avif" || major == "avis") return "avif";
    static const char* heif_brands[] = {"heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1"};
    for (const char* b : heif_brands) {
      if (major == b) {
        // A mif1 file whose compatible brands say avif is AVIF.
        uint32_t box = rd32(d, false);
        for (size_t off = 16; off + 4 <= std::min<size_t>(box, n); off += 4)
          if (std::memcmp(d + off, "avif", 4) == 0) return "avif";
        return "heif";
      }
    }
    return "";
  }
  if (starts(0, "II*\0", 4) || starts(0, "MM\0*", 4)) return tiff_looks_raw(d, n) ? "raw" : "tiff";
  // Non-TIFF camera RAW containers LibRaw reads.
  if (starts(0, "IIRO", 4) || starts(0, "IIRS", 4) || starts(0, "IIU\0", 4) ||
      starts(0, "FUJIFILMCCD-RAW", 15) || starts(0, "\0MRM", 4) || starts(0, "FOVb", 4))
    return "raw";
  return "";
}

std::string mime_for_format(const std::string& f) {
  if (f == "jpeg") return "image/jpeg";
  if (f == "png") return "image/png";
  if (f == "webp") return "image/webp";
  if (f == "gif") return "image/gif";
  if (f == "tiff") return "image/tiff";
  if (f == "heif") return "image/heic";
  if (f == "avif") return "image/avif";
  if (f == "jxl") return "image/jxl";
  if (f == "raw") return "image/x-raw";
  return "application/octet-stream";
}

std::vector<uint8_t> read_file_bytes(const std::string& path, int64_t max_file_bytes,
                                     int64_t* mtime_ns) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw Error(path + ": " + std::strerror(errno), errno == ENOENT ? ErrorCode::NotFound : ErrorCode::Io);
  if (!S_ISREG(st.st_mode)) throw Error(path + ": not a regular file", ErrorCode::Io);
  if (st.st_size > max_file_bytes)
    throw Error(path + ": file is " + std::to_string(st.st_size) + " bytes, over the limit of " +
                    std::to_string(max_file_bytes), ErrorCode::TooLarge);
  if (mtime_ns) *mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open: " + std::strerror(errno), ErrorCode::Io);
  std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
  if (!bytes.empty() && !in.read(reinterpret_cast<char*>(bytes.data()), st.st_size))
    throw Error(path + ": read failed", ErrorCode::Io);
  return bytes;
}

DecodedImage decode_buffer(const uint8_t* data, size_t size, const std::string& name,
                           const DecodeRequest& request) {
  return decode_impl(data, size, name, request, false);
}

DecodedImage probe_buffer(const uint8_t* data, size_t size, const std::string& name,
                          const DecodeLimits& limits) {
  DecodeRequest req;
  req.limits = limits;
  return decode_impl(data, size, name, req, true);
}

}  // namespace vf::image

namespace vf {

RgbImage decode_rgb(const std::string& path, int min_short_edge, const DecodeLimits& limits) {
  const std::vector<uint8_t> bytes = image::read_file_bytes(path, limits.max_file_bytes);
  image::DecodeRequest req;
  req.limits = limits;
  req.min_short_edge = min_short_edge;
  return image::decode_buffer(bytes.data(), bytes.size(), path, req).rgb;
}

RgbImage decode_preview_rgb(const std::string& path, int long_edge, const DecodeLimits& limits) {
  const std::vector<uint8_t> bytes = image::read_file_bytes(path, limits.max_file_bytes);
  image::DecodeRequest req;
  req.limits = limits;
  req.min_long_edge = long_edge;
  return image::downsize(image::decode_buffer(bytes.data(), bytes.size(), path, req).rgb, long_edge);
}

RgbImage decode_rgb_bytes(const uint8_t* data, size_t size, const std::string& name, int min_long_edge,
                          const DecodeLimits& limits) {
  image::DecodeRequest req;
  req.limits = limits;
  req.min_long_edge = min_long_edge;
  return image::decode_buffer(data, size, name, req).rgb;
}

RgbImage resize_rgb(const RgbImage& picture, int width, int height) {
  return image::resize_bicubic_pillow(picture, width, height);
}

std::vector<uint8_t> encode_png(const RgbImage& picture) {
  image::ensure_initialised();
  vips::VImage img = vips::VImage::new_from_memory(const_cast<uint8_t*>(picture.pixels.data()), picture.pixels.size(),
                                                   picture.width, picture.height, 3, VIPS_FORMAT_UCHAR);
  void* buf = nullptr;
  size_t len = 0;
  try {
    img.write_to_buffer(".png", &buf, &len);
  } catch (const vips::VError& e) {
    throw Error(std::string("PNG encoding failed: ") + e.what(), ErrorCode::Generic);
  }
  std::vector<uint8_t> out(static_cast<uint8_t*>(buf), static_cast<uint8_t*>(buf) + len);
  g_free(buf);
  return out;
}

bool looks_like_image(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  uint8_t head[64] = {};
  in.read(reinterpret_cast<char*>(head), sizeof head);
  const size_t n = static_cast<size_t>(in.gcount());
  const std::string f = image::sniff_format(head, n);
  if (f == "raw" || f == "tiff") return true;  // the IFD may lie beyond the first 64 bytes
  return !f.empty();
}

}  // namespace vf
