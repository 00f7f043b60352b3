#include "model/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "common/half.h"
#include "viewfinder/error.h"

namespace vf::model {

namespace {

[[noreturn]] void bad(const std::string& path, const std::string& what) {
  throw vf::Error(path + ": " + what, vf::ErrorCode::BadModel);
}

int dtype_size(const std::string& dt) {
  if (dt == "F32" || dt == "I32" || dt == "U32") return 4;
  if (dt == "F16" || dt == "BF16" || dt == "I16" || dt == "U16") return 2;
  if (dt == "F64" || dt == "I64" || dt == "U64") return 8;
  if (dt == "I8" || dt == "U8" || dt == "BOOL" || dt == "F8_E4M3" || dt == "F8_E5M2") return 1;
  return 0;
}

}  // namespace

int64_t TensorEntry::numel() const {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

std::string shape_to_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

SafetensorsFile::SafetensorsFile(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    throw vf::Error(path + ": cannot open model weights (" + std::strerror(errno) + ")",
                    errno == ENOENT ? vf::ErrorCode::BadModel : vf::ErrorCode::BadModel);
  }
  struct stat st {};
  if (fstat(fd_, &st) != 0) {
    ::close(fd_);
    fd_ = -1;
    bad(path, "cannot stat");
  }
  size_ = static_cast<uint64_t>(st.st_size);
  try {
    if (size_ < 8) bad(path, "truncated: " + std::to_string(size_) + " bytes, not a safetensors file");
    void* m = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd_, 0);
    if (m == MAP_FAILED) bad(path, std::string("cannot map: ") + std::strerror(errno));
    map_ = static_cast<const uint8_t*>(m);
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | map_[i];
    if (header_len == 0 || header_len > 100'000'000ull)
      bad(path, "not a safetensors file (header length " + std::to_string(header_len) + ")");
    if (8 + header_len > size_)
      bad(path, "truncated: header needs " + std::to_string(8 + header_len) + " bytes, file has " +
                    std::to_string(size_));
    data_start_ = 8 + header_len;
    nlohmann::json header;
    try {
      header = nlohmann::json::parse(map_ + 8, map_ + 8 + header_len);
    } catch (const std::exception& e) {
      bad(path, std::string("header is not valid JSON (") + e.what() + ")");
    }
    if (!header.is_object()) bad(path, "header is not a JSON object");
    const uint64_t data_size = size_ - data_start_;
    uint64_t max_end = 0;
    for (auto it = header.begin(); it != header.end(); ++it) {
      if (it.key() == "__metadata__") continue;
      const auto& v = it.value();
      if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets") ||
          !v["dtype"].is_string() || !v["shape"].is_array() || !v["data_offsets"].is_array() ||
          v["data_offsets"].size() != 2)
        bad(path, "tensor '" + it.key() + "' has a malformed header entry");
      TensorEntry t;
      t.name = it.key();
      t.dtype = v["dtype"].get<std::string>();
      for (const auto& d : v["shape"]) {
        if (!d.is_number_integer() || d.get<int64_t>() < 0)
          bad(path, "tensor '" + t.name + "' has a bad shape");
        t.shape.push_back(d.get<int64_t>());
      }
      if (!v["data_offsets"][0].is_number_unsigned() || !v["data_offsets"][1].is_number_unsigned())
        bad(path, "tensor '" + t.name + "' has bad data_offsets");
      t.begin = v["data_offsets"][0].get<uint64_t>();
      t.end = v["data_offsets"][1].get<uint64_t>();
      const int es = dtype_size(t.dtype);
      if (es == 0) bad(path, "tensor '" + t.name + "' has unknown dtype " + t.dtype);
      if (t.end < t.begin) bad(path, "tensor '" + t.name + "' has data_offsets end < begin");
      if (t.end > data_size)
        bad(path, "truncated: tensor '" + t.name + "' ends at byte " + std::to_string(data_start_ + t.end) +
                      " but the file has " + std::to_string(size_) + " bytes");
      if (static_cast<uint64_t>(t.numel()) * es != t.end - t.begin)
        bad(path, "tensor '" + t.name + "' is " + std::to_string(t.end - t.begin) + " bytes but " + t.dtype +
                      shape_to_string(t.shape) + " needs " + std::to_string(t.numel() * es));
      max_end = std::max(max_end, t.end);
      tensors_.emplace(t.name, std::move(t));
    }
    if (tensors_.empty()) bad(path, "contains no tensors");
    (void)max_end;
  } catch (...) {
    if (map_) munmap(const_cast<uint8_t*>(map_), size_);
    map_ = nullptr;
    ::close(fd_);
    fd_ = -1;
    throw;
  }
}

SafetensorsFile::~SafetensorsFile() {
  if (map_) munmap(const_cast<uint8_t*>(map_), size_);
  if (fd_ >= 0) ::close(fd_);
}

const TensorEntry* SafetensorsFile::find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

std::vector<float> SafetensorsFile::read_f32(const std::string& name,
                                             const std::vector<int64_t>& expected_shape) const {
  const TensorEntry* t = find(name);
  if (!t) bad(path_, "missing tensor '" + name + "'");
  if (t->shape != expected_shape)
    bad(path_, "tensor '" + name + "' has shape " + shape_to_string(t->shape) + " but config.json implies " +
                   shape_to_string(expected_shape));
  const int64_t n = t->numel();
  std::vector<float> out(static_cast<size_t>(n));
  const uint8_t* src = map_ + data_start_ + t->begin;
  if (t->dtype == "F32") {
    std::memcpy(out.data(), src, static_cast<size_t>(n) * 4);
  } else if (t->dtype == "F16") {
    for (int64_t i = 0; i < n; ++i) {
      uint16_t h;
      std::memcpy(&h, src + 2 * i, 2);
      out[i] = half_to_float(h);
    }
  } else if (t->dtype == "BF16") {
    for (int64_t i = 0; i < n; ++i) {
      uint16_t h;
      std::memcpy(&h, src + 2 * i, 2);
      out[i] = bf16_to_float(h);
    }
  } else {
    bad(path_, "tensor '" + name + "' has dtype " + t->dtype + "; only F32, F16 and BF16 are supported");
  }
  return out;
}

std::string SafetensorsFile::dtype_summary() const {
  std::set<std::string> dts;
  for (const auto& [n, t] : tensors_) dts.insert(t.dtype);
  if (dts.size() == 1) return *dts.begin();
  std::string s = "mixed(";
  bool first = true;
  for (const auto& d : dts) {
    s += (first ? "" : ",") + d;
    first = false;
  }
  return s + ")";
}

int64_t SafetensorsFile::total_numel() const {
  int64_t n = 0;
  for (const auto& [name, t] : tensors_) n += t.numel();
  return n;
}

}  // namespace vf::model
