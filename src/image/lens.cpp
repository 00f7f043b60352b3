// Lens names: standard EXIF/XMP first, then camera maker notes (Canon, Nikon, Sony, Olympus,
// Pentax, Panasonic, Samsung, Minolta) through exiv2's decoders, then XMP aux:Lens and lens
// specs. exiv2 throws on malformed data; every read here is guarded.
#include "image/lens.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

namespace vf::image {
namespace {

std::string trimmed(std::string s) {
  const size_t nul = s.find('\0');
  if (nul != std::string::npos) s.resize(nul);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

const Exiv2::Exifdatum* find_exif(const Exiv2::ExifData& ed, const char* key) {
  try {
    auto it = ed.findKey(Exiv2::ExifKey(key));
    if (it != ed.end() && it->count() > 0) return &*it;
  } catch (...) {  // a key this exiv2 does not know, or a malformed value
  }
  return nullptr;
}

std::string exif_text(const Exiv2::ExifData& ed, const char* key) {
  const auto* d = find_exif(ed, key);
  if (!d) return "";
  try {
    return trimmed(d->toString());
  } catch (...) {
    return "";
  }
}

std::string xmp_text(const Exiv2::XmpData& xmp, const char* key) {
  try {
    auto it = xmp.findKey(Exiv2::XmpKey(key));
    if (it != xmp.end()) return trimmed(it->toString());
  } catch (...) {
  }
  return "";
}

// exiv2's pretty-printed value (lens ids become lens names through its lens tables).
std::string exif_printed(const Exiv2::ExifData& ed, const char* key) {
  const auto* d = find_exif(ed, key);
  if (!d) return "";
  try {
    return trimmed(d->print(&ed));
  } catch (...) {
    return "";
  }
}

bool is_placeholder(const std::string& s) {
  if (s.empty() || s == "n/a" || s == "N/A" || s == "None" || s == "Unknown" || s == "----")
    return true;
  if (s[0] == '(') return true;  // exiv2 prints "(123)" for an id it has no name for
  if (s.rfind("Unknown", 0) == 0) return true;
  // Only digits, blanks and dots: an id, not a name.
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != ' ' && c != '.') return false;
  return true;
}

// A lens name's focal range ("70-200mm", "EF 400mm", "18.0-55.0 mm") must contain the focal
// length the photo was taken at; exiv2 maps lens ids from every camera of a brand, and a
// compact camera's id can land on an unrelated SLR lens (exiftool says "Unknown" there).
bool name_fits_focal_length(const std::string& name, std::optional<double> focal) {
  if (!focal) return true;
  for (size_t mm = name.find("mm"); mm != std::string::npos; mm = name.find("mm", mm + 2)) {
    size_t end = mm;
    while (end > 0 && name[end - 1] == ' ') --end;
    size_t start = end;
    while (start > 0 && (std::isdigit(static_cast<unsigned char>(name[start - 1])) ||
                         name[start - 1] == '.' || name[start - 1] == '-'))
      --start;
    double lo = 0, hi = 0;
    const std::string range = name.substr(start, end - start);
    const int n = std::sscanf(range.c_str(), "%lf-%lf", &lo, &hi);
    if (n < 1 || lo <= 0) continue;
    if (n == 1) hi = lo;
    return *focal >= lo * 0.97 - 0.5 && *focal <= hi * 1.03 + 0.5;
  }
  return true;  // no focal range in the name: nothing to check
}

// ---- Canon maker note with a moved base ----------------------------------------------------
// Editors that rewrite EXIF move the maker note without fixing the absolute offsets inside it;
// exiv2 then reads no Canon tags at all. exiftool repairs this ("Adjusted MakerNotes base"):
// the first out-of-line value of a Canon maker-note IFD starts right after the IFD, so the
// difference between that position and the smallest stored offset is the shift. Only the
// LensModel string (tag 0x0095) is read this way.
uint32_t read_u32(const uint8_t* p, bool le) {
  return le ? (p[0] | p[1] << 8 | p[2] << 16 | static_cast<uint32_t>(p[3]) << 24)
            : (static_cast<uint32_t>(p[0]) << 24 | p[1] << 16 | p[2] << 8 | p[3]);
}
uint16_t read_u16(const uint8_t* p, bool le) {
  return le ? static_cast<uint16_t>(p[0] | p[1] << 8) : static_cast<uint16_t>(p[0] << 8 | p[1]);
}

std::string canon_lens_model_moved_base(const std::vector<uint8_t>& mn, int64_t mn_offset,
                                        bool le) {
  if (mn.size() < 2) return "";
  const size_t count = read_u16(mn.data(), le);
  if (count == 0 || count > 512 || 2 + count * 12 + 4 > mn.size()) return "";
  static const int type_size[] = {0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8};
  int64_t min_offset = INT64_MAX;
  int64_t lens_offset = -1, lens_count = 0;
  for (size_t i = 0; i < count; ++i) {
    const uint8_t* e = mn.data() + 2 + i * 12;
    const uint16_t tag = read_u16(e, le), type = read_u16(e + 2, le);
    const uint32_t n = read_u32(e + 4, le);
    if (type == 0 || type > 12) return "";  // not an IFD in this byte order
    const uint64_t bytes = static_cast<uint64_t>(type_size[type]) * n;
    if (bytes <= 4) continue;
    const int64_t offset = read_u32(e + 8, le);
    min_offset = std::min(min_offset, offset);
    if (tag == 0x0095 && type == 2) lens_offset = offset, lens_count = n;
  }
  if (lens_offset < 0 || min_offset == INT64_MAX) return "";
  const int64_t data_start = mn_offset + 2 + static_cast<int64_t>(count) * 12 + 4;
  const int64_t pos = lens_offset + (data_start - min_offset) - mn_offset;  // within mn
  if (pos < 0 || pos + lens_count > static_cast<int64_t>(mn.size())) return "";
  std::string s(reinterpret_cast<const char*>(mn.data() + pos), static_cast<size_t>(lens_count));
  s = trimmed(s);
  for (char c : s)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) return "";
  return s;
}

std::string canon_lens_from_raw_maker_note(const Exiv2::ExifData& ed) {
  if (exif_text(ed, "Exif.Image.Make").rfind("Canon", 0) != 0) return "";
  const auto* note = find_exif(ed, "Exif.Photo.MakerNote");
  const auto* offset = find_exif(ed, "Exif.MakerNote.Offset");
  if (!note || !offset) return "";
  try {
    std::vector<uint8_t> mn(note->size());
    note->copy(mn.data(), Exiv2::littleEndian);  // undefined bytes: copied as they are
    const int64_t mn_offset = offset->toLong(0);
    for (bool le : {true, false}) {
      std::string s = canon_lens_model_moved_base(mn, mn_offset, le);
      if (!s.empty()) return s;
    }
  } catch (...) {
  }
  return "";
}

// Lens specification (min/max focal length, min/max f-number) as "18-55mm f/3.5-5.6".
std::string lens_spec(const Exiv2::ExifData& ed, const char* key) {
  const auto* d = find_exif(ed, key);
  if (!d || d->count() < 4) return "";
  try {
    double v[4];
    for (long i = 0; i < 4; ++i) {
      const auto r = d->toRational(i);
      v[i] = r.second ? static_cast<double>(r.first) / r.second : 0;
    }
    if (!(v[0] > 0)) return "";
    char buf[64];
    int n = v[1] > v[0] ? std::snprintf(buf, sizeof buf, "%g-%gmm", v[0], v[1])
                        : std::snprintf(buf, sizeof buf, "%gmm", v[0]);
    if (v[2] > 0)
      n += v[3] > v[2] ? std::snprintf(buf + n, sizeof buf - n, " f/%g-%g", v[2], v[3])
                       : std::snprintf(buf + n, sizeof buf - n, " f/%g", v[2]);
    return buf;
  } catch (...) {
    return "";
  }
}

}  // namespace

