// libFuzzer target: the HDF5 catalog import of untrusted files (Library::import_hdf5), the
// way `viewfinder import --hdf5 FILE` reads them: every input is written to a file and
// imported into one scratch library. A bad file must give vf::Error, never a crash.
// Seeds: small exports (tests/slow/fuzz.sh makes them with `viewfinder export`).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "viewfinder/viewfinder.h"

namespace {

struct Scratch {
  std::string dir, file;
  std::unique_ptr<vf::Library> lib;
  int imports = 0;
  Scratch() {
    char t[] = "/tmp/vf-fuzz-hdf5-XXXXXX";
    dir = ::mkdtemp(t);
    file = dir + "/input.h5";
    reopen();
  }
  // A fresh library now and then, so that accepted imports do not pile up.
  void reopen() {
    lib.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir + "/lib", ec);
    lib = vf::Library::open(dir + "/lib");
  }
  ~Scratch() {
    lib.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Scratch s;
  {
    std::FILE* f = std::fopen(s.file.c_str(), "wb");
    if (!f) std::abort();
    std::fwrite(data, 1, size, f);
    std::fclose(f);
  }
  try {
    s.lib->import_hdf5(s.file);
  } catch (const vf::Error&) {
  }
  if (++s.imports % 200 == 0) s.reopen();
  return 0;
}
