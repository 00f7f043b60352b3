// Whole-component containment of resolved paths: what the server serves and what a reader
// reads must lie inside the library's roots.
#pragma once

#include <string>

namespace vf {

// True when `path` is `root` or lies below it (both absolute and resolved: no symlinks, no
// "..", no trailing slash on `path`). "/a/bc" is not within "/a/b".
inline bool path_within(const std::string& path, const std::string& root) {
  if (root.empty()) return false;
  if (path == root) return true;
  const std::string prefix = root.back() == '/' ? root : root + "/";
  return path.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace vf
