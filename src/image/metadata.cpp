// Metadata with exiv2: capture time (with fallbacks), camera, exposure, GPS, rating, keywords.
// exiv2 throws on malformed data; nothing here may fail a photo whose pixels decode, so every
// read is guarded and a field that cannot be read simply stays empty.
#include <exiv2/exiv2.hpp>
#include <xxhash.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <set>

#include "common/value_parse.h"
#include "image/image_internal.h"
#include "image/lens.h"

namespace vf::image {
namespace {

const Exiv2::Exifdatum* find(const Exiv2::ExifData& ed, const char* key) {
  try {
    auto it = ed.findKey(Exiv2::ExifKey(key));
    if (it != ed.end() && it->count() > 0) return &*it;
  } catch (...) {
  }
  return nullptr;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0' || s.back() == '\n')) s.pop_back();
  size_t i = 0;
  while (i < s.size() && s[i] == ' ') ++i;
  return s.substr(i);
}

std::string str_of(const Exiv2::ExifData& ed, const char* key) {
  const auto* d = find(ed, key);
  if (!d) return "";
  try {
    return trim(d->toString());
  } catch (...) {
    return "";
  }
}

std::optional<double> rational_of(const Exiv2::ExifData& ed, const char* key, long n = 0) {
  const auto* d = find(ed, key);
  if (!d || d->count() <= n) return std::nullopt;
  try {
    const Exiv2::Rational r = d->toRational(n);
    if (r.second == 0) return std::nullopt;
    double v = static_cast<double>(r.first) / r.second;
    // exiv2 hands unsigned RATIONALs over as signed pairs; values >= 2^31 would turn negative.
    if (d->typeId() == Exiv2::unsignedRational)
      v = static_cast<double>(static_cast<uint32_t>(r.first)) / static_cast<uint32_t>(r.second);
    if (!std::isfinite(v)) return std::nullopt;
    return v;
  } catch (...) {
    return std::nullopt;
  }
}

}  // namespace

// "YYYY:MM:DD HH:MM:SS" (EXIF) or "YYYY-MM-DD[THH:MM[:SS][.fff][+hh:mm|Z]]" (XMP) into parts.
// A date that does not exist (month 13, February 30, 25:00) is rejected, not normalised: it
// is a broken tag, and a normalised date would be a made-up one.
bool parse_datetime(const std::string& s, std::string& iso, std::string& offset, int64_t& unix_s) {
  const auto t = parse_civil_datetime(s);
  // A date alone is fine (XMP); an hour alone is not.
  if (!t || t->fields == 4 || t->year < 1800 || t->year > 2200) return false;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", t->year, t->month, t->day, t->hour, t->minute,
                t->second);
  iso = buf;
  // An XMP time may carry its own offset after the seconds.
  offset.clear();
  const size_t tpos = s.find('T');
  if (tpos != std::string::npos) {
    const size_t z = s.find_first_of("+-Z", tpos);
    if (z != std::string::npos) offset = s[z] == 'Z' ? "+00:00" : s.substr(z, 6);
  }
  unix_s = civil_to_unix(*t);
  return true;
}

