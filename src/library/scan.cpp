// The scan: the files under the roots, compared with the catalog, give the set of changes
// (new, changed, re-embed, moved, copied, touched, deleted).
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

#include "library/indexer.h"

namespace vf::detail {
namespace fs = std::filesystem;

bool stat_file(const std::string& path, FileStat* st) {
  struct stat sb;
  if (::stat(path.c_str(), &sb) != 0 || !S_ISREG(sb.st_mode)) return false;
  st->size = sb.st_size;
  st->mtime_ns = static_cast<int64_t>(sb.st_mtim.tv_sec) * 1'000'000'000 + sb.st_mtim.tv_nsec;
  return true;
}

std::string normalize_path(const std::string& p) {
  std::error_code ec;
  fs::path a = fs::absolute(p, ec);
  std::string s = a.lexically_normal().string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

bool under_root(const std::string& path, const std::string& root) {
  if (path == root) return true;
  if (root == "/") return true;
  return path.size() > root.size() && path.compare(0, root.size(), root) == 0 && path[root.size()] == '/';
}

std::string folder_of(const std::string& path) {
  std::string f = fs::path(path).parent_path().string();
  return f.empty() ? "/" : f;
}

// Hidden files and directories (".thumbnails", "._IMG_0001.JPG" AppleDouble forks) are
// skipped, and so is the library directory itself so that its thumbnails never index themselves.
std::vector<std::string> scan_roots(const std::vector<std::string>& roots, const std::string& library_dir,
                                    const std::function<void(int64_t)>& tick) {
  std::vector<std::string> files;
  for (const auto& root : roots) {
    std::error_code ec;
    auto st = fs::status(root, ec);
    if (ec || !fs::exists(st)) throw Error(root + ": no such file or directory", ErrorCode::NotFound);
    if (fs::is_regular_file(st)) {
      files.push_back(root);
      continue;
    }
    if (!fs::is_directory(st)) continue;
    auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, ec);
    if (ec) throw Error(root + ": cannot read directory: " + ec.message(), ErrorCode::Io);
    for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) break;
      const auto& p = it->path();
      std::string name = p.filename().string();
      std::error_code e2;
      if (it->is_directory(e2)) {
        if ((!name.empty() && name[0] == '.') || p.string() == library_dir) it.disable_recursion_pending();
        continue;
      }
      if (name.empty() || name[0] == '.') continue;
      if (!it->is_regular_file(e2)) continue;
      files.push_back(p.lexically_normal().string());
      if (tick && files.size() % 1000 == 0) tick(static_cast<int64_t>(files.size()));
    }
  }
  std::sort(files.begin(), files.end());
  files.erase(std::unique(files.begin(), files.end()), files.end());
  return files;
}

CatalogFiles Indexer::load_catalog_files() {
  CatalogFiles k;
  {
    Stmt s(db, "SELECT id, path, file_size, mtime_ns, content_hash, embedding IS NOT NULL, model_id, pooling FROM photos");
    while (s.step()) {
      CatalogRow r;
      r.id = s.col_int64(0);
      std::string path = s.col_text(1);
      r.size = s.col_int64(2);
      r.mtime_ns = s.col_int64(3);
      r.hash = s.col_text(4);
      r.current = s.col_int(5) && s.col_text(6) == model_id && s.col_text(7) == pooling;
      if (!r.hash.empty()) k.by_hash[r.hash].push_back({r.id, path});
      k.rows.emplace(std::move(path), std::move(r));
    }
  }
  for (auto& [p, r] : k.rows) k.known_sizes.insert(r.size);
  Stmt s(db, "SELECT path, mtime_ns, file_size FROM failures");
  while (s.step()) k.failures[s.col_text(0)] = {s.col_int64(2), s.col_int64(1)};
  return k;
}

