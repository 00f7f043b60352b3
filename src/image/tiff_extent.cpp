// Bounds check of a TIFF-container camera RAW before LibRaw reads it: every strip or tile of
// IFD0 and its SubIFDs must lie inside the file. LibRaw 0.20 decodes lossy DNG tiles with
// libjpeg and, when a tile runs past the end of the buffer, its reader throws out of
// lossy_dng_load_raw() without destroying the libjpeg decompressor: ~2 KB leak per file that
// nothing outside LibRaw can free (fuzz_decode finding). A truncated file is refused here
// instead, with a clear reason, and LibRaw never sees it.
#include <cstdint>
#include <string>
#include <vector>

#include "image/image_internal.h"

namespace vf::image {
namespace {

struct Tiff {
  const uint8_t* d;
  size_t n;
  bool le;
  bool has(uint64_t off, uint64_t len) const { return off <= n && len <= n - off; }
  uint32_t u32(uint64_t off) const {
    const uint8_t* p = d + off;
    return le ? (p[0] | p[1] << 8 | p[2] << 16 | static_cast<uint32_t>(p[3]) << 24)
              : (static_cast<uint32_t>(p[0]) << 24 | p[1] << 16 | p[2] << 8 | p[3]);
  }
  uint16_t u16(uint64_t off) const {
    const uint8_t* p = d + off;
    return le ? static_cast<uint16_t>(p[0] | p[1] << 8) : static_cast<uint16_t>(p[0] << 8 | p[1]);
  }
};

struct Entry {
  uint16_t type = 0;
  uint32_t count = 0;
  uint64_t value_at = 0;  // where the value (or its first element) is
};

// Value i of a SHORT or LONG entry; false when it lies outside the file.
bool value(const Tiff& t, const Entry& e, uint32_t i, uint64_t* out) {
  const uint64_t size = e.type == 3 ? 2 : 4;
  const uint64_t at = e.value_at + i * size;
  if ((e.type != 3 && e.type != 4 && e.type != 13) || !t.has(at, size)) return false;
  *out = e.type == 3 ? t.u16(at) : t.u32(at);
  return true;
}

// Reads the entries of the IFD at `ifd`; checks its strips/tiles; collects SubIFD offsets.
// Returns a reason when data lies outside the file, "" otherwise.
std::string check_ifd(const Tiff& t, uint64_t ifd, std::vector<uint64_t>* sub_ifds) {
  if (!t.has(ifd, 2)) return "";  // unreadable IFDs are LibRaw's to reject
  const uint16_t count = t.u16(ifd);
  Entry offsets, counts;
  for (uint32_t i = 0; i < count && i < 1024; ++i) {
    const uint64_t e = ifd + 2 + uint64_t{i} * 12;
    if (!t.has(e, 12)) break;
    Entry x;
    const uint16_t tag = t.u16(e);
    x.type = t.u16(e + 2);
    x.count = t.u32(e + 4);
    const uint64_t bytes = uint64_t{x.count} * (x.type == 3 ? 2 : 4);
    x.value_at = bytes <= 4 ? e + 8 : t.u32(e + 8);
    if (tag == 273 || tag == 324) offsets = x;  // StripOffsets / TileOffsets
    if (tag == 279 || tag == 325) counts = x;   // StripByteCounts / TileByteCounts
    if (tag == 330 && sub_ifds)                 // SubIFDs
      for (uint32_t k = 0; k < x.count && k < 16; ++k) {
        uint64_t v = 0;
        if (value(t, x, k, &v)) sub_ifds->push_back(v);
      }
  }
  for (uint32_t k = 0; k < offsets.count && k < counts.count && k < 1'000'000; ++k) {
    uint64_t off = 0, len = 0;
    if (!value(t, offsets, k, &off) || !value(t, counts, k, &len)) break;
    if (!t.has(off, len))
      return "image data ends at byte " + std::to_string(off + len) + " but the file has " +
             std::to_string(t.n) + " bytes (truncated?)";
  }
  return "";
}

}  // namespace

std::string tiff_raw_truncation(const uint8_t* data, size_t size) {
  if (size < 8 || !((data[0] == 'I' && data[1] == 'I') || (data[0] == 'M' && data[1] == 'M'))) return "";
  const Tiff t{data, size, data[0] == 'I'};
  std::vector<uint64_t> subs;
  std::string reason = check_ifd(t, t.u32(4), &subs);
  for (size_t i = 0; reason.empty() && i < subs.size(); ++i) reason = check_ifd(t, subs[i], nullptr);
  return reason;
}

}  // namespace vf::image
