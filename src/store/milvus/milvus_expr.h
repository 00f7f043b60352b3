// Viewfinder's search filters as a Milvus 2.3 boolean expression, so that filters run inside
// Milvus's vector search and k hits come back whenever k photos match (as with FAISS).
#pragma once

#include <string>

#include "viewfinder/search.h"

namespace vf::milvus {

// "" for empty filters. Semantics match the catalog's SQL filter (search_util.cpp):
// inclusive date range, case-insensitive substrings of make/model/lens (on the *_lc fields),
// case-sensitive path prefix, normalised format, orientation by width/height, minimum
// width/height/rating, GPS box (across the antimeridian when min_lon > max_lon). Photos
// without a capture time / rating / GPS never match a filter on it.
// Throws vf::Error(InvalidArgument) for a bad orientation.
std::string filters_to_expr(const Filters& filters);

// A Milvus string literal: "..." with backslash and double quote escaped.
std::string quote_string(const std::string& value);
// A `like` pattern that matches `value` literally (escapes %, _ and backslash), before quoting.
std::string like_literal(const std::string& value);

}  // namespace vf::milvus
