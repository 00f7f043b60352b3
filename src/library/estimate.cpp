// Library::estimate: a sample of the photos indexed into a scratch library (the same code
// path, this machine, these files), scaled up to the whole set.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "library/indexer.h"
#include "store/faiss_store.h"

namespace vf::detail {
namespace fs = std::filesystem;

EstimateReport LibraryImpl::estimate(const IndexParams& params, int sample) {
  EstimateReport er;
  std::vector<std::string> roots;
  for (const auto& r : params.roots) roots.push_back(normalize_path(r));
  auto scan = scan_roots(roots, dir_, params.follow_symlinks, {});
  if (!scan.missing_roots.empty()) throw Error(scan.missing_roots.front() + ": no such file or directory", ErrorCode::NotFound);
  const auto& files = scan.files;
  std::vector<std::string> photos;
  for (auto& f : files) {
    if (!looks_like_image(f)) continue;
    photos.push_back(f);
    std::error_code ec;
    er.bytes += static_cast<int64_t>(fs::file_size(f, ec));
  }
  er.files = static_cast<int64_t>(photos.size());
  if (photos.empty()) return er;
  sample = std::max(1, std::min<int>(sample, static_cast<int>(photos.size())));
  IndexParams p = params;
  p.roots.clear();
  for (int i = 0; i < sample; ++i) p.roots.push_back(photos[static_cast<size_t>(i) * photos.size() / sample]);
  // Index the sample into a scratch library: the same code path, this machine, these files.
  char tmpl[] = "/tmp/viewfinder-estimate-XXXXXX";
  if (!::mkdtemp(tmpl)) throw Error("cannot create a scratch directory in /tmp", ErrorCode::Io);
  std::string scratch = tmpl;
  struct Cleanup {
    std::string d;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(d, ec);
    }
  } cleanup{scratch};
  IndexReport r;
  LibraryInfo si;
  std::string model;
  {
    LibraryImpl tmp(scratch, false);
    r = tmp.index(p, {});
    si = tmp.info();
    model = tmp.model_dir();
  }
  er.sampled = sample;
  er.images_per_s = r.images_per_s;
  er.expected_seconds = r.images_per_s > 0 ? static_cast<double>(er.files) / r.images_per_s : 0;
  double per_photo_disk = static_cast<double>(si.catalog_bytes + si.thumbs_bytes) / std::max<int64_t>(1, r.embedded);
  std::string factory = store::choose_factory(er.files, si.dim);
  double per_vec = factory == "Flat" || factory.rfind("IVF", 0) == 0 ? si.dim * 4.0 + 16 : si.dim + 32 * 8.0 + 16;
  double color_vec = er.files < 100'000 ? kColorDim * 4.0 : kColorDim * 1.0;
  er.expected_disk_bytes = static_cast<int64_t>(er.files * (per_photo_disk + per_vec + color_vec));
  ModelInfo mi = inspect_model(model, false);
  er.expected_memory_bytes = static_cast<int64_t>(er.files * (per_vec + color_vec)) + mi.num_parameters * 4;
  return er;
}

}  // namespace vf::detail
