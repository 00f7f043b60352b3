#include "model/packed_cache.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "model/model_config.h"

namespace vf::model {
namespace {

constexpr char kMagic[8] = {'V', 'F', 'P', 'A', 'C', 'K', '0', '1'};
constexpr char kTrailer[8] = {'V', 'F', 'P', 'A', 'C', 'K', 'O', 'K'};
constexpr uint64_t kAlign = 4096;  // page-aligned tensors: oneDNN reads them in place
constexpr int kKeepFiles = 4;      // newest cache files kept in the folder

uint64_t align_up(uint64_t v) { return (v + kAlign - 1) / kAlign * kAlign; }

// Bounds-checked reader of the header.
struct Reader {
  const uint8_t* p;
  uint64_t left;
  bool ok = true;
  template <class T>
  T get() {
    T v{};
    if (left < sizeof(T)) {
      ok = false;
      return v;
    }
    std::memcpy(&v, p, sizeof(T));
    p += sizeof(T);
    left -= sizeof(T);
    return v;
  }
  std::vector<uint8_t> bytes(uint64_t n) {
    if (left < n) {
      ok = false;
      return {};
    }
    std::vector<uint8_t> v(p, p + n);
    p += n;
    left -= n;
    return v;
  }
};

std::vector<uint8_t> desc_bytes(const dnnl::memory::desc& d) {
  const auto* b = reinterpret_cast<const uint8_t*>(&d.data);
  return std::vector<uint8_t>(b, b + sizeof(d.data));
}

void put(std::vector<uint8_t>& out, const void* p, size_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  out.insert(out.end(), b, b + n);
}

bool write_all(int fd, const void* p, uint64_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  while (n > 0) {
    const ssize_t w = ::write(fd, b, std::min<uint64_t>(n, 1u << 30));
    if (w <= 0) return false;
    b += w;
    n -= static_cast<uint64_t>(w);
  }
  return true;
}

// Keeps the kKeepFiles newest *.vfpack files of `dir` (one per model and precision in use).
void prune(const std::filesystem::path& dir) {
  std::error_code ec;
  std::vector<std::pair<std::filesystem::file_time_type, std::filesystem::path>> files;
  const auto now = std::filesystem::file_time_type::clock::now();
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const auto when = e.last_write_time(ec);
    if (e.path().extension() == ".vfpack")
      files.emplace_back(when, e.path());
    else if (e.path().stem().extension() == ".vfpack" && now - when > std::chrono::hours(1))
      std::filesystem::remove(e.path(), ec);  // a temporary file left by a writer that died
  }
  std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t i = kKeepFiles; i < files.size(); ++i) std::filesystem::remove(files[i].second, ec);
}

}  // namespace

std::string PackedWeightsCache::path_for(const std::string& model_sha256, const char* precision) {
  if (const char* v = std::getenv("VF_PACKED_CACHE"); v && std::string(v) == "0") return {};
  const std::filesystem::path dir = model_cache_dir();
  if (dir.empty() || model_sha256.size() < 16) return {};
  const dnnl_version_t* v = dnnl_version();
  const std::string name = model_sha256.substr(0, 16) + "-" + precision + "-onednn" + std::to_string(v->major) + "." +
                           std::to_string(v->minor) + "." + std::to_string(v->patch) + "-isa" +
                           std::to_string(static_cast<int>(dnnl::get_effective_cpu_isa())) + ".vfpack";
  return (dir / "packed" / name).string();
}

