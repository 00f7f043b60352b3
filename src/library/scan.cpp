// The scan: the files under the roots, compared with the catalog, give the set of changes
// (new, changed, re-embed, moved, copied, touched, deleted).
#include <sys/stat.h>

#include <cerrno>

#include <algorithm>
#include <filesystem>

#include "catalog/photo_row.h"
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

CatalogFiles Indexer::load_catalog_files() {
  CatalogFiles k;
  {
    Stmt s(db, "SELECT id, path, file_size, mtime_ns, content_hash, embedding IS NOT NULL, model_id, pooling,"
               " coalesce(meta_version, 0) FROM photos");
    while (s.step()) {
      CatalogRow r;
      r.id = s.col_int64(0);
      std::string path = s.col_text(1);
      r.size = s.col_int64(2);
      r.mtime_ns = s.col_int64(3);
      r.hash = s.col_text(4);
      r.current = s.col_int(5) && s.col_text(6) == model_id && s.col_text(7) == pooling;
      r.stale_metadata = s.col_int(8) < catalog::kMetadataVersion;
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
      if (r.stale_metadata) c.reread_metadata.push_back({r.id, path});
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


// Gone means gone: lstat answers ENOENT. EACCES (a folder on the way cannot be searched), EIO
// (a dead share) and the like say nothing about the file, and its entry stays.
bool file_is_gone(const std::string& path) {
  struct stat sb;
  return ::lstat(path.c_str(), &sb) != 0 && errno == ENOENT;
}

}  // namespace

// A file under the roots that is not in the catalog: new, a move or copy of a known photo, a
// failure that changed, or no photo at all.
void Indexer::classify_unknown(const std::string& path, const FileStat& st, const CatalogFiles& known,
                               const std::unordered_set<std::string>& seen, std::unordered_set<int64_t>& claimed,
                               ChangeSet& c) {
  auto f = known.failures.find(path);
  if (f != known.failures.end() && f->second.size == st.size && f->second.mtime_ns == st.mtime_ns) {
    ++report.still_failing;  // known broken, unchanged
    return;
  }
  if (f != known.failures.end()) c.fixed_failures.push_back(path);
  if (!looks_like_image(path)) {
    // Named like a photo but made of something else (a text file called .jpg): a failure to
    // list, with the reason. Anything else (notes.txt, .xmp sidecars) is simply not a photo.
    if (has_image_extension(path)) {
      std::string why = not_an_image_reason(path);
      c.not_images.push_back({path, st, "not an image: " + (why.empty() ? std::string("unrecognised content") : why)});
      ++report.added;
    } else {
      ++report.not_photos;
    }
    return;
  }
  // Moves and copies have the size of a known photo: only those need hashing up front (a
  // fresh library hashes nothing twice; the decoders hash as they read).
  if (!known.known_sizes.count(st.size)) {
    c.jobs.push_back({path, 0, st, ""});
    ++report.added;
    return;
  }
  std::string h;
  try {
    h = content_hash_file(path);
  } catch (const Error&) {
    c.jobs.push_back({path, 0, st, ""});  // the pipeline reports why it cannot be read
    ++report.added;
    return;
  }
  if (classify_same_bytes(path, st, h, known, seen, claimed, c)) return;
  c.jobs.push_back({path, 0, st, h});
  ++report.added;
}

ChangeSet Indexer::scan_changes(const std::vector<std::string>& roots, const ScanResult& scan, const CatalogFiles& known) {
  ChangeSet c;
  const auto& files = scan.files;
  std::unordered_set<std::string> seen(files.begin(), files.end());
  std::unordered_set<int64_t> claimed;  // rows taken by a move
  int64_t n_files = static_cast<int64_t>(files.size()), n_done = 0;
  for (const auto& path : files) {
    if (++n_done % 500 == 0) emit("scan", n_files, n_done, 0, 0);
    FileStat st;
    if (!stat_file(path, &st)) continue;
    auto it = known.rows.find(path);
    if (it != known.rows.end())
      classify_known(path, st, it->second, c, report);
    else
      classify_unknown(path, st, known, seen, claimed, c);
  }
  // Deleted: rows under the roots whose files are really gone (and were not moved). A folder
  // that cannot be listed, or that is suddenly empty, keeps its entries (guard_roots).
  std::unordered_set<std::string> keep_dirs;
  for (auto& u : scan.unreadable_dirs) keep_dirs.insert(u.dir);
  if (!params.allow_empty_root)
    for (auto& d : scan.empty_dirs) keep_dirs.insert(d);
  auto kept = [&](const std::string& path) {
    for (std::string d = folder_of(path); under_any(d, roots); d = folder_of(d)) {
      if (keep_dirs.count(d)) return true;
      if (d == "/") break;
    }
    return false;
  };
  if (params.prune_missing) {
    for (auto& [path, r] : known.rows) {
      if (seen.count(path) || claimed.count(r.id) || !under_any(path, roots)) continue;
      if (file_is_gone(path) && !kept(path)) c.deletions.push_back(r.id);
    }
    for (auto& [path, st] : known.failures)
      if (!seen.count(path) && under_any(path, roots) && file_is_gone(path) && !kept(path)) c.gone_failures.push_back(path);
  }
  report.moved = static_cast<int64_t>(c.moves.size());
  report.deleted = static_cast<int64_t>(c.deletions.size());
  report.added += static_cast<int64_t>(c.copies.size());
  return c;
}

void Indexer::guard_roots(const std::vector<std::string>& roots, const ScanResult& scan, const CatalogFiles& known) {
  for (auto& u : scan.unreadable_dirs) {
    report.unreadable_folders.push_back({u.dir, u.reason});
    note("cannot read folder " + u.dir + " (" + u.reason + "): its photos stay in the library as they were");
  }
  report.outside_links = scan.outside_links;
  if (!scan.outside_links.empty())
    note("skipped " + std::to_string(scan.outside_links.size()) + " symlink(s) leading out of the indexed folders (e.g. " +
         scan.outside_links.front() + "); --follow-symlinks follows them");
  if (!params.allow_empty_root && !scan.empty_dirs.empty()) {
    std::unordered_map<std::string, int64_t> per_folder;
    for (auto& [path, r] : known.rows) ++per_folder[folder_of(path)];
    for (auto& d : scan.empty_dirs) {
      auto it = per_folder.find(d);
      if (it != per_folder.end() && std::find(roots.begin(), roots.end(), d) == roots.end())
        note("folder " + d + " is empty but held " + std::to_string(it->second) +
             " photos: their entries are kept (an unmounted share?); --allow-empty-root removes them");
    }
  }
  for (size_t i = 0; i < roots.size(); ++i) {
    const std::string& root = roots[i];
    int64_t held = 0;
    for (auto& [path, r] : known.rows) held += under_root(path, root);
    bool missing = std::find(scan.missing_roots.begin(), scan.missing_roots.end(), root) != scan.missing_roots.end();
    if (missing && held == 0) throw Error(root + ": no such file or directory", ErrorCode::NotFound);
    if (held == 0) continue;
    std::string state;
    for (auto& u : scan.unreadable_dirs)
      if (u.dir == root) state = "cannot be read (" + u.reason + ")";
    if (missing) state = "is missing";
    if (state.empty() && i < scan.files_per_root.size() && scan.files_per_root[i] == 0) state = "is empty";
    if (state.empty()) continue;
    std::string msg = root + " " + state + ", but the library holds " + std::to_string(held) +
                      " photos under it (an unmounted drive or share, a folder without permissions?).";
    if (params.allow_empty_root) {
      note(msg + " --allow-empty-root: entries of files that are really gone are removed");
      continue;
    }
    throw Error(msg + " Nothing was changed. Mount or fix it and index again, or pass --allow-empty-root "
                      "to remove the entries of its photos.", ErrorCode::NotFound);
  }
}

}  // namespace vf::detail
