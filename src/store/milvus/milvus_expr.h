// Viewfinder's search filters as a Milvus 2.3 boolean expression, so that filters run inside
// Milvus's vector search and k hits come back whenever k photos match (as with FAISS).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "viewfinder/search.h"

namespace vf::milvus {

// Milvus 2.3's `like` matches prefixes only ("only prefix pattern match like ab% and equal
// match like ab(no wildcards) are supported", measured on the real server), so a
// case-insensitive *substring* filter on make/model/lens cannot run as a pattern. Instead the
// caller names the matching values: `lookup(field, needle)` returns the distinct lower-cased
// values of that field ("make", "model" or "lens") that contain `needle` (already
// lower-cased), e.g. from the library's catalog (SELECT DISTINCT lower(make) ... WHERE
// instr(...)), and the expression becomes `make_lc in [...]`. These fields have few distinct
// values, so the list stays short.
using ValueLookup =
    std::function<std::vector<std::string>(const std::string& field, const std::string& needle)>;

// "" for empty filters. Semantics match the catalog's SQL filter (catalog/filter_sql.cpp), so
// a filtered search returns what FAISS returns: inclusive date range (on the capture time, or
// with include_file_times the file time of a photo without one), case-insensitive substrings
// of make/model/lens (on the *_lc fields) or, with *_exact, case-sensitive equality on the
// field as stored, case-sensitive path prefix, normalised format, orientation by width/height, minimum
// width/height/rating, GPS box (across the antimeridian when min_lon > max_lon). Photos
// without a capture time / rating / GPS never match a filter on it.
// Throws vf::Error(InvalidArgument) for a bad orientation, a make/model/lens filter without a
// lookup, a path prefix containing '%' (Milvus 2.3's `like` has no escape), or an exact
// make/model/lens longer than the collection's text fields (kMaxTextBytes).
std::string filters_to_expr(const Filters& filters, const ValueLookup& lookup = {});

// A Milvus string literal: "..." with backslash and double quote escaped.
std::string quote_string(const std::string& value);

}  // namespace vf::milvus
