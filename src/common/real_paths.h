// Resolved paths and whole-component containment: what the server serves, what the indexer
// walks and what a reader reads must lie inside the library's roots.
#pragma once

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

namespace vf {

// realpath(3): the absolute path with every symlink, "." and ".." resolved; nullopt when the
// path does not resolve (missing, unreadable folder, empty).
inline std::optional<std::string> real_path(const std::string& path) {
  if (path.empty()) return std::nullopt;
  char* r = ::realpath(path.c_str(), nullptr);
  if (!r) return std::nullopt;
  std::string out(r);
  std::free(r);
  return out;
}

// True when `path` is `root` or lies below it (both absolute and resolved: no symlinks, no
// "..", no trailing slash on `path`). "/a/bc" is not within "/a/b".
inline bool path_within(const std::string& path, const std::string& root) {
  if (root.empty()) return false;
  if (path == root) return true;
  const std::string prefix = root.back() == '/' ? root : root + "/";
  return path.compare(0, prefix.size(), prefix) == 0;
}

// path_within one of `roots` (all resolved).
inline bool path_within_any(const std::string& path, const std::vector<std::string>& roots) {
  for (const auto& root : roots)
    if (path_within(path, root)) return true;
  return false;
}

}  // namespace vf
