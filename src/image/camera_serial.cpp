// The camera body's serial number, read with exiv2 on demand (the catalog does not store it):
// stacks use it to pair a RAW and a JPEG of the same frame whose names differ.
#include <exiv2/exiv2.hpp>

#include "image/image_internal.h"
#include "viewfinder/image.h"

namespace vf {

std::string read_camera_serial(const std::string& path) {
  image::ensure_initialised();
  // EXIF 2.3 first, then the makers' own tags.
  static const char* kKeys[] = {"Exif.Photo.BodySerialNumber", "Exif.Image.CameraSerialNumber", "Exif.Canon.SerialNumber",
                                "Exif.Nikon3.SerialNumber",    "Exif.Sony1.SerialNumber",
                                "Exif.Fujifilm.SerialNumber",  "Exif.OlympusEq.SerialNumber",
                                "Exif.Panasonic.InternalSerialNumber", "Exif.Pentax.SerialNumber"};
  try {
    auto image = Exiv2::ImageFactory::open(path);
    if (!image.get()) return "";
    image->readMetadata();
    const auto& exif = image->exifData();
    for (const char* key : kKeys) {
      try {
        auto it = exif.findKey(Exiv2::ExifKey(key));
        if (it == exif.end() || it->count() == 0) continue;
        std::string v = it->toString();
        while (!v.empty() && (v.back() == ' ' || v.back() == '\0')) v.pop_back();
        if (!v.empty() && v != "0") return v;
      } catch (...) {
      }
    }
  } catch (...) {
  }
  return "";
}

}  // namespace vf
