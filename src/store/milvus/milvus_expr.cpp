#include "store/milvus/milvus_expr.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <vector>

#include "catalog/filter_sql.h"
#include "store/milvus/milvus_schema.h"
#include "viewfinder/error.h"

namespace vf::milvus {
namespace {

// ASCII lower-casing, as SQLite's lower() in the FAISS path: both sides agree.
std::string ascii_lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Shortest text that reads back as the same double ("%.17g"), never locale-dependent.
std::string number(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

std::string quote_string(const std::string& value) {
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string filters_to_expr(const Filters& f, const ValueLookup& lookup) {
  std::vector<std::string> terms;
  if (f.date_from || f.date_to) {
    // SQL: coalesce(capture_unix, file_time_unix) with include_file_times, else capture_unix;
    // a NULL time never matches. Milvus has no NULL: the has_* flags say which is known.
    auto range = [&](const std::string& field) {
      std::string r;
      if (f.date_from) r += " && " + field + " >= " + std::to_string(*f.date_from);
      if (f.date_to) r += " && " + field + " <= " + std::to_string(*f.date_to);
      return r;
    };
    if (!f.include_file_times) {
      terms.push_back("has_capture == true" + range("capture_unix"));
    } else {
      terms.push_back("((has_capture == true" + range("capture_unix") +
                      ") || (has_capture == false && has_file_time == true" + range("file_time_unix") + "))");
    }
  }
  auto substring = [&](const char* field, const std::string& value, bool exact) {
    if (value.empty()) return;
    if (exact) {
      // SQL: coalesce(make, '') = value, case-sensitive, on the field as stored. A value
      // longer than a stored (clipped) field could match nothing here but a row in SQL.
      if (value.size() > static_cast<size_t>(kMaxTextBytes))
        throw Error(std::string("a ") + field + " of over " + std::to_string(kMaxTextBytes) +
                        " bytes cannot be matched in Milvus (its text fields hold at most that)",
                    ErrorCode::InvalidArgument);
      terms.push_back(std::string(field) + " == " + quote_string(value));
      return;
    }
    if (!lookup)
      throw Error(std::string("a ") + field + " filter on Milvus needs the library's list of " + field +
                      " values (Milvus 2.3 matches text prefixes only)",
                  ErrorCode::InvalidArgument);
    std::string list;
    for (const auto& v : lookup(field, ascii_lower(value))) list += (list.empty() ? "" : ", ") + quote_string(v);
    // No value contains the text: a term that no photo satisfies (ids are never negative).
    terms.push_back(list.empty() ? std::string("id < 0") : std::string(field) + "_lc in [" + list + "]");
  };
  substring("make", f.make, f.make_exact);
  substring("model", f.model, f.model_exact);
  substring("lens", f.lens, f.lens_exact);
  if (!f.path_prefix.empty()) {
    // Milvus 2.3's `like` knows one wildcard, a trailing '%', and no escape: '_' is literal,
    // and a prefix that itself holds a '%' cannot be written.
    if (f.path_prefix.find('%') != std::string::npos)
      throw Error("path prefix \"" + f.path_prefix + "\" contains '%', which a Milvus 2.3 filter cannot match literally",
                  ErrorCode::InvalidArgument);
    terms.push_back("path like " + quote_string(f.path_prefix + "%"));
  }
  if (!f.format.empty()) terms.push_back("format == " + quote_string(catalog::normalize_format(f.format)));
  if (!f.orientation.empty()) {
    std::string o = ascii_lower(f.orientation);
    if (o == "landscape")
      terms.push_back("width > height");
    else if (o == "portrait")
      terms.push_back("height > width");
    else if (o == "square")
      terms.push_back("width == height");
    else
      throw Error("bad orientation \"" + f.orientation + "\": expected landscape, portrait or square",
                  ErrorCode::InvalidArgument);
  }
  if (f.min_width > 0) terms.push_back("width >= " + std::to_string(f.min_width));
  if (f.min_height > 0) terms.push_back("height >= " + std::to_string(f.min_height));
  if (f.min_rating) {
    terms.push_back("has_rating == true");
    terms.push_back("rating >= " + std::to_string(*f.min_rating));
  }
  if (f.gps_bbox) {
    auto [lat1, lon1, lat2, lon2] = *f.gps_bbox;
    terms.push_back("has_gps == true");
    terms.push_back("gps_lat >= " + number(std::min(lat1, lat2)));
    terms.push_back("gps_lat <= " + number(std::max(lat1, lat2)));
    if (lon1 <= lon2) {
      terms.push_back("gps_lon >= " + number(lon1));
      terms.push_back("gps_lon <= " + number(lon2));
    } else {  // a box across the antimeridian (min_lon 170, max_lon -170)
      terms.push_back("(gps_lon >= " + number(lon1) + " || gps_lon <= " + number(lon2) + ")");
    }
  }
  std::string expr;
  for (size_t i = 0; i < terms.size(); ++i) expr += (i ? " && " : "") + terms[i];
  return expr;
}

}  // namespace vf::milvus
