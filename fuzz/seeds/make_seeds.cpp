// Writes the seed corpus of fuzz_decode / fuzz_metadata: one small valid file per format the
// decoder reads (JPEG with EXIF + orientation, progressive JPEG, PNG with alpha, 16-bit PNG,
// grey PNG, WebP lossy/lossless, GIF, TIFF, 16-bit TIFF, HEIC, AVIF, JPEG XL) and a minimal
// uncompressed DNG written by hand. Each is tens to a few hundred bytes, so libFuzzer spends
// its time mutating structure instead of re-decoding megapixels.
// Built and run by fuzz/seeds/make_seeds.sh; a format this libvips cannot write is skipped.
#include <vips/vips8>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace {

// A 24x16 gradient with some structure (edges, a colour ramp), 3 or 4 bands.
vips::VImage pattern(int bands) {
  vips::VImage xy = vips::VImage::xyz(24, 16);
  vips::VImage x = xy[0], y = xy[1];
  vips::VImage r = x * 10, g = y * 15, b = (x + y) * 6;
  vips::VImage img = r.bandjoin(g).bandjoin(b);
  if (bands == 4) img = img.bandjoin(x * 10 + 15);
  return img.cast(VIPS_FORMAT_UCHAR).copy(vips::VImage::option()->set(
      "interpretation", VIPS_INTERPRETATION_sRGB));
}

bool save(const vips::VImage& img, const std::string& path, vips::VOption* options = nullptr) {
  try {
    img.write_to_file(path.c_str(), options);
    return true;
  } catch (const vips::VError& e) {
    std::fprintf(stderr, "make_seeds: skipped %s: %s", path.c_str(), e.what());
    vips_error_clear();
    return false;
  }
}

void put16(std::vector<uint8_t>& b, uint16_t v) { b.push_back(v & 0xff), b.push_back(v >> 8); }
void put32(std::vector<uint8_t>& b, uint32_t v) { for (int i = 0; i < 4; ++i) b.push_back((v >> (8 * i)) & 0xff); }

