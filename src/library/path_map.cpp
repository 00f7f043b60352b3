// A reader library's path mapping (viewfinder mirror / serve --reader --path-map FROM=TO):
// the shard workers wrote the paths they saw; the reader's machine may see the same share
// elsewhere. Parsed once here, remembered in the reader's catalog meta ("path_map", JSON),
// applied to every row's path and folder at each sync (reader_mirror.cpp).
#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "library/library_impl.h"

namespace vf {
namespace {

// "/a/b/" -> "/a/b", "/a/./b/../c" -> "/a/c"; "/" stays "/".
std::string normal_dir(const std::string& p) {
  std::string s = std::filesystem::path(p).lexically_normal().string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

// True when `path` is `dir` or lies below it (whole components: /photos is not under /photo).
bool under(const std::string& path, const std::string& dir) {
  if (dir == "/") return !path.empty() && path[0] == '/';
  return path.compare(0, dir.size(), dir) == 0 && (path.size() == dir.size() || path[dir.size()] == '/');
}

}  // namespace

std::vector<PathMapping> parse_path_map(const std::vector<std::string>& specs) {
  std::vector<PathMapping> out;
  for (const auto& spec : specs) {
    if (spec == "none") {
      if (specs.size() > 1)
        throw Error("--path-map none (no mapping) cannot be combined with other --path-map values",
                    ErrorCode::InvalidArgument);
      return out;
    }
    const size_t eq = spec.find('=');
    const std::string from = eq == std::string::npos ? "" : spec.substr(0, eq);
    const std::string to = eq == std::string::npos ? "" : spec.substr(eq + 1);
    if (eq == std::string::npos || from.empty() || to.empty())
      throw Error("bad --path-map '" + spec + "': expected FROM=TO, the photos' folder as the workers see it = "
                  "as this machine sees it (e.g. /mnt/nas/photos=/srv/photos), or 'none'",
                  ErrorCode::InvalidArgument);
    if (from[0] != '/' || to[0] != '/')
      throw Error("bad --path-map '" + spec + "': both sides must be absolute paths (start with /)",
                  ErrorCode::InvalidArgument);
    PathMapping m{normal_dir(from), normal_dir(to)};
    for (const auto& have : out)
      if (have.from == m.from)
        throw Error("--path-map gives " + m.from + " twice (" + have.to + " and " + m.to + "): keep one",
                    ErrorCode::InvalidArgument);
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace vf

namespace vf::detail {

std::string map_path(const std::vector<PathMapping>& map, const std::string& path) {
  const PathMapping* best = nullptr;
  for (const auto& m : map)
    if (under(path, m.from) && (!best || m.from.size() > best->from.size())) best = &m;
  if (!best) return path;
  // The rest keeps its leading '/' ("" when path == from); "/" as `from` keeps the whole path.
  const std::string rest = best->from == "/" ? path : path.substr(best->from.size());
  const std::string mapped = (best->to == "/" ? "" : best->to) + rest;
  return mapped.empty() ? "/" : mapped;
}

std::string path_map_json(const std::vector<PathMapping>& map) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& m : map) j.push_back({m.from, m.to});
  return map.empty() ? "" : j.dump();
}

std::vector<PathMapping> path_map_from_json(const std::string& text) {
  std::vector<PathMapping> out;
  if (text.empty()) return out;
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_array()) throw Error("the reader's remembered path map is unreadable: give --path-map again", ErrorCode::Corrupt);
  for (const auto& m : j) out.push_back({m.at(0).get<std::string>(), m.at(1).get<std::string>()});
  return out;
}

}  // namespace vf::detail
