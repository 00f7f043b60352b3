// The files of a photo as the server hands them out: the checked read every file route uses
// (containment, regular file, unchanged original) and thumbnails of other sizes
// (/api/photos/{id}/thumb?size=N), made on demand and cached in the library's thumbs/.
#pragma once

#include <string>
#include <vector>

#include "server/http_server.h"
#include "viewfinder/library.h"

namespace vf::server {

struct Generation;
class ServerState;

// The long edges ?size=N accepts (GET /api/health lists them as features.thumb_sizes).
const std::vector<int>& thumb_sizes();
// Adds features.thumb_sizes to a /api/health answer.
void add_thumb_features(json& health);

// Reads a file of photo `rec`: `path` must resolve (realpath) inside the library roots when
// `original`, else inside the library directory (cached thumbnails and previews); it must be a
// regular file, and an original must still have the catalog's size and mtime. Throws HttpError
// (403 outside, 404 missing, 409 changed) and logs refusals.
std::string read_photo_file(ServerState& s, const Generation& g, const PhotoRecord& rec, const std::string& path,
                            bool original);

// GET /api/photos/{id}/thumb?size=N: a JPEG whose long edge is min(N, original long edge),
// from the cached preview (or the original when the preview is smaller than that), cached as
// thumbs/<hh>/<content hash>.<N>.jpg. N not in thumb_sizes() -> 400.
Reply sized_thumb(ServerState& s, const Generation& g, const PhotoRecord& rec, const std::string& size_param);

}  // namespace vf::server