// A minimal little-endian DNG that LibRaw demosaics: 16x16 RGGB CFA, 16-bit, uncompressed,
// with Make/Model (camera path) and a DateTime for the metadata reader.
std::vector<uint8_t> tiny_dng() {
  const int W = 16, H = 16;
  struct Entry { uint16_t tag, type; uint32_t count, value; };
  const std::string make = "Viewfinder", model = "Seed DNG", when = "2024:05:06 07:08:09";
  std::vector<uint8_t> extra;  // out-of-line values, placed after the IFD
  std::vector<Entry> e;
  const uint32_t n_entries = 20, ifd_off = 8, extra_off = ifd_off + 2 + n_entries * 12 + 4;
  auto ext = [&](const std::string& s) {
    uint32_t off = extra_off + static_cast<uint32_t>(extra.size());
    extra.insert(extra.end(), s.begin(), s.end());
    extra.push_back(0);
    if (extra.size() % 2) extra.push_back(0);
    return off;
  };
  const uint32_t make_off = ext(make), model_off = ext(model), when_off = ext(when);
  const uint32_t pixels_off = extra_off + static_cast<uint32_t>(extra.size());
  e = {{254, 4, 1, 0},                     // NewSubfileType: main image
       {256, 4, 1, W}, {257, 4, 1, H},     // width, height
       {258, 3, 1, 16},                    // BitsPerSample
       {259, 3, 1, 1},                     // Compression: none
       {262, 3, 1, 32803},                 // Photometric: CFA
       {271, 2, static_cast<uint32_t>(make.size() + 1), make_off},
       {272, 2, static_cast<uint32_t>(model.size() + 1), model_off},
       {273, 4, 1, pixels_off},            // StripOffsets
       {274, 3, 1, 1},                     // Orientation
       {277, 3, 1, 1},                     // SamplesPerPixel
       {278, 4, 1, H},                     // RowsPerStrip
       {279, 4, 1, W * H * 2},             // StripByteCounts
       {306, 2, 20, when_off},             // DateTime
       {33421, 3, 2, 2 | 2 << 16},         // CFARepeatPatternDim 2x2
       {33422, 1, 4, 0x02010100},          // CFAPattern R G G B
       {50706, 1, 4, 0x00000401},          // DNGVersion 1.4.0.0
       {50708, 2, static_cast<uint32_t>(model.size() + 1), model_off},  // UniqueCameraModel
       {50717, 3, 1, 4095},                // WhiteLevel
       {50778, 3, 1, 21}};                 // CalibrationIlluminant1: D65
  std::vector<uint8_t> b = {'I', 'I', 42, 0};
  put32(b, ifd_off);
  put16(b, static_cast<uint16_t>(e.size()));
  for (const auto& x : e) {
    put16(b, x.tag), put16(b, x.type), put32(b, x.count);
    if (x.type == 3 && x.count == 1) put16(b, static_cast<uint16_t>(x.value)), put16(b, 0);
    else put32(b, x.value);
  }
  put32(b, 0);
  b.insert(b.end(), extra.begin(), extra.end());
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) put16(b, static_cast<uint16_t>((x * 200 + y * 50 + ((x ^ y) & 1) * 400) & 4095));
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 || VIPS_INIT(argv[0])) {
    std::fprintf(stderr, "usage: make_seeds OUT_DIR\n");
    return 2;
  }
  const std::string out = argv[1];
  vips::VImage rgb = pattern(3), rgba = pattern(4);
  vips::VImage exif = rgb.copy();
  exif.set("orientation", 6);
  exif.set("exif-ifd0-Make", "Viewfinder");
  exif.set("exif-ifd0-Model", "Seed");
  exif.set("exif-ifd2-DateTimeOriginal", "2024:05:06 07:08:09");
  int written = 0;
  written += save(exif, out + "/exif.jpg", vips::VImage::option()->set("Q", 70));
  written += save(rgb, out + "/progressive.jpg", vips::VImage::option()->set("interlace", true)->set("Q", 60));
  written += save(rgb.colourspace(VIPS_INTERPRETATION_B_W), out + "/grey.jpg");
  written += save(rgba, out + "/alpha.png");
  written += save(rgb.cast(VIPS_FORMAT_USHORT) * 256, out + "/deep.png");
  written += save(rgb.colourspace(VIPS_INTERPRETATION_B_W), out + "/grey.png");
  written += save(rgb, out + "/lossy.webp", vips::VImage::option()->set("Q", 50));
  written += save(rgba, out + "/lossless.webp", vips::VImage::option()->set("lossless", true));
  written += save(rgb, out + "/palette.gif");
  written += save(exif, out + "/plain.tif");
  written += save((rgb.cast(VIPS_FORMAT_USHORT) * 256).copy(vips::VImage::option()->set("interpretation", VIPS_INTERPRETATION_RGB16)),
                  out + "/deep.tif", vips::VImage::option()->set("compression", VIPS_FOREIGN_TIFF_COMPRESSION_DEFLATE));
  written += save(exif, out + "/image.heic", vips::VImage::option()->set("Q", 40)->set("compression", VIPS_FOREIGN_HEIF_COMPRESSION_HEVC));
  written += save(rgb, out + "/image.avif", vips::VImage::option()->set("Q", 40)->set("compression", VIPS_FOREIGN_HEIF_COMPRESSION_AV1));
  written += save(rgb, out + "/image.jxl", vips::VImage::option()->set("Q", 60));
  const std::vector<uint8_t> dng = tiny_dng();
  std::ofstream(out + "/tiny.dng", std::ios::binary).write(reinterpret_cast<const char*>(dng.data()), dng.size());
  ++written;
  std::printf("make_seeds: %d seeds in %s\n", written, out.c_str());
  vips_shutdown();
  return 0;
}
