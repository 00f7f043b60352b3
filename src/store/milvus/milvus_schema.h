// The Milvus collection that holds one Viewfinder library: the photo id as primary key, the
// embedding, and the scalar fields every Viewfinder filter runs on (milvus_expr.h).
//
// Milvus 2.3 has no NULL: a photo without a capture time, rating or GPS position stores
// has_capture/has_rating/has_gps = false, and filters on those fields require the flag, as
// SQL's NULL comparisons do in the FAISS path. Milvus 2.3's `like` is case-sensitive, so
// make/model/lens are also stored lower-cased (*_lc) for the case-insensitive substring
// filters; the original spelling is kept for display.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vf::milvus {

inline constexpr const char* kIdField = "id";
inline constexpr const char* kVectorField = "vector";
inline constexpr int kMaxPathBytes = 4096;  // VarChar max_length of path and folder
inline constexpr int kMaxTextBytes = 512;   // VarChar max_length of make/model/lens/format
inline constexpr int kMaxHashBytes = 128;   // VarChar max_length of content_hash

struct PhotoFields {
  bool has_capture = false;
  int64_t capture_unix = 0;
  bool has_file_time = false;  // the file's modification time (include_file_times filters)
  int64_t file_time_unix = 0;
  std::string make, model, lens;  // as read from the photo
  std::string path, folder;       // absolute path; folder = its parent directory
  std::string format;             // normalised: "jpeg", "heif", "raw", ...
  int64_t width = 0, height = 0;  // after orientation
  bool has_rating = false;
  int64_t rating = 0;
  bool has_gps = false;
  double gps_lat = 0, gps_lon = 0;
  // The indexed file's identity, so that a reader on another machine (a library mirroring
  // the collection) can tell the file at `path` is still the one embedded.
  std::string content_hash;
  int64_t file_size = 0, mtime_ns = 0;
};

struct PhotoRow {
  int64_t id = 0;
  std::vector<float> vector;  // empty when not requested from a query
  PhotoFields fields;
};

// Every scalar field name, in schema order (for output_fields = "all metadata").
const std::vector<std::string>& scalar_field_names();

}  // namespace vf::milvus
