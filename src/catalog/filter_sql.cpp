// The filter -> SQL translation over the photos table (src/catalog owns the column names).
#include "catalog/filter_sql.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace vf::catalog {

// ---- filters ---------------------------------------------------------------------------------
std::string normalize_format(const std::string& format) {
  std::string f;
  for (char c : format) f += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (f == "jpg" || f == "jpe") return "jpeg";
  if (f == "tif") return "tiff";
  if (f == "heic") return "heif";
  return f;
}

bool is_raw_format(const std::string& format) {
  static const std::set<std::string> raw = {"raw", "dng", "nef", "cr2", "cr3", "crw", "arw", "srf",
                                            "sr2", "orf", "rw2", "raf", "pef", "srw", "x3f", "3fr",
                                            "iiq", "mrw", "nrw", "erf", "kdc", "dcr"};
  return raw.count(normalize_format(format)) > 0;
}

std::string photo_time_sql(const Filters& f) {
  return f.include_file_times ? "coalesce(capture_unix, file_time_unix)" : "capture_unix";
}

SqlWhere build_filter_sql(const Filters& f, const std::string& base) {
  SqlWhere w;
  std::vector<std::string> terms = {base};
  const std::string when = photo_time_sql(f);
  if (f.date_from) {
    terms.push_back(when + " >= ?");
    w.binds.emplace_back(*f.date_from);
  }
  if (f.date_to) {
    terms.push_back(when + " <= ?");
    w.binds.emplace_back(*f.date_to);
  }
  // instr(lower(..)) rather than LIKE: no wildcard escaping, and '%' or '_' in a lens name
  // match literally.
  // Exact: the value a dropdown offered, so "Canon EOS 5D" is not also the 5D Mark III.
  auto substring = [&](const char* column, const std::string& value, bool exact) {
    if (value.empty()) return;
    terms.push_back(exact ? std::string("coalesce(") + column + ", '') = ?"
                          : std::string("instr(lower(coalesce(") + column + ", '')), lower(?)) > 0");
    w.binds.emplace_back(value);
  };
  substring("make", f.make, f.make_exact);
  substring("model", f.model, f.model_exact);
  substring("lens", f.lens, f.lens_exact);
  if (!f.path_prefix.empty()) {
    terms.push_back("substr(path, 1, ?) = ?");
    w.binds.emplace_back(static_cast<int64_t>(f.path_prefix.size()));
    w.binds.emplace_back(f.path_prefix);
  }
  if (!f.format.empty()) {
    terms.push_back("lower(format) = ?");
    w.binds.emplace_back(normalize_format(f.format));
  }
  if (!f.orientation.empty()) {
    std::string o = f.orientation;
    std::transform(o.begin(), o.end(), o.begin(), ::tolower);
    if (o == "landscape")
      terms.push_back("width > height");
    else if (o == "portrait")
      terms.push_back("height > width");
    else if (o == "square")
      terms.push_back("width = height");
    else
      throw Error("bad orientation \"" + f.orientation + "\": expected landscape, portrait or square",
                  ErrorCode::InvalidArgument);
  }
  if (f.min_width > 0) {
    terms.push_back("width >= ?");
    w.binds.emplace_back(static_cast<int64_t>(f.min_width));
  }
  if (f.min_height > 0) {
    terms.push_back("height >= ?");
    w.binds.emplace_back(static_cast<int64_t>(f.min_height));
  }
  if (f.min_rating) {
    terms.push_back("rating >= ?");
    w.binds.emplace_back(static_cast<int64_t>(*f.min_rating));
  }
  if (f.gps_bbox) {
    auto [lat1, lon1, lat2, lon2] = *f.gps_bbox;
    terms.push_back("gps_lat BETWEEN ? AND ?");
    w.binds.emplace_back(std::min(lat1, lat2));
    w.binds.emplace_back(std::max(lat1, lat2));
    if (lon1 <= lon2) {
      terms.push_back("gps_lon BETWEEN ? AND ?");
      w.binds.emplace_back(lon1);
      w.binds.emplace_back(lon2);
    } else {  // a box across the antimeridian (min_lon 170, max_lon -170)
      terms.push_back("(gps_lon >= ? OR gps_lon <= ?)");
      w.binds.emplace_back(lon1);
      w.binds.emplace_back(lon2);
    }
  }
  for (size_t i = 0; i < terms.size(); ++i) w.clause += (i ? " AND " : "") + terms[i];
  return w;
}

}  // namespace vf::catalog