namespace {

int64_t offset_seconds(const std::string& off) {
  int hh = 0, mm = 0;
  if (off.size() >= 6 && (off[0] == '+' || off[0] == '-') &&
      std::sscanf(off.c_str() + 1, "%2d:%2d", &hh, &mm) == 2 && hh <= 14 && mm < 60)
    return (off[0] == '-' ? -1 : 1) * (hh * 3600 + mm * 60);
  return INT64_MIN;
}

std::string xmp_text(const Exiv2::XmpData& xmp, const char* key) {
  try {
    auto it = xmp.findKey(Exiv2::XmpKey(key));
    if (it != xmp.end()) return it->toString();
  } catch (...) {
  }
  return "";
}

// Capture time, in the order of docs/ingestion.md: the moment of capture (EXIF or XMP
// DateTimeOriginal, photoshop:DateCreated), then the moment of digitising (EXIF
// DateTimeDigitized, xmp:CreateDate), which is the capture for a camera and the scan for a
// scanner. EXIF DateTime (the last edit) and the file time are never a capture time.
// Canon CRW (CIFF) capture dates reach us as Exif.Photo.DateTimeOriginal through exiv2.
void read_capture_time(const Exiv2::ExifData& ed, const Exiv2::XmpData& xmp, PhotoMetadata& meta) {
  struct Source {
    bool exif;            // else XMP
    const char* key;
    const char* offset_key;  // EXIF only: the separate OffsetTime* tag
    const char* name;
  };
  static const Source sources[] = {
      {true, "Exif.Photo.DateTimeOriginal", "Exif.Photo.OffsetTimeOriginal", "exif:DateTimeOriginal"},
      {true, "Exif.Image.DateTimeOriginal", "Exif.Photo.OffsetTimeOriginal", "exif:DateTimeOriginal"},
      {false, "Xmp.exif.DateTimeOriginal", nullptr, "xmp:DateTimeOriginal"},
      {false, "Xmp.photoshop.DateCreated", nullptr, "xmp:DateCreated"},
      {true, "Exif.Photo.DateTimeDigitized", "Exif.Photo.OffsetTimeDigitized", "exif:DateTimeDigitized"},
      {false, "Xmp.xmp.CreateDate", nullptr, "xmp:CreateDate"},
  };
  for (const auto& src : sources) {
    std::string iso, off;
    int64_t unix_s = 0;
    const std::string value = src.exif ? str_of(ed, src.key) : xmp_text(xmp, src.key);
    if (!parse_datetime(value, iso, off, unix_s)) continue;
    if (src.exif) off = trim(str_of(ed, src.offset_key));
    meta.capture_time = iso;
    meta.capture_time_source = src.name;
    const int64_t off_s = offset_seconds(off);
    if (off_s != INT64_MIN) {
      meta.capture_offset = off.substr(0, 6);
      unix_s -= off_s;
    }
    meta.capture_unix = unix_s;
    return;
  }
}

std::optional<double> gps_coord(const Exiv2::ExifData& ed, const char* key, const char* ref_key) {
  const auto* d = find(ed, key);
  if (!d || d->count() < 1) return std::nullopt;
  double v = 0, scale = 1;
  for (long i = 0; i < std::min<long>(3, d->count()); ++i) {
    auto part = rational_of(ed, key, i);
    if (!part) return std::nullopt;
    v += *part / scale;
    scale *= 60;
  }
  const std::string ref = str_of(ed, ref_key);
  if (!ref.empty() && (ref[0] == 'S' || ref[0] == 'W')) v = -v;
  return v;
}

// 0,0 with nothing else that a fix leaves behind (altitude, a time stamp, satellites, a
// processing method, a map datum other than the default...) is a receiver without a fix
// writing zeros, not a photo taken in the Gulf of Guinea.
bool is_null_island(const Exiv2::ExifData& ed, const PhotoMetadata& meta) {
  if (!meta.gps_lat || !meta.gps_lon || *meta.gps_lat != 0.0 || *meta.gps_lon != 0.0) return false;
  if (meta.gps_alt && *meta.gps_alt != 0.0) return false;
  static const std::set<std::string> position_only = {
      "Exif.GPSInfo.GPSVersionID",   "Exif.GPSInfo.GPSLatitudeRef", "Exif.GPSInfo.GPSLatitude",
      "Exif.GPSInfo.GPSLongitudeRef", "Exif.GPSInfo.GPSLongitude",  "Exif.GPSInfo.GPSAltitudeRef",
      "Exif.GPSInfo.GPSAltitude",    "Exif.Image.GPSTag"};
  for (const auto& d : ed)
    if (d.groupName() == "GPSInfo" && !position_only.count(d.key())) return false;
  return true;
}

void read_exif(const Exiv2::ExifData& ed, PhotoMetadata& meta) {
  meta.make = str_of(ed, "Exif.Image.Make");
  meta.model = str_of(ed, "Exif.Image.Model");
  meta.focal_length_mm = rational_of(ed, "Exif.Photo.FocalLength");
  meta.aperture_f = rational_of(ed, "Exif.Photo.FNumber");
  if (!meta.aperture_f) {
    if (auto av = rational_of(ed, "Exif.Photo.ApertureValue")) meta.aperture_f = std::pow(2.0, *av / 2);
  }
  meta.exposure_s = rational_of(ed, "Exif.Photo.ExposureTime");
  if (!meta.exposure_s) {
    if (auto tv = rational_of(ed, "Exif.Photo.ShutterSpeedValue")) meta.exposure_s = std::pow(2.0, -*tv);
  }
  // Zero or negative means "unknown" for these (cameras write 0/0, 0/1 or garbage).
  for (auto* v : {&meta.focal_length_mm, &meta.aperture_f, &meta.exposure_s})
    if (*v && !(**v > 0)) v->reset();
  for (const char* key : {"Exif.Photo.ISOSpeedRatings", "Exif.Photo.RecommendedExposureIndex",
                          "Exif.Photo.StandardOutputSensitivity"}) {
    const auto* d = find(ed, key);
    if (!d) continue;
    try {
      const long v = d->toLong(0);
      if (v > 0) {
        meta.iso = static_cast<int>(v);
        break;
      }
    } catch (...) {
    }
  }
  if (const auto* d = find(ed, "Exif.Image.Orientation")) {
    try {
      const long o = d->toLong(0);
      if (o >= 1 && o <= 8) meta.orientation = static_cast<int>(o);
    } catch (...) {
    }
  }
  meta.gps_lat = gps_coord(ed, "Exif.GPSInfo.GPSLatitude", "Exif.GPSInfo.GPSLatitudeRef");
  meta.gps_lon = gps_coord(ed, "Exif.GPSInfo.GPSLongitude", "Exif.GPSInfo.GPSLongitudeRef");
  if (meta.gps_lat && (std::fabs(*meta.gps_lat) > 90)) meta.gps_lat.reset();
  if (meta.gps_lon && (std::fabs(*meta.gps_lon) > 180)) meta.gps_lon.reset();
  if (!meta.gps_lat || !meta.gps_lon) meta.gps_lat.reset(), meta.gps_lon.reset();
  meta.gps_alt = rational_of(ed, "Exif.GPSInfo.GPSAltitude");
  if (is_null_island(ed, meta)) meta.gps_lat.reset(), meta.gps_lon.reset(), meta.gps_alt.reset();
  if (meta.gps_alt && *meta.gps_alt > 100000) meta.gps_alt.reset();  // not on this planet
  if (meta.gps_alt) {
    if (const auto* d = find(ed, "Exif.GPSInfo.GPSAltitudeRef")) {
      try {
        if (d->toLong(0) == 1) meta.gps_alt = -*meta.gps_alt;  // below sea level
      } catch (...) {
      }
    }
  }
}

void read_xmp_iptc(const Exiv2::XmpData& xmp, const Exiv2::IptcData& iptc, PhotoMetadata& meta) {
  std::set<std::string> seen(meta.keywords.begin(), meta.keywords.end());
  auto add = [&](std::string k) {
    k = trim(k);
    if (!k.empty() && seen.insert(k).second) meta.keywords.push_back(k);
  };
  try {
    auto it = xmp.findKey(Exiv2::XmpKey("Xmp.xmp.Rating"));
    if (it != xmp.end()) {
      const long r = it->toLong(0);
      if (r >= -1 && r <= 5) meta.rating = static_cast<int>(r);
    }
  } catch (...) {
  }
  try {
    auto it = xmp.findKey(Exiv2::XmpKey("Xmp.dc.subject"));
    if (it != xmp.end())
      for (long i = 0; i < it->count(); ++i) add(it->toString(i));
  } catch (...) {
  }
  try {
    for (const auto& d : iptc)
      if (d.key() == "Iptc.Application2.Keywords") add(d.toString());
  } catch (...) {
  }
}

}  // namespace

