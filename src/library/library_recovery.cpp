// Stale temp files and damaged catalogs (library_recovery.h).
#include "library/library_recovery.h"

#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>

#include "viewfinder/error.h"

namespace vf::detail {
namespace fs = std::filesystem;

namespace {

// "<name>.tmp.<pid>[.<thread>]": the pid of the writer, or -1 when the name is not a temp file.
long temp_writer_pid(const std::string& name) {
  auto at = name.rfind(".tmp.");
  if (at == std::string::npos) return -1;
  std::string rest = name.substr(at + 5);
  size_t n = 0;
  while (n < rest.size() && rest[n] >= '0' && rest[n] <= '9') ++n;
  if (n == 0 || n > 9) return -1;
  return std::stol(rest.substr(0, n));
}

bool process_alive(long pid) { return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM; }

int remove_in(const fs::path& dir) {
  int removed = 0;
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::error_code e2;
    if (!it->is_regular_file(e2)) continue;
    long pid = temp_writer_pid(it->path().filename().string());
    if (pid <= 0 || process_alive(pid)) continue;  // a live writer's file is still being written
    if (fs::remove(it->path(), e2)) ++removed;
  }
  return removed;
}

}  // namespace

int remove_stale_temp_files(const std::string& library_dir) {
  int removed = remove_in(library_dir);
  std::error_code ec;
  // thumbs/<2 hex>/<hash>.jpg: one level of shard folders.
  for (auto it = fs::directory_iterator(library_dir + "/thumbs", ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    std::error_code e2;
    if (it->is_directory(e2)) removed += remove_in(it->path());
  }
  return removed;
}

bool is_damaged_catalog_error(const std::string& m) {
  return m.find("malformed") != std::string::npos || m.find("not a database") != std::string::npos ||
         m.find("disk image") != std::string::npos || m.find("corrupt") != std::string::npos;
}

void throw_unreadable_catalog(const std::string& catalog_path, const std::string& reason) {
  char head[16] = {};
  std::ifstream in(catalog_path, std::ios::binary);
  in.read(head, sizeof head);
  auto got = static_cast<size_t>(in.gcount());
  static const char kSqliteMagic[] = "SQLite format 3";  // 16 bytes with its NUL
  // An SQLite file SQLite calls malformed, or a file cut inside its own header.
  bool ours_torn = got > 0 && std::equal(head, head + got, kSqliteMagic) && (got < 16 || is_damaged_catalog_error(reason));
  if (ours_torn) {
    throw Error(catalog_path + ": the catalog is damaged (" + reason +
                    "). Your photos are not affected. To recover: restore catalog.sqlite3 from a backup, "
                    "or move it aside (mv catalog.sqlite3 catalog.sqlite3.damaged) and run 'viewfinder index' "
                    "on your folders to rebuild it (or 'viewfinder import' an HDF5 export).",
                ErrorCode::Corrupt);
  }
  throw Error(catalog_path + ": not a Viewfinder catalog (" + reason + ")", ErrorCode::Corrupt);
}

}  // namespace vf::detail
