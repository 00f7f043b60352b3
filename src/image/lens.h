// The lens a photo was taken with, from standard EXIF, XMP and camera maker notes (exiv2).
// Internal to src/image (it includes exiv2, which image_internal.h keeps out of the tests).
#pragma once

#include <exiv2/exiv2.hpp>

#include <optional>
#include <string>

namespace vf::image {

// The best lens description the file holds, or "" (see docs/ingestion.md, "Lens"): a lens
// model the camera wrote, else a lens name decoded from a maker-note lens id (checked against
// the photo's focal length), else XMP aux:Lens, else the lens's focal range/aperture spec.
// `focal_length_mm` is the photo's focal length, used to reject lens ids that cannot be right.
std::string read_lens(const Exiv2::ExifData& exif, const Exiv2::XmpData& xmp,
                      std::optional<double> focal_length_mm);

}  // namespace vf::image