PackedWeightsCache::PackedWeightsCache(const std::string& path) {
  if (path.empty()) return;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || st.st_size < static_cast<off_t>(2 * sizeof(kMagic))) {
    ::close(fd);
    return;
  }
  void* m = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (m == MAP_FAILED) return;
  const auto* base = static_cast<const uint8_t*>(m);
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  Reader r{base, size};
  const auto magic = r.bytes(sizeof(kMagic));
  const bool complete = std::memcmp(base + size - sizeof(kTrailer), kTrailer, sizeof(kTrailer)) == 0;
  const uint64_t count = r.get<uint64_t>();
  std::map<std::string, Slot> slots;
  if (r.ok && complete && std::memcmp(magic.data(), kMagic, sizeof(kMagic)) == 0 && count < 100000) {
    for (uint64_t i = 0; i < count && r.ok; ++i) {
      const auto name = r.bytes(r.get<uint32_t>());
      Slot s;
      s.offset = r.get<uint64_t>();
      s.size = r.get<uint64_t>();
      s.desc = r.bytes(r.get<uint32_t>());
      if (!r.ok || s.offset > size || s.size > size - s.offset) r.ok = false;
      if (r.ok) slots.emplace(std::string(name.begin(), name.end()), std::move(s));
    }
  }
  if (!r.ok || slots.empty() || slots.size() != count) {
    ::munmap(m, static_cast<size_t>(size));
    return;
  }
  slots_ = std::move(slots);
  map_ = base;
  size_ = size;
}

PackedWeightsCache::~PackedWeightsCache() {
  if (map_) ::munmap(const_cast<uint8_t*>(map_), static_cast<size_t>(size_));
}

const void* PackedWeightsCache::find(const std::string& name, const dnnl::memory::desc& desc) const {
  const auto it = slots_.find(name);
  if (it == slots_.end() || it->second.size != desc.get_size() || it->second.desc != desc_bytes(desc)) return nullptr;
  return map_ + it->second.offset;
}

bool PackedWeightsCache::write(const std::string& path, const std::vector<Entry>& entries) {
  if (path.empty() || entries.empty()) return false;
  std::vector<uint8_t> header;
  put(header, kMagic, sizeof(kMagic));
  const uint64_t count = entries.size();
  put(header, &count, 8);
  // Header size first (offsets depend on it): name, offset, size and descriptor per entry.
  uint64_t header_size = header.size();
  for (const auto& e : entries) header_size += 4 + e.name.size() + 8 + 8 + 4 + sizeof(e.desc.data);
  uint64_t offset = align_up(header_size);
  std::vector<uint64_t> offsets;
  for (const auto& e : entries) {
    const uint64_t n = e.desc.get_size();
    const uint32_t name_len = static_cast<uint32_t>(e.name.size()), desc_len = sizeof(e.desc.data);
    put(header, &name_len, 4);
    put(header, e.name.data(), e.name.size());
    put(header, &offset, 8);
    put(header, &n, 8);
    put(header, &desc_len, 4);
    put(header, &e.desc.data, desc_len);
    offsets.push_back(offset);
    offset = align_up(offset + n);
  }
  std::error_code ec;
  const std::filesystem::path final_path(path);
  std::filesystem::create_directories(final_path.parent_path(), ec);
  // A unique temporary name: two engines opened at once (threads of one process included)
  // must never write into the same file.
  std::string tmp = path + ".XXXXXX";
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) return false;
  ::fchmod(fd, 0644);
  bool ok = write_all(fd, header.data(), header.size());
  uint64_t pos = header.size();
  const std::vector<uint8_t> zeros(kAlign, 0);
  for (size_t i = 0; ok && i < entries.size(); ++i) {
    ok = write_all(fd, zeros.data(), offsets[i] - pos) && write_all(fd, entries[i].data, entries[i].desc.get_size());
    pos = offsets[i] + entries[i].desc.get_size();
  }
  ok = ok && write_all(fd, kTrailer, sizeof(kTrailer)) && ::fsync(fd) == 0;
  ok = ::close(fd) == 0 && ok;
  if (ok) ok = ::rename(tmp.c_str(), path.c_str()) == 0;
  if (!ok) {
    ::unlink(tmp.c_str());
    return false;
  }
  prune(final_path.parent_path());
  return true;
}

}  // namespace vf::model
