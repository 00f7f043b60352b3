#include "common/npy.h"

#include <cstring>
#include <fstream>
#include <sstream>

#include "common/half.h"
#include "viewfinder/error.h"

namespace vf {

int64_t NpyArray::numel() const {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

std::vector<float> NpyArray::as_float() const {
  const int64_t n = numel();
  std::vector<float> out(n);
  if (dtype == "<f4") {
    std::memcpy(out.data(), bytes.data(), n * 4);
  } else if (dtype == "<f8") {
    const double* p = reinterpret_cast<const double*>(bytes.data());
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(p[i]);
  } else if (dtype == "<f2") {
    const uint16_t* p = reinterpret_cast<const uint16_t*>(bytes.data());
    for (int64_t i = 0; i < n; ++i) out[i] = half_to_float(p[i]);
  } else if (dtype == "|u1") {
    for (int64_t i = 0; i < n; ++i) out[i] = bytes[i];
  } else {
    throw Error("npy: unsupported dtype " + dtype);
  }
  return out;
}

static std::string header_value(const std::string& header, const std::string& key) {
  auto k = header.find("'" + key + "'");
  if (k == std::string::npos) return "";
  auto colon = header.find(':', k);
  auto start = header.find_first_not_of(' ', colon + 1);
  if (header[start] == '\'') {
    auto end = header.find('\'', start + 1);
    return header.substr(start + 1, end - start - 1);
  }
  if (header[start] == '(') {
    auto end = header.find(')', start);
    return header.substr(start + 1, end - start - 1);
  }
  auto end = header.find_first_of(",}", start);
  return header.substr(start, end - start);
}

NpyArray read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open", ErrorCode::NotFound);
  char magic[8];
  in.read(magic, 8);
  if (!in || std::memcmp(magic, "\x93NUMPY", 6) != 0) throw Error(path + ": not a .npy file", ErrorCode::Corrupt);
  uint32_t header_len = 0;
  if (magic[6] == 1) {
    uint16_t h16;
    in.read(reinterpret_cast<char*>(&h16), 2);
    header_len = h16;
  } else {
    in.read(reinterpret_cast<char*>(&header_len), 4);
  }
  std::string header(header_len, '\0');
  in.read(header.data(), header_len);
  NpyArray a;
  a.dtype = header_value(header, "descr");
  if (header_value(header, "fortran_order") != "False") throw Error(path + ": Fortran order is not supported");
  std::stringstream ss(header_value(header, "shape"));
  std::string tok;
  while (std::getline(ss, tok, ',')) {
    auto s = tok.find_first_not_of(' ');
    if (s == std::string::npos) continue;
    a.shape.push_back(std::stoll(tok.substr(s)));
  }
  int item = a.dtype.size() >= 3 ? std::stoi(a.dtype.substr(2)) : 0;
  if (item <= 0) throw Error(path + ": bad dtype " + a.dtype);
  a.bytes.resize(static_cast<size_t>(a.numel() * item));
  in.read(reinterpret_cast<char*>(a.bytes.data()), static_cast<std::streamsize>(a.bytes.size()));
  if (!in) throw Error(path + ": truncated data", ErrorCode::Corrupt);
  return a;
}

void write_npy(const std::string& path, const std::vector<float>& data, const std::vector<int64_t>& shape) {
  std::string dims;
  for (size_t i = 0; i < shape.size(); ++i) dims += std::to_string(shape[i]) + (shape.size() == 1 || i + 1 < shape.size() ? "," : "");
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  size_t total = 10 + header.size() + 1;
  header += std::string((64 - total % 64) % 64, ' ') + "\n";
  std::ofstream out(path, std::ios::binary);
  if (!out) throw Error(path + ": cannot write", ErrorCode::Io);
  out.write("\x93NUMPY\x01\x00", 8);
  uint16_t hl = static_cast<uint16_t>(header.size());
  out.write(reinterpret_cast<const char*>(&hl), 2);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size() * 4));
}

}  // namespace vf
