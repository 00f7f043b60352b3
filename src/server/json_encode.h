// JSON forms of the library and search types in API answers (docs/api.md). One place, so a
// photo looks the same in every route.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "viewfinder/library.h"
#include "viewfinder/search.h"

namespace vf::server {

using json = nlohmann::json;

// A photo in lists and hits: id, name, folder, camera, capture time, image URLs.
json photo_summary(const PhotoRecord& p);
// GET /api/photos/{id}: the summary plus every stored metadata field.
json photo_detail(const PhotoRecord& p);
json hit_json(const SearchHit& h);
json timings_json(const SearchTimings& t);
json info_json(const LibraryInfo& i);
json index_report_json(const IndexReport& r);
// Each filter alone with its match count, when filters left no result ([] otherwise).
json filter_matches_json(const SearchResults& r);
// Clusters with their representatives' summaries (ids no longer in `library` are skipped).
json clusters_json(const Library& library, const ClusterResult& c);

// A scalar JSON value as the text a query parameter would carry ("k": 10 -> "10"); throws
// vf::Error naming `key` for arrays and objects.
std::string json_scalar_string(const json& v, const std::string& key);

}  // namespace vf::server
