// Ingestion on real files: formats by content, orientation, alpha, shrink-on-load, limits,
// broken files, thread safety, derived features.
#include <gtest/gtest.h>

#include <atomic>
#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include <unistd.h>

#include "image/image_internal.h"
#include "viewfinder/image.h"

namespace fs = std::filesystem;
namespace {

const std::string kPhotos = std::string(VF_SHARED_DIR) + "/photos/";
const std::string kGolden = std::string(VF_SHARED_DIR) + "/golden/";

std::vector<std::string> files_under(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

vf::IngestParams light_params() {
  vf::IngestParams p;
  p.preview_size = 0;  // keeps the test fast; the preview path is covered separately
  return p;
}

TEST(ImageFormats, EveryFormatsFileIngests) {
  const auto files = files_under(kPhotos + "formats");
  ASSERT_GE(files.size(), 30u);
  for (const auto& f : files) {
    SCOPED_TRACE(f);
    vf::IngestedPhoto p;
    ASSERT_NO_THROW(p = vf::ingest_file(f, light_params()));
    EXPECT_GT(p.meta.width, 0);
    EXPECT_GT(p.meta.height, 0);
    EXPECT_EQ(p.model_input.size(), 3u * 224 * 224);
    EXPECT_FALSE(p.thumb_jpeg.empty());
    const std::string ext = fs::path(f).extension().string();
    if (ext == ".heic" || ext == ".HEIC" || ext == ".heif") EXPECT_EQ(p.meta.format, "heif");
    if (ext == ".avif") EXPECT_EQ(p.meta.format, "avif");
    if (ext == ".webp") EXPECT_EQ(p.meta.format, "webp");
    if (ext == ".tiff" || ext == ".tif") EXPECT_EQ(p.meta.format, "tiff");
  }
}

TEST(ImageFormats, ContentNotExtension) {
  for (const auto& f : files_under(kPhotos + "raw/nef_actually_jpeg")) {
    SCOPED_TRACE(f);
    const auto m = vf::read_metadata(f);
    EXPECT_EQ(m.format, "jpeg");
    EXPECT_TRUE(vf::looks_like_image(f));
  }
  const auto dng = vf::ingest_file(kPhotos + "raw/dng/canon_eos_6d.dng", light_params());
  EXPECT_EQ(dng.meta.format, "raw");
  EXPECT_EQ(dng.meta.make, "Canon");
  EXPECT_FALSE(dng.meta.capture_time.empty());
  EXPECT_EQ(dng.meta.capture_time_source, "exif:DateTimeOriginal");
  // A text file is not an image.
  const std::string txt = kPhotos + "README.md";
  EXPECT_FALSE(vf::looks_like_image(txt));
  try {
    vf::ingest_file(txt);
    FAIL() << "README.md decoded";
  } catch (const vf::Error& e) {
    EXPECT_EQ(e.code(), vf::ErrorCode::BadImage);
    EXPECT_NE(std::string(e.what()).find("README.md"), std::string::npos);
  }
}

TEST(ImageFormats, FuzzFoundTiffOffsetOverflow) {
  // fuzz_metadata crash: a TIFF header whose IFD offset is 0xFFFFFFFF read out of bounds.
  std::vector<uint8_t> bytes = {'I', 'I', 0x2a, 0};
  bytes.resize(50, 0xff);
  bytes[48] = 0xe8;
  bytes[49] = 0x37;
  EXPECT_EQ(vf::image::sniff_format(bytes.data(), bytes.size()), "tiff");
  EXPECT_THROW(vf::ingest_bytes(bytes.data(), bytes.size(), "fuzz-crash"), vf::Error);
}

TEST(ImageFormats, TruncatedLossyDngIsRefusedBeforeLibRaw) {
  // fuzz_decode leak: LibRaw 0.20 leaks libjpeg's decompressor (~2 KB) when a lossy DNG tile
  // runs past the end of the file. Cut the real lossy DNG inside its 4th tile (offset
  // 310804): the bounds check refuses it with a reason, and LibRaw never unpacks it.
  std::ifstream in(kPhotos + "raw/dng/canon_eos_6d.dng", std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 310904u);
  EXPECT_EQ(vf::image::tiff_raw_truncation(bytes.data(), bytes.size()), "");
  bytes.resize(310904);
  EXPECT_NE(vf::image::tiff_raw_truncation(bytes.data(), bytes.size()).find("truncated"), std::string::npos);
  try {
    vf::ingest_bytes(bytes.data(), bytes.size(), "cut.dng", light_params());
    ADD_FAILURE() << "a truncated DNG was ingested";
  } catch (const vf::Error& e) {
    EXPECT_NE(std::string(e.what()).find("camera RAW not readable: image data ends at byte"), std::string::npos)
        << e.what();
  }
}

TEST(ImageFormats, RawFullDecodeWithoutPreview) {
  // decode_rgb with min_short_edge 0 asks for full size: demosaiced by LibRaw.
  const vf::RgbImage full = vf::decode_rgb(kPhotos + "raw/dng/canon_eos_6d.dng", 0);
  EXPECT_GE(std::max(full.width, full.height), 1000);
  double mean = 0;
  for (uint8_t v : full.pixels) mean += v;
  mean /= full.pixels.size();
  EXPECT_GT(mean, 5);  // not a black frame
  EXPECT_LT(mean, 250);
}

TEST(ImageOrientation, SwapsFor5To8AndMatchesTransposedGolden) {
  const std::string f = kGolden + "images/portrait_exif6_phonebox.jpg";
  const vf::RgbImage oriented = vf::decode_rgb(f);
  EXPECT_EQ(oriented.width, 1064);
  EXPECT_EQ(oriented.height, 1600);
  const auto bytes = vf::image::read_file_bytes(f, 1 << 30);
  vf::image::DecodeRequest req;
  req.apply_orientation = false;
  const auto stored = vf::image::decode_buffer(bytes.data(), bytes.size(), f, req);
  EXPECT_EQ(stored.rgb.width, 1600);
  EXPECT_EQ(stored.orientation, 6);
  // 90 degrees clockwise: the stored bottom-left pixel is the displayed top-left.
  const size_t stored_bl = (static_cast<size_t>(1063) * 1600) * 3;
  EXPECT_EQ(0, std::memcmp(&oriented.pixels[0], &stored.rgb.pixels[stored_bl], 3));
  const auto meta = vf::read_metadata(f);
  EXPECT_EQ(meta.orientation, 6);
  EXPECT_EQ(meta.width, 1064);
  EXPECT_EQ(meta.height, 1600);
  EXPECT_EQ(meta.stored_width, 1600);
}

TEST(ImageOrientation, AllEightTransformsAreConsistent) {
  vf::RgbImage img;
  img.width = 3;
  img.height = 2;
  for (int i = 0; i < 6; ++i) img.pixels.insert(img.pixels.end(), {uint8_t(i), 0, 0});
  // Orientation o then its inverse gives the original back.
  const int inverse[9] = {0, 1, 2, 3, 4, 5, 8, 7, 6};
  for (int o = 1; o <= 8; ++o) {
    const auto t = vf::image::apply_orientation(img, o);
    EXPECT_EQ(t.width, o >= 5 ? 2 : 3);
    const auto back = vf::image::apply_orientation(t, inverse[o]);
    EXPECT_EQ(back.pixels, img.pixels) << "orientation " << o;
  }
}

TEST(ImageAlpha, CompositedOverWhite) {
  // The RGBA golden PNG's left eighth is fully transparent.
  const auto bytes = vf::image::read_file_bytes(kGolden + "images/rgba_coffee.png", 1 << 30);
  vf::image::DecodeRequest req;
  const auto composited = vf::image::decode_buffer(bytes.data(), bytes.size(), "rgba", req).rgb;
  req.alpha = vf::image::AlphaMode::Drop;
  const auto dropped = vf::image::decode_buffer(bytes.data(), bytes.size(), "rgba", req).rgb;
  ASSERT_EQ(composited.width, 600);
  for (int y = 0; y < composited.height; y += 50) {
    const uint8_t* p = &composited.pixels[(static_cast<size_t>(y) * 600 + 10) * 3];
    EXPECT_EQ(p[0], 255);
    EXPECT_EQ(p[1], 255);
    EXPECT_EQ(p[2], 255);
  }
  EXPECT_NE(composited.pixels, dropped.pixels);
}

TEST(ImageShrinkOnLoad, LargeJpegIsNotFullyDecoded) {
  const std::string f = kPhotos + "camera_exif/metadata-extractor/Canon EOS 450D.jpg";  // 4272x2848
  const vf::RgbImage small = vf::decode_rgb(f, 256);
  EXPECT_GE(std::min(small.width, small.height), 256);
  EXPECT_LE(small.width, 4272 / 8 + 1);  // libjpeg DCT scaling by 8
  const auto p = vf::ingest_file(f);
  EXPECT_EQ(p.meta.width, 4272);  // metadata still reports the full size
  EXPECT_EQ(p.model_input.size(), 3u * 224 * 224);
  // The model input comes from its own decode at 1/4 (1068 x 712: short edge >= 2.5 x 256),
  // not from the 1/2 decode the 1280 px preview needs: what the indexer embeds equals what a
  // query by this file embeds (decode_model_input decodes nothing else).
  EXPECT_EQ(p.model_input, vf::decode_model_input(f));
  vf::image::DecodeRequest req;
  const auto preview = vf::image::decode_buffer(p.preview_jpeg.data(), p.preview_jpeg.size(), "preview", req).rgb;
  EXPECT_EQ(preview.width, 1280);
}

TEST(ImageThumbnails, SizesAndJpeg) {
  const auto p = vf::ingest_file(kPhotos + "camera_exif/metadata-extractor/Canon EOS 5D.jpg");
  ASSERT_GT(p.thumb_jpeg.size(), 100u);
  ASSERT_GT(p.preview_jpeg.size(), p.thumb_jpeg.size());
  auto dims = [](const std::vector<uint8_t>& jpeg) {
    vf::image::DecodeRequest req;
    return vf::image::decode_buffer(jpeg.data(), jpeg.size(), "thumb", req).rgb;
  };
  const auto t = dims(p.thumb_jpeg), v = dims(p.preview_jpeg);
  EXPECT_EQ(std::max(t.width, t.height), 256);
  EXPECT_EQ(std::max(v.width, v.height), 1280);
  EXPECT_EQ(p.thumb_jpeg[0], 0xFF);
  EXPECT_EQ(p.thumb_jpeg[1], 0xD8);
}

// Thumbnails shrink by a box reduce first when the image is over twice the target (Pillow's
// thumbnail() recipe), then the antialiased bicubic: the result stays within a few levels of
// the bicubic alone, partial edge blocks included (4001 x 2999 is not a multiple of the factor).
TEST(ImageThumbnails, BoxReduceThenBicubicStaysCloseToBicubicAlone) {
  vf::RgbImage big;
  big.width = 4001;
  big.height = 2999;
  big.pixels.resize(static_cast<size_t>(big.width) * big.height * 3);
  for (int y = 0; y < big.height; ++y)
    for (int x = 0; x < big.width; ++x) {
      uint8_t* p = &big.pixels[(static_cast<size_t>(y) * big.width + x) * 3];
      p[0] = static_cast<uint8_t>(x * 255 / big.width);
      p[1] = static_cast<uint8_t>(y * 255 / big.height);
      p[2] = static_cast<uint8_t>(128 + 100 * std::sin(x / 300.0) * std::cos(y / 200.0));
    }
  const vf::RgbImage small = vf::image::downsize(big, 256);
  ASSERT_EQ(small.width, 256);
  ASSERT_EQ(small.height, 192);  // 2999 * 256 / 4001 = 191.9
  const vf::RgbImage direct = vf::image::resize_bicubic_pillow(big, small.width, small.height);
  int worst = 0;
  for (size_t i = 0; i < small.pixels.size(); ++i)
    worst = std::max(worst, std::abs(int(small.pixels[i]) - int(direct.pixels[i])));
  EXPECT_LE(worst, 3);
  // Not larger than the target, never upscaled.
  EXPECT_EQ(vf::image::downsize(small, 1280).width, small.width);
}

TEST(ImageFeatures, HistogramAndPhash) {
  const auto a = vf::ingest_file(kPhotos + "flowers17/images/image_0001.jpg", light_params());
  double sum = 0;
  for (float v : a.color_hist) sum += v;
  EXPECT_NEAR(sum, 1.0, 1e-4);
  // Same picture re-encoded: near-identical hash; a different picture: far.
  const auto groups = files_under(kPhotos + "near_duplicates/libjxl_flower_variants");
  ASSERT_GE(groups.size(), 3u);
  std::vector<uint64_t> hashes;
  for (const auto& f : groups) {
    // Re-encodings of the same framing only; crops and other framings are not what a
    // perceptual hash is for.
    if (fs::path(f).filename().string().rfind("flower.png", 0) != 0) continue;
    try {
      hashes.push_back(vf::ingest_file(f, light_params()).phash);
    } catch (const vf::Error&) {
    }
  }
  ASSERT_GE(hashes.size(), 3u);
  int near = 0;
  for (size_t i = 1; i < hashes.size(); ++i) near = std::max(near, std::popcount(hashes[0] ^ hashes[i]));
  const int far = std::popcount(hashes[0] ^ a.phash);
  std::printf("  phash: max distance within variants %d, to another photo %d\n", near, far);
  EXPECT_LE(near, 8);
  EXPECT_GT(far, 16);
  // A solid colour histogram lands in one bin.
  vf::RgbImage solid;
  solid.width = solid.height = 4;
  solid.pixels.assign(48, 0);
  for (int i = 0; i < 16; ++i) solid.pixels[i * 3] = 255;
  EXPECT_FLOAT_EQ(vf::image::color_histogram(solid)[7 * 64], 1.0f);
}

// The indexer makes no preview by default, so the thumbnail and features come from the model's
// own decode (short edge >= 640: a 12 MP JPEG at 1/4, 1000x750) instead of the 1280 px working
// copy the preview's decode gave (1/2, reduced to 1280). Photos that decode small enough give
// the same bits; the others move a little (printed), far less than the duplicate finder's
// thresholds (pHash 8 bits) and the gaps between different photos.
TEST(ImageFeatures, OneDecodeKeepsFeatures) {
  std::vector<std::string> files;
  for (const auto& f : files_under(kPhotos + "near_duplicates"))
    if (vf::has_image_extension(f)) files.push_back(f);
  for (const auto& f : files_under(kPhotos + "camera_exif"))
    if (fs::file_size(f) > 1'000'000) files.push_back(f);  // the 8 large ones (12-29 MP)
  vf::IngestParams old_indexer;  // a 1280 px preview: features on its working copy
  vf::IngestParams one_decode = old_indexer;
  one_decode.preview_size = 0;
  int checked = 0, moved = 0, worst_bits = 0;
  double worst_l1 = 0;
  for (const auto& f : files) {
    const auto a = vf::ingest_file(f, old_indexer);
    const auto b = vf::ingest_file(f, one_decode);
    ++checked;
    EXPECT_EQ(a.model_input, b.model_input) << f;
    const int bits = std::popcount(a.phash ^ b.phash);
    double l1 = 0;
    for (size_t i = 0; i < a.color_hist.size(); ++i) l1 += std::abs(a.color_hist[i] - b.color_hist[i]);
    moved += bits > 0 || l1 > 0;
    worst_bits = std::max(worst_bits, bits);
    worst_l1 = std::max(worst_l1, l1);
    EXPECT_LE(bits, 2) << f;
    EXPECT_LE(l1, 0.05) << f;  // of 2 (disjoint histograms)
    const auto ta = vf::decode_rgb_bytes(a.thumb_jpeg.data(), a.thumb_jpeg.size(), f);
    const auto tb = vf::decode_rgb_bytes(b.thumb_jpeg.data(), b.thumb_jpeg.size(), f);
    EXPECT_EQ(std::max(ta.width, ta.height), std::max(tb.width, tb.height)) << f;
    EXPECT_NEAR(std::min(ta.width, ta.height), std::min(tb.width, tb.height), 1) << f;
  }
  std::printf("  %d photos, %d with moved features: pHash at most %d bits, colour histogram L1 at most %.4f\n",
              checked, moved, worst_bits, worst_l1);
  EXPECT_GE(checked, 30);
}

TEST(ImageLimits, PixelsBytesAndTimeout) {
  const std::string f = kPhotos + "camera_exif/metadata-extractor/Canon EOS 450D.jpg";
  vf::IngestParams p = light_params();
  p.limits.max_pixels = 1'000'000;
  try {
    vf::ingest_file(f, p);
    FAIL();
  } catch (const vf::Error& e) {
    EXPECT_EQ(e.code(), vf::ErrorCode::TooLarge);
  }
  p = light_params();
  p.limits.max_file_bytes = 1000;
  try {
    vf::ingest_file(f, p);
    FAIL();
  } catch (const vf::Error& e) {
    EXPECT_EQ(e.code(), vf::ErrorCode::TooLarge);
  }
  // A deadline already passed: the decode is abandoned with a Timeout, not hung or crashed.
  p = light_params();
  p.model_input_size = 0;
  p.thumb_size = 0;
  p.limits.timeout_ms = 0;
  vf::image::DecodeRequest req;
  req.limits.timeout_ms = 0;
  const auto bytes = vf::image::read_file_bytes(f, 1 << 30);
  try {
    vf::image::decode_buffer(bytes.data(), bytes.size(), f, req);
    FAIL() << "decode finished despite a zero deadline";
  } catch (const vf::Error& e) {
    EXPECT_EQ(e.code(), vf::ErrorCode::Timeout) << e.what();
  }
}

TEST(ImageBroken, EachIsReportedAndTheBatchGoesOn) {
  std::vector<std::string> batch;
  for (const auto& f : files_under(kPhotos + "broken")) batch.push_back(f);
  const auto good = files_under(kPhotos + "flowers17/images");
  // Interleave good and broken files, as a library scan would meet them.
  std::vector<std::string> mixed;
  for (size_t i = 0; i < batch.size(); ++i) {
    mixed.push_back(good[i]);
    mixed.push_back(batch[i]);
  }
  int ok_good = 0, failed_broken = 0, ok_broken = 0;
  for (const auto& f : mixed) {
    const bool is_broken = f.find("/broken/") != std::string::npos;
    const bool bad_exif_only = f.find("exif-samples-invalid") != std::string::npos;
    try {
      const auto p = vf::ingest_file(f, light_params());
      if (!is_broken) ++ok_good;
      else ++ok_broken;
      // Only files whose pixels are fine and whose EXIF is broken may pass.
      EXPECT_TRUE(!is_broken || bad_exif_only) << f << " decoded";
    } catch (const vf::Error& e) {
      const std::string msg = e.what();
      EXPECT_TRUE(is_broken) << msg;
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
      EXPECT_EQ(msg.rfind(f, 0), 0u) << "message should start with the file name: " << msg;
      std::printf("  %s\n", msg.c_str());
      ++failed_broken;
    }
  }
  EXPECT_EQ(ok_good, static_cast<int>(batch.size()));
  EXPECT_GE(failed_broken, 7);  // 3 truncated/corrupt JPEGs + 4 fuzzed HEIFs
  std::printf("  broken: %d rejected, %d with only bad EXIF ingested\n", failed_broken, ok_broken);
}

TEST(ImageIngest, BytesEqualsFileAndThreadSafe) {
  const auto files = files_under(kPhotos + "formats/metadata-extractor/webp");
  std::vector<std::string> set(files.begin(), files.begin() + std::min<size_t>(6, files.size()));
  set.push_back(kPhotos + "formats/metadata-extractor/heic/cheers_1440x960.heic");
  set.push_back(kGolden + "images/portrait_exif6_phonebox.jpg");
  set.push_back(kPhotos + "raw/dng/canon_eos_6d.dng");
  std::vector<vf::IngestedPhoto> ref;
  for (const auto& f : set) ref.push_back(vf::ingest_file(f, light_params()));
  {
    const auto bytes = vf::image::read_file_bytes(set.back(), 1 << 30);
    const auto b = vf::ingest_bytes(bytes.data(), bytes.size(), "upload", light_params());
    EXPECT_EQ(b.meta.content_hash, ref.back().meta.content_hash);
    EXPECT_EQ(b.model_input, ref.back().model_input);
  }
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (size_t i = 0; i < set.size(); ++i) {
        const size_t k = (i + t) % set.size();
        const auto p = vf::ingest_file(set[k], light_params());
        if (p.model_input != ref[k].model_input || p.phash != ref[k].phash ||
            p.meta.capture_time != ref[k].meta.capture_time)
          ++mismatches;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(ImageMetadata, NoCaptureDateMeansNoCaptureTimeButAFileTime) {
  const std::string f = kPhotos + "formats/metadata-extractor/webp/Alpha Lossy (1).webp";
  const auto m = vf::read_metadata(f);
  EXPECT_EQ(m.content_hash.size(), 32u);
  EXPECT_EQ(m.capture_time, "");  // no date in the file: the file time is not a capture time
  EXPECT_EQ(m.capture_time_source, "");
  EXPECT_GT(m.mtime_ns, 0);
  EXPECT_EQ(m.file_time_unix, m.mtime_ns / 1'000'000'000);
  ASSERT_EQ(m.file_time.size(), 20u);  // "YYYY-MM-DDTHH:MM:SSZ"
  EXPECT_EQ(m.file_time.back(), 'Z');
  const auto g = vf::read_metadata(kPhotos + "formats/photoprism/iphone_15_pro.heic");
  EXPECT_EQ(g.capture_time, "2023-10-31T11:44:43");
  EXPECT_EQ(g.capture_offset, "+01:00");
  EXPECT_EQ(g.capture_unix, 1698749083);  // 10:44:43 UTC
  ASSERT_TRUE(g.gps_lat.has_value());
  EXPECT_NEAR(*g.gps_lat, 52.4596, 1e-3);
}

TEST(ImageMetadata, EditDateIsNotTheCaptureDate) {
  // image-2011.jpg: EXIF DateTime (ModifyDate) 2020-05-15 from a Photoshop save, xmp:CreateDate
  // 2011-07-19 (exiftool: XMP-xmp:CreateDate), no DateTimeOriginal.
  const auto m = vf::read_metadata(kPhotos + "camera_exif/photoprism-meta-testdata/image-2011.jpg");
  EXPECT_EQ(m.capture_time, "2011-07-19T11:36:38");
  EXPECT_EQ(m.capture_time_source, "xmp:CreateDate");
}

TEST(ImageMetadata, InvalidDatesAreRejectedNotNormalised) {
  std::string iso, off;
  int64_t unix_s = 0;
  for (const char* bad : {"2024:02:30 10:00:00", "2023:02:29 10:00:00", "2024:13:01 10:00:00",
                          "2024:04:31 10:00:00", "2024:00:10 10:00:00", "2024:01:10 24:00:00",
                          "2024:01:10 10:60:00", "2024-02-30", "0000:00:00 00:00:00",
                          "    :  :     :  :  ", "2024:01:10 10"})
    EXPECT_FALSE(vf::image::parse_datetime(bad, iso, off, unix_s)) << bad;
  ASSERT_TRUE(vf::image::parse_datetime("2024:02:29 23:59:59", iso, off, unix_s));  // leap day
  EXPECT_EQ(iso, "2024-02-29T23:59:59");
  ASSERT_TRUE(vf::image::parse_datetime("2011-07-19T11:36:38+02:00", iso, off, unix_s));
  EXPECT_EQ(off, "+02:00");
  ASSERT_TRUE(vf::image::parse_datetime("2011-07-19", iso, off, unix_s));  // XMP date only
  EXPECT_EQ(iso, "2011-07-19T00:00:00");
}

TEST(ImageMetadata, LensFromCanonMakerNotes) {
  // exiftool -LensModel: "EF70-200mm f/2.8L IS USM" (Canon maker note, read by exiv2) and
  // "EF-S18-55mm f/3.5-5.6 IS II" (a maker note an editor moved: exiftool "Adjusted MakerNotes
  // base by -164", exiv2 reads none of it; our base fix does).
  const auto a = vf::read_metadata(kPhotos + "camera_exif/metadata-extractor/Canon EOS 450D.jpg");
  EXPECT_EQ(a.lens, "EF70-200mm f/2.8L IS USM");
  const auto b = vf::read_metadata(kPhotos + "camera_exif/metadata-extractor/Canon EOS REBEL T3i.jpg");
  EXPECT_EQ(b.lens, "EF-S18-55mm f/3.5-5.6 IS II");
}

TEST(ImageHeifOrientation, ExifAppliesOnlyWithoutContainerTransformsOrMiaf) {
  // iphone_7.heic: ispe 4032x3024, no irot/imir, brands mif1+heic (no miaf), EXIF
  // orientation 6. libheif alone shows it sideways; Apple shows it upright (EXIF applied).
  const std::string f = kPhotos + "formats/photoprism/iphone_7.heic";
  const auto bytes = vf::image::read_file_bytes(f, 1 << 30);
  vf::image::DecodeRequest req;
  req.min_short_edge = 256;
  const auto shown = vf::image::decode_buffer(bytes.data(), bytes.size(), f, req);
  req.apply_orientation = false;
  const auto stored = vf::image::decode_buffer(bytes.data(), bytes.size(), f, req);
  EXPECT_EQ(shown.orientation, 6);
  EXPECT_EQ(stored.stored_width, 4032);  // libheif's output = the container's ispe
  EXPECT_EQ(stored.stored_height, 3024);
  EXPECT_EQ(shown.rgb.width, stored.rgb.height);
  EXPECT_EQ(shown.rgb.height, stored.rgb.width);
  EXPECT_EQ(shown.rgb.pixels, vf::image::apply_orientation(stored.rgb, 6).pixels);
  const auto m = vf::read_metadata(f);
  EXPECT_EQ(m.orientation, 6);
  EXPECT_EQ(m.width, 3024);
  EXPECT_EQ(m.height, 4032);
  // iphone_15_pro.heic: irot on the primary item (libheif rotates it to 3024x4032) AND EXIF
  // orientation 6 AND the miaf brand: applying EXIF too would turn it sideways again.
  const std::string g = kPhotos + "formats/photoprism/iphone_15_pro.heic";
  const auto h = vf::image::read_file_bytes(g, 1 << 30);
  EXPECT_EQ(vf::image::heif_orientation_to_apply(h.data(), h.size(), {}), 1);
  const auto m15 = vf::read_metadata(g);
  EXPECT_EQ(m15.orientation, 1);
  EXPECT_EQ(m15.width, 3024);
  EXPECT_EQ(m15.height, 4032);
  // Issue 437: EXIF 6, no irot, but the miaf brand: the EXIF tag is informative only.
  const std::string s = kPhotos + "formats/metadata-extractor/heic/Issue 437 (dotnet).heic";
  const auto sb = vf::image::read_file_bytes(s, 1 << 30);
  EXPECT_EQ(vf::image::heif_orientation_to_apply(sb.data(), sb.size(), {}), 1);
}

TEST(ImageNotAnImage, TextFileNamedJpgSaysWhatItIs) {
  const fs::path dir = fs::temp_directory_path() / ("vf_not_image_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string txt = (dir / "holiday.jpg").string();
  std::ofstream(txt) << "This is a shopping list, not a photo.\nmilk\neggs\n";
  EXPECT_TRUE(vf::has_image_extension(txt));
  EXPECT_FALSE(vf::has_image_extension((dir / "notes.txt").string()));
  EXPECT_FALSE(vf::looks_like_image(txt));
  EXPECT_EQ(vf::not_an_image_reason(txt), "text file");
  for (auto read : {+[](const std::string& p) { vf::ingest_file(p); },
                    +[](const std::string& p) { vf::read_metadata(p); }}) {
    try {
      read(txt);
      ADD_FAILURE() << "a text file was read as an image";
    } catch (const vf::Error& e) {
      EXPECT_EQ(e.code(), vf::ErrorCode::BadImage);
      EXPECT_EQ(std::string(e.what()), txt + ": not an image: text file");
    }
  }
  // A real image is not flagged; the shared README is text.
  EXPECT_EQ(vf::not_an_image_reason(kPhotos + "flowers17/images/image_0001.jpg"), "");
  EXPECT_EQ(vf::not_an_image_reason(kPhotos + "README.md"), "text file");
  fs::remove_all(dir);
}

}  // namespace
