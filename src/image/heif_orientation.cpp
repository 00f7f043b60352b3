// Which orientation to apply to a decoded HEIF/AVIF image. The rule (docs/ingestion.md,
// "Orientation"):
//  * The container's transforms (irot rotation, imir mirror, associated with the primary
//    item) are authoritative; libheif has already applied them, so EXIF orientation is not
//    applied again (applying both turns iPhone photos, which carry both, sideways).
//  * A MIAF-branded file (ftyp lists "miaf"; every AVIF) says by its brand that only the
//    transforms count: EXIF orientation is informative only.
//  * Otherwise (an older non-MIAF HEIC without transforms, e.g. from converters that drop
//    irot but keep the EXIF block) the EXIF orientation is applied, which is what Apple's
//    decoders (Photos, Preview) show for such files; strict libheif viewers show them
//    sideways.
#include <exiv2/exiv2.hpp>

#include <cstring>
#include <vector>

#include "image/image_internal.h"

namespace vf::image {
namespace {

struct Box {
  const uint8_t* body = nullptr;  // after the header
  size_t size = 0;                // of the body
  char type[5] = {};
};

uint32_t be32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | p[1] << 16 | p[2] << 8 | p[3];
}
uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

// The boxes directly inside [data, data+size), in order; stops at the first malformed one.
std::vector<Box> child_boxes(const uint8_t* data, size_t size) {
  std::vector<Box> out;
  size_t pos = 0;
  while (pos + 8 <= size) {
    uint64_t box_size = be32(data + pos);
    size_t header = 8;
    if (box_size == 1) {
      if (pos + 16 > size) break;
      box_size = static_cast<uint64_t>(be32(data + pos + 8)) << 32 | be32(data + pos + 12);
      header = 16;
    } else if (box_size == 0) {
      box_size = size - pos;
    }
    if (box_size < header || box_size > size - pos) break;
    Box b;
    std::memcpy(b.type, data + pos + 4, 4);
    b.body = data + pos + header;
    b.size = static_cast<size_t>(box_size) - header;
    out.push_back(b);
    pos += static_cast<size_t>(box_size);
  }
  return out;
}

const Box* find_box(const std::vector<Box>& boxes, const char* type) {
  for (const auto& b : boxes)
    if (std::memcmp(b.type, type, 4) == 0) return &b;
  return nullptr;
}

bool has_miaf_brand(const std::vector<Box>& top) {
  const Box* ftyp = find_box(top, "ftyp");
  if (!ftyp || ftyp->size < 8) return false;
  for (size_t off = 8; off + 4 <= ftyp->size; off += 4)
    if (std::memcmp(ftyp->body + off, "miaf", 4) == 0) return true;
  return false;
}

// True if an irot or imir property is associated with the primary item.
bool primary_item_has_transforms(const std::vector<Box>& top) {
  const Box* meta = find_box(top, "meta");
  if (!meta || meta->size < 4) return false;
  const auto meta_children = child_boxes(meta->body + 4, meta->size - 4);  // FullBox header
  const Box* pitm = find_box(meta_children, "pitm");
  const Box* iprp = find_box(meta_children, "iprp");
  if (!pitm || !iprp || pitm->size < 6) return false;
  const uint32_t primary = pitm->body[0] == 0 ? be16(pitm->body + 4) : (pitm->size >= 8 ? be32(pitm->body + 4) : 0);
  const auto iprp_children = child_boxes(iprp->body, iprp->size);
  const Box* ipco = find_box(iprp_children, "ipco");
  if (!ipco) return false;
  const auto properties = child_boxes(ipco->body, ipco->size);
  for (const auto& ipma : iprp_children) {
    if (std::memcmp(ipma.type, "ipma", 4) != 0 || ipma.size < 8) continue;
    const uint8_t version = ipma.body[0];
    const bool wide_index = ipma.body[3] & 1;
    const uint8_t* p = ipma.body + 4;
    const uint8_t* end = ipma.body + ipma.size;
    uint32_t entries = be32(p);
    p += 4;
    for (; entries > 0; --entries) {
      const size_t id_bytes = version < 1 ? 2 : 4;
      if (p + id_bytes + 1 > end) return false;
      const uint32_t item = version < 1 ? be16(p) : be32(p);
      p += id_bytes;
      const uint8_t count = *p++;
      for (uint8_t i = 0; i < count; ++i) {
        if (p + (wide_index ? 2 : 1) > end) return false;
        const uint32_t index = wide_index ? (be16(p) & 0x7fff) : (*p & 0x7f);
        p += wide_index ? 2 : 1;
        if (item != primary || index == 0 || index > properties.size()) continue;
        const char* type = properties[index - 1].type;
        if (std::memcmp(type, "irot", 4) == 0 || std::memcmp(type, "imir", 4) == 0) return true;
      }
    }
  }
  return false;
}

int orientation_tag(const Exiv2::ExifData& ed) {
  auto it = ed.findKey(Exiv2::ExifKey("Exif.Image.Orientation"));
  if (it == ed.end() || it->count() < 1) return 1;
  const long o = it->toLong(0);
  return o >= 1 && o <= 8 ? static_cast<int>(o) : 1;
}

// From the decoder's EXIF block, else from the file through exiv2's BMFF reader.
int exif_orientation(const uint8_t* data, size_t size, const std::vector<uint8_t>& blob) {
  if (blob.empty()) {
    try {
      auto image = Exiv2::ImageFactory::open(data, static_cast<long>(size));
      if (!image.get()) return 1;
      image->readMetadata();
      return orientation_tag(image->exifData());
    } catch (...) {
      return 1;
    }
  }
  // The block may start with "Exif\0\0" or HEIF's 4-byte offset; find the TIFF header.
  for (size_t off = 0; off + 8 <= blob.size() && off <= 16; ++off) {
    const uint8_t* p = blob.data() + off;
    if (!(std::memcmp(p, "II*\0", 4) == 0 || std::memcmp(p, "MM\0*", 4) == 0)) continue;
    try {
      Exiv2::ExifData ed;
      Exiv2::ExifParser::decode(ed, p, static_cast<uint32_t>(blob.size() - off));
      return orientation_tag(ed);
    } catch (...) {
      return 1;
    }
  }
  return 1;
}

}  // namespace

int heif_orientation_to_apply(const uint8_t* data, size_t size, const std::vector<uint8_t>& exif_blob) {
  const auto top = child_boxes(data, size);
  if (has_miaf_brand(top) || primary_item_has_transforms(top)) return 1;
  return exif_orientation(data, size, exif_blob);
}

}  // namespace vf::image
