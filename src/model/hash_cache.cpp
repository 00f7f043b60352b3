// The sha256 of model.safetensors, cached by (path, size, mtime, inode) so that opening a
// model (every `viewfinder search`, every server start) does not re-read hundreds of MB.
// Cache file: $VF_CACHE_DIR, else $XDG_CACHE_HOME/viewfinder, else ~/.cache/viewfinder;
// `model-sha256.tsv`, one line per file: path, size, mtime in ns, inode, sha256.
// A cache that cannot be read or written only costs the hash; it is never an error.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "model/model_config.h"

namespace vf::model {

std::filesystem::path model_cache_dir() {
  if (const char* d = std::getenv("VF_CACHE_DIR"); d && *d) return d;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::filesystem::path(x) / "viewfinder";
  if (const char* h = std::getenv("HOME"); h && *h) return std::filesystem::path(h) / ".cache" / "viewfinder";
  return {};
}

namespace {

struct FileKey {
  std::string path;
  long long size = 0, mtime_ns = 0, inode = 0;
  std::string prefix() const {
    return path + '\t' + std::to_string(size) + '\t' + std::to_string(mtime_ns) + '\t' + std::to_string(inode) + '\t';
  }
};

}  // namespace

std::string sha256_file_cached(const std::string& path_in) {
  std::error_code ec;
  const std::filesystem::path real = std::filesystem::canonical(path_in, ec);
  struct stat st {};
  const std::filesystem::path dir = model_cache_dir();
  if (ec || dir.empty() || ::stat(real.c_str(), &st) != 0 || real.string().find_first_of("\t\n") != std::string::npos)
    return sha256_file(path_in);
  FileKey key{real.string(), static_cast<long long>(st.st_size),
              static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec,
              static_cast<long long>(st.st_ino)};
  const std::filesystem::path file = dir / "model-sha256.tsv";
  const std::string prefix = key.prefix();
  std::vector<std::string> kept;
  {
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind(prefix, 0) == 0 && line.size() == prefix.size() + 64) return line.substr(prefix.size());
      // Drop stale lines for the same path (the file was replaced); keep the others.
      if (line.rfind(key.path + '\t', 0) != 0 && kept.size() < 256) kept.push_back(line);
    }
  }
  const std::string sha = sha256_file(path_in);
  kept.push_back(prefix + sha);
  std::filesystem::create_directories(dir, ec);
  const std::filesystem::path tmp = dir / ("model-sha256.tsv." + std::to_string(::getpid()) + ".tmp");
  {
    std::ofstream out(tmp, std::ios::trunc);
    for (const auto& l : kept) out << l << '\n';
    if (!out) {
      std::filesystem::remove(tmp, ec);
      return sha;
    }
  }
  std::filesystem::rename(tmp, file, ec);  // atomic: readers see the old or the new list
  if (ec) std::filesystem::remove(tmp, ec);
  return sha;
}

}  // namespace vf::model