std::string read_lens(const Exiv2::ExifData& ed, const Exiv2::XmpData& xmp,
                      std::optional<double> focal) {
  // 1. A lens model string the camera (or the raw converter) wrote.
  for (const char* key : {"Exif.Photo.LensModel", "Exif.Image.LensModel"})
    if (auto s = exif_text(ed, key); !is_placeholder(s)) return s;
  if (auto s = xmp_text(xmp, "Xmp.exifEX.LensModel"); !is_placeholder(s)) return s;
  for (const char* key : {"Exif.Canon.LensModel", "Exif.OlympusEq.LensModel", "Exif.Panasonic.LensType"})
    if (auto s = exif_text(ed, key); !is_placeholder(s)) return s;
  if (auto s = canon_lens_from_raw_maker_note(ed); !is_placeholder(s)) return s;
  // 2. A lens id in the maker note, named by exiv2's lens tables.
  for (const char* key :
       {"Exif.CanonCs.LensType", "Exif.NikonLd4.LensID", "Exif.NikonLd3.LensIDNumber",
        "Exif.NikonLd2.LensIDNumber", "Exif.NikonLd1.LensIDNumber", "Exif.Sony1.LensID",
        "Exif.Sony2.LensID", "Exif.Sony2010e.LensType2", "Exif.Minolta.LensID",
        "Exif.OlympusEq.LensType", "Exif.Pentax.LensType", "Exif.PentaxDng.LensType",
        "Exif.Samsung2.LensType"}) {
    const std::string s = exif_printed(ed, key);
    if (!is_placeholder(s) && name_fits_focal_length(s, focal)) return s;
  }
  // 3. XMP written by Lightroom/Photoshop for files whose maker notes it dropped.
  if (auto s = xmp_text(xmp, "Xmp.aux.Lens"); !is_placeholder(s)) return s;
  // 4. Only the lens's focal range (and aperture): compact cameras and unknown lens ids.
  for (const char* key : {"Exif.Nikon3.Lens", "Exif.CanonCs.Lens"}) {
    const std::string s = exif_printed(ed, key);
    if (!is_placeholder(s) && s.find("mm") != std::string::npos) return s;
  }
  return lens_spec(ed, "Exif.Photo.LensSpecification");
}

}  // namespace vf::image