namespace {

std::string try_hash(const std::string& path) {
  try {
    return content_hash_file(path);
  } catch (const Error&) {
    return "";
  }
}

// A file whose path the catalog knows: unchanged, touched (same bytes), re-embed or changed.
void classify_known(const std::string& path, const FileStat& st, const CatalogRow& r, ChangeSet& c,
                    IndexReport& report) {
  if (r.size == st.size && r.mtime_ns == st.mtime_ns) {
    if (r.current) {
      ++report.unchanged;
    } else {
      c.jobs.push_back({path, r.id, st, r.hash});
      ++report.reembedded;
    }
    return;
  }
  std::string h = try_hash(path);
  if (!h.empty() && h == r.hash) {
    c.touch.push_back({r.id, st});
    if (r.current) {
      ++report.unchanged;
    } else {
      c.jobs.push_back({path, r.id, st, h});
      ++report.reembedded;
    }
  } else {
    c.jobs.push_back({path, r.id, st, h});
    ++report.changed;
  }
}

// Same bytes as a known photo: a move if that photo's file is gone, else a copy. Either way
// nothing is decoded or embedded. False when `h` matches no usable photo.
bool classify_same_bytes(const std::string& path, const FileStat& st, const std::string& h,
                         const CatalogFiles& known, const std::unordered_set<std::string>& seen,
                         std::unordered_set<int64_t>& claimed, ChangeSet& c) {
  auto hb = known.by_hash.find(h);
  if (hb == known.by_hash.end()) return false;
  for (auto& [id, old_path] : hb->second) {
    if (claimed.count(id) || seen.count(old_path)) continue;
    std::error_code ec;
    if (fs::exists(old_path, ec)) continue;
    claimed.insert(id);
    c.moves.push_back({id, path, st});
    return true;
  }
  for (auto& [id, old_path] : hb->second) {
    auto r = known.rows.find(old_path);
    if (r != known.rows.end() && r->second.current && !claimed.count(id)) {
      c.copies.push_back({id, path, st});
      return true;
    }
  }
  return false;
}

bool under_any(const std::string& path, const std::vector<std::string>& roots) {
  bool under = false;
  for (auto& root : roots) under = under || under_root(path, root);
  return under;
}

}  // namespace

ChangeSet Indexer::scan_changes(const std::vector<std::string>& roots, const std::vector<std::string>& files,
                                const CatalogFiles& known) {
  ChangeSet c;
  std::unordered_set<std::string> seen(files.begin(), files.end());
  std::unordered_set<int64_t> claimed;  // rows taken by a move
  int64_t n_files = static_cast<int64_t>(files.size()), n_done = 0;
  for (const auto& path : files) {
    if (++n_done % 500 == 0) emit("scan", n_files, n_done, 0, 0);
    FileStat st;
    if (!stat_file(path, &st)) continue;
    auto it = known.rows.find(path);
    if (it != known.rows.end()) {
      classify_known(path, st, it->second, c, report);
      continue;
    }
    auto f = known.failures.find(path);
    if (f != known.failures.end() && f->second.size == st.size && f->second.mtime_ns == st.mtime_ns) continue;  // known broken
    if (f != known.failures.end()) c.fixed_failures.push_back(path);
    if (!looks_like_image(path)) continue;  // not a photo
    // Moves and copies have the size of a known photo: only those need hashing up front (a
    // fresh library hashes nothing twice; the decoders hash as they read).
    if (!known.known_sizes.count(st.size)) {
      c.jobs.push_back({path, 0, st, ""});
      ++report.added;
      continue;
    }
    std::string h;
    try {
      h = content_hash_file(path);
    } catch (const Error&) {
      c.jobs.push_back({path, 0, st, ""});  // the pipeline reports why it cannot be read
      continue;
    }
    if (classify_same_bytes(path, st, h, known, seen, claimed, c)) continue;
    c.jobs.push_back({path, 0, st, h});
    ++report.added;
  }
  // Deleted: rows under the roots whose files are gone (and were not moved).
  if (params.prune_missing) {
    for (auto& [path, r] : known.rows) {
      if (seen.count(path) || claimed.count(r.id)) continue;
      if (!under_any(path, roots)) continue;
      std::error_code ec;
      if (fs::exists(path, ec)) continue;  // unreadable directory, not a deletion
      c.deletions.push_back(r.id);
    }
    for (auto& [path, st] : known.failures) {
      if (seen.count(path)) continue;
      std::error_code ec;
      if (under_any(path, roots) && !fs::exists(path, ec)) c.gone_failures.push_back(path);
    }
  }
  report.moved = static_cast<int64_t>(c.moves.size());
  report.deleted = static_cast<int64_t>(c.deletions.size());
  report.added += static_cast<int64_t>(c.copies.size());
  return c;
}

}  // namespace vf::detail
