// The walk over the roots: every regular file, with what could not be read and which
// symlinks lead out of the library, so that the indexer can tell "gone" from "unreachable"
// (a folder that cannot be listed, an unmounted share) and never deletes what it cannot see.
//
// Plain POSIX (opendir/readdir/lstat) rather than std::filesystem's recursive iterator: that
// one either throws on an unreadable folder or (skip_permission_denied) skips it silently,
// and we need to know. Names are kept as raw bytes: a path is whatever the kernel gave us.
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <set>

#include "common/real_paths.h"
#include "library/indexer.h"

namespace vf::detail {

namespace {

struct Walk {
  const std::vector<std::string>& real_roots;
  const std::string& library_dir;   // as given
  const std::string& real_library;  // resolved
  bool follow_symlinks;
  const std::function<void(int64_t)>& tick;
  ScanResult& out;
  std::set<std::pair<dev_t, ino_t>> entered;  // directories walked (symlink loops)

  bool inside_roots(const std::string& real) const {
    for (auto& r : real_roots)
      if (under_root(real, r)) return true;
    return false;
  }
  void add_file(const std::string& p) {
    out.files.push_back(p);
    if (tick && out.files.size() % 1000 == 0) tick(static_cast<int64_t>(out.files.size()));
  }
  void unreadable(const std::string& dir, int err) { out.unreadable_dirs.push_back({dir, std::strerror(err)}); }

  void directory(const std::string& path) {
    struct stat sb;
    if (::stat(path.c_str(), &sb) != 0) return unreadable(path, errno);
    if (!entered.insert({sb.st_dev, sb.st_ino}).second) return;
    std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(path.c_str()), ::closedir);
    if (!d) return unreadable(path, errno);
    std::vector<std::pair<std::string, unsigned char>> names;  // name, d_type
    bool any_entry = false;
    errno = 0;
    while (dirent* e = ::readdir(d.get())) {
      if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
      any_entry = true;
      if (e->d_name[0] == '.') continue;  // ".", "..", hidden files and AppleDouble forks
      names.emplace_back(e->d_name, e->d_type);
    }
    if (errno != 0) return unreadable(path, errno);  // a listing cut short is not a listing
    d.reset();
    if (!any_entry) out.empty_dirs.push_back(path);
    for (auto& [n, type] : names) entry(path == "/" ? "/" + n : path + "/" + n, type);
  }

  // A symlink is followed when its target lies inside a root, or with --follow-symlinks.
  // Directory links only with --follow-symlinks: inside the roots their files are walked
  // anyway, and following them would only add copies.
  void link(const std::string& p) {
    auto real = real_path(p);
    if (!real) return;  // dangling
    struct stat sb;
    if (::stat(real->c_str(), &sb) != 0) return;
    if (S_ISREG(sb.st_mode)) {
      if (follow_symlinks || inside_roots(*real))
        add_file(p);
      else
        out.outside_links.push_back(p);
    } else if (S_ISDIR(sb.st_mode)) {
      if (!follow_symlinks) {
        if (!inside_roots(*real)) out.outside_links.push_back(p);
      } else if (*real != real_library) {
        directory(p);
      }
    }
  }

  // d_type saves an lstat per file where the file system fills it in (most do).
  void entry(const std::string& p, unsigned char type) {
    mode_t mode = type == DT_REG ? S_IFREG : type == DT_DIR ? S_IFDIR : type == DT_LNK ? S_IFLNK : 0;
    if (mode == 0) {
      struct stat lsb;
      if (::lstat(p.c_str(), &lsb) != 0) return;  // gone between readdir and lstat
      mode = lsb.st_mode;
    }
    if (S_ISLNK(mode)) return link(p);
    if (S_ISDIR(mode)) {
      if (p != library_dir && p != real_library) directory(p);  // the library's own thumbnails never index themselves
      return;
    }
    if (S_ISREG(mode)) add_file(p);
  }
};

}  // namespace

ScanResult scan_roots(const std::vector<std::string>& roots, const std::string& library_dir, bool follow_symlinks,
                      const std::function<void(int64_t)>& tick) {
  ScanResult out;
  std::vector<std::string> real_roots;
  for (auto& r : roots)
    if (auto rr = real_path(r)) real_roots.push_back(*rr);
  std::string real_library = real_path(library_dir).value_or(library_dir);
  Walk walk{real_roots, library_dir, real_library, follow_symlinks, tick, out, {}};
  for (const auto& root : roots) {
    size_t before = out.files.size();
    struct stat sb;
    if (::stat(root.c_str(), &sb) != 0) {
      if (errno == ENOENT || errno == ENOTDIR)
        out.missing_roots.push_back(root);
      else
        walk.unreadable(root, errno);
    } else if (S_ISREG(sb.st_mode)) {
      walk.add_file(root);
    } else if (S_ISDIR(sb.st_mode)) {
      // The library directory is skipped by its resolved path, so compare resolved paths.
      auto real_root = real_path(root).value_or(root);
      if (real_root != real_library) walk.directory(root);
    }
    out.files_per_root.push_back(static_cast<int64_t>(out.files.size() - before));
  }
  std::sort(out.files.begin(), out.files.end());
  out.files.erase(std::unique(out.files.begin(), out.files.end()), out.files.end());
  return out;
}

}  // namespace vf::detail
