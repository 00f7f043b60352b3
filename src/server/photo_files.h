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

// The containment rule of originals holds for everything derived from one: a photo whose
// file resolves outside the library roots (a symlink to elsewhere) shows no preview,
// thumbnail, metadata or heatmap, and is no region query either: 403, logged. (A file that is
// gone resolves to nothing: its thumbnail stays.)
void require_inside_roots(ServerState& s, const std::vector<std::string>& roots, const PhotoRecord& rec);
// The same rule without the 403: false (and logged) when the file resolves outside the roots.
bool inside_roots(ServerState& s, const std::vector<std::string>& roots, const PhotoRecord& rec);

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

// A JPEG of the photo with long edge min(size, original long edge), made from the cached
// preview or the original and cached as above. Also the thumbnail and preview of a photo the
// catalog has none for: previews by default (the indexer makes them only with `index
// --previews`), and everything in a reader library (its rows come from a Milvus collection).
Reply resized_photo(ServerState& s, const Generation& g, const PhotoRecord& rec, int size);
inline constexpr int kPreviewSize = 1280;  // the long edge of previews (the indexer's and ours)

}  // namespace vf::server
