// The filter -> SQL translation over the photos table. One place knows which column each
// vf::Filters field reads, so adding a filter is: a field in search.h, a term here (and the
// column in photo_row.cpp, listed in filter_column_names(), if it is new).
#pragma once

#include <string>
#include <vector>

#include "catalog/schema.h"
#include "catalog/sqlite.h"
#include "viewfinder/search.h"

namespace vf::catalog {

using detail::SqlValue;

struct SqlWhere {
  std::string clause;           // "embedding IS NOT NULL AND ..." (never empty)
  std::vector<SqlValue> binds;  // in order of the ?s in `clause`
};

// The WHERE clause selecting photos that pass `filters`, starting from `base` (default: the
// photos in the indexes, detail::kIndexableWhere). Throws vf::Error(InvalidArgument) for an
// unknown orientation.
// The time date filters and "newest first" use: the capture time, or with
// include_file_times the file time of a photo that has none.
std::string photo_time_sql(const Filters& f);
SqlWhere build_filter_sql(const Filters& filters, const std::string& base = detail::kIndexableWhere);
std::string normalize_format(const std::string& format);  // "JPG" -> "jpeg", "tif" -> "tiff"
bool is_raw_format(const std::string& format);             // "raw", "dng", "nef", "cr2", ...

}  // namespace vf::catalog