void read_exiv2_metadata(const uint8_t* data, size_t size, const std::vector<uint8_t>& exif_blob,
                         PhotoMetadata& meta) {
  ensure_initialised();
  Exiv2::ExifData exif;
  Exiv2::XmpData xmp;
  Exiv2::IptcData iptc;
  try {
    Exiv2::Image::AutoPtr image = Exiv2::ImageFactory::open(data, static_cast<long>(size));
    if (image.get()) {
      image->readMetadata();
      exif = image->exifData();
      xmp = image->xmpData();
      iptc = image->iptcData();
    }
  } catch (const std::exception& e) {
    // Malformed metadata: fall through to the decoder's EXIF block; the photo still counts.
    const std::string what = e.what();
    if (what.find("unknown image type") == std::string::npos)  // a container exiv2 lacks
      meta.metadata_warning = "metadata not readable: " + what;
  } catch (...) {
    meta.metadata_warning = "metadata not readable";
  }
  if (exif.empty() && exif_blob.size() > 8) {
    try {
      const uint8_t* p = exif_blob.data();
      size_t n = exif_blob.size();
      if (n > 6 && std::memcmp(p, "Exif\0\0", 6) == 0) p += 6, n -= 6;
      Exiv2::ExifParser::decode(exif, p, static_cast<uint32_t>(n));
    } catch (...) {
      exif.clear();
    }
  }
  try {
    read_exif(exif, meta);
  } catch (...) {
  }
  try {
    meta.lens = read_lens(exif, xmp, meta.focal_length_mm);
  } catch (...) {
  }
  try {
    read_capture_time(exif, xmp, meta);
  } catch (...) {
  }
  try {
    read_xmp_iptc(xmp, iptc, meta);
  } catch (...) {
  }
}

std::string content_hash_hex(const uint8_t* data, size_t size) {
  const XXH128_hash_t h = XXH3_128bits(data, size);
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(h.high64),
                static_cast<unsigned long long>(h.low64));
  return buf;
}

}  // namespace vf::image
