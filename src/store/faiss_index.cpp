#include "store/faiss_index.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/IndexScalarQuantizer.h>
#include <faiss/impl/FaissException.h>
#include <faiss/index_factory.h>
#include <faiss/index_io.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "viewfinder/error.h"

namespace vf::store {
namespace fs = std::filesystem;

// Measured by bench/run scale at 1M x 768 (docs/scale.md): IVF4096,PQ64 at nprobe 32, with the
// searcher's exact re-rank of the top 100 from the catalog's stored vectors, gives recall@10
// 0.992 at 3.2 ms CPU per query and 85 bytes per vector. HNSW32,SQ8 (the previous choice) needs
// ~1,040 B/vector and hours to build on two cores. PQ64 needs dim % 64 == 0 (384, 768, 1024,
// 1536 all are); other sizes keep HNSW over SQ8.
static const char* kCompressedFactory = "IVF4096,PQ64";
static const char* kCompressedFallback = "HNSW32,SQ8";
constexpr int kCompressedNprobe = 32;

std::string choose_factory(int64_t n, int dim) {
  if (n < 100'000) return "Flat";
  if (n < 1'000'000) {
    int64_t nlist = static_cast<int64_t>(4 * std::sqrt(static_cast<double>(n)));
    // Round to a multiple of 64 so that small growth does not change the string.
    nlist = std::max<int64_t>(64, (nlist + 63) / 64 * 64);
    return "IVF" + std::to_string(nlist) + ",Flat";
  }
  return dim % 64 == 0 ? kCompressedFactory : kCompressedFallback;
}

std::string choose_color_factory(int64_t n) { return n < 100'000 ? "Flat" : "SQ8"; }

static std::string strip_idmap(std::string f) {
  for (const char* p : {"IDMap2,", "IDMap,"})
    if (f.rfind(p, 0) == 0) f = f.substr(std::string(p).size());
  return f;
}

void tune_index(faiss::Index* index) {
  if (auto* map = dynamic_cast<faiss::IndexIDMap*>(index)) index = map->index;
  if (auto* ivf = dynamic_cast<faiss::IndexIVF*>(index)) {
    // nprobe ~ nlist/16 (>= 16): on clustered embedding data this gives recall@10 >= 0.95
    // (bench/index.sh measures it); the search stage may raise it per query.
    ivf->nprobe = std::min<size_t>(ivf->nlist, std::max<size_t>(16, ivf->nlist / 16));
    // Compressed codes are re-ranked exactly by the searcher: fewer lists suffice (docs/scale.md).
    if (dynamic_cast<faiss::IndexIVFPQ*>(ivf)) ivf->nprobe = std::min<size_t>(ivf->nlist, kCompressedNprobe);
  }
  if (auto* hnsw = dynamic_cast<faiss::IndexHNSW*>(index)) hnsw->hnsw.efSearch = 96;
}

std::unique_ptr<faiss::Index> build_index(const std::string& factory_in, int dim, const float* x,
                                          const int64_t* ids, int64_t n, int64_t max_train) {
  std::string factory = strip_idmap(factory_in);
  std::unique_ptr<faiss::Index> inner;
  try {
    inner.reset(faiss::index_factory(dim, factory.c_str(), faiss::METRIC_INNER_PRODUCT));
  } catch (const faiss::FaissException& e) {
    throw Error("invalid FAISS index type '" + factory_in + "': " + e.what(), ErrorCode::InvalidArgument);
  }
  if (auto* hnsw = dynamic_cast<faiss::IndexHNSW*>(inner.get())) hnsw->hnsw.efConstruction = 80;
  try {
    if (!inner->is_trained) {
      if (n == 0) throw Error("index type '" + factory_in + "' needs training vectors", ErrorCode::InvalidArgument);
      int64_t nt = std::min(n, max_train);
      std::vector<float> sample;
      const float* train = x;
      if (nt < n) {  // evenly spaced rows: a deterministic, representative sample
        sample.resize(static_cast<size_t>(nt) * dim);
        for (int64_t i = 0; i < nt; ++i) {
          int64_t src = i * n / nt;
          std::copy(x + src * dim, x + (src + 1) * dim, sample.begin() + i * dim);
        }
        train = sample.data();
      }
      if (auto* ivf = dynamic_cast<faiss::IndexIVF*>(inner.get()); ivf && nt < static_cast<int64_t>(ivf->nlist))
        throw Error("index type '" + factory_in + "' needs at least " + std::to_string(ivf->nlist) +
                        " vectors to train, have " + std::to_string(nt),
                    ErrorCode::InvalidArgument);
      inner->train(nt, train);
    }
    tune_index(inner.get());
    if (dynamic_cast<faiss::IndexIVF*>(inner.get())) {
      if (n) inner->add_with_ids(n, x, ids);
      return inner;
    }
    auto map = std::make_unique<faiss::IndexIDMap2>(inner.release());
    map->own_fields = true;
    if (n) map->add_with_ids(n, x, ids);
    return map;
  } catch (const faiss::FaissException& e) {
    throw Error("building FAISS index '" + factory_in + "' failed: " + e.what());
  }
}

bool supports_remove(const faiss::Index* index) {
  const faiss::Index* inner = index;
  if (auto* map = dynamic_cast<const faiss::IndexIDMap*>(index)) inner = map->index;
  if (dynamic_cast<const faiss::IndexIVF*>(inner)) return true;
  return dynamic_cast<const faiss::IndexFlatCodes*>(inner) != nullptr;
}

std::string describe_index(const faiss::Index* index) {
  const faiss::Index* inner = index;
  if (auto* map = dynamic_cast<const faiss::IndexIDMap*>(index)) inner = map->index;
  if (auto* ivf = dynamic_cast<const faiss::IndexIVF*>(inner)) {
    std::string s = "IVF" + std::to_string(ivf->nlist);
    if (auto* pq = dynamic_cast<const faiss::IndexIVFPQ*>(ivf))
      return s + ",PQ" + std::to_string(pq->pq.M) + "x" + std::to_string(pq->pq.nbits);
    if (dynamic_cast<const faiss::IndexIVFScalarQuantizer*>(ivf)) return s + ",SQ8";
    return s + ",Flat";
  }
  if (auto* h = dynamic_cast<const faiss::IndexHNSW*>(inner)) {
    std::string s = "HNSW" + std::to_string(h->hnsw.nb_neighbors(1));
    if (dynamic_cast<const faiss::IndexScalarQuantizer*>(h->storage)) return s + ",SQ8";
    return s + ",Flat";
  }
  if (dynamic_cast<const faiss::IndexScalarQuantizer*>(inner)) return "SQ8";
  if (dynamic_cast<const faiss::IndexFlat*>(inner)) return "Flat";
  return "other";
}

int64_t index_memory_bytes(const faiss::Index* index) {
  const faiss::Index* inner = index;
  int64_t extra = 0;
  if (auto* map = dynamic_cast<const faiss::IndexIDMap2*>(index)) {
    inner = map->index;
    extra += map->ntotal * (8 + 40);  // id_map vector + rev_map hash entry
  } else if (auto* m = dynamic_cast<const faiss::IndexIDMap*>(index)) {
    inner = m->index;
    extra += m->ntotal * 8;
  }
  int64_t n = inner->ntotal, d = inner->d;
  if (auto* ivf = dynamic_cast<const faiss::IndexIVF*>(inner))
    return extra + n * (static_cast<int64_t>(ivf->code_size) + 8) + static_cast<int64_t>(ivf->nlist) * d * 4;
  if (auto* h = dynamic_cast<const faiss::IndexHNSW*>(inner)) {
    int64_t code = 0;
    if (auto* fc = dynamic_cast<const faiss::IndexFlatCodes*>(h->storage)) code = fc->code_size;
    return extra + n * code + static_cast<int64_t>(h->hnsw.neighbors.size()) * 4 +
           static_cast<int64_t>(h->hnsw.offsets.size()) * 8 + n;
  }
  if (auto* fc = dynamic_cast<const faiss::IndexFlatCodes*>(inner)) return extra + n * static_cast<int64_t>(fc->code_size);
  return extra + n * d * 4;
}

static void fsync_path(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

static void rename_durably(const std::string& tmp, const std::string& path) {
  fsync_path(tmp, false);
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) throw Error(path + ": cannot replace: " + ec.message(), ErrorCode::Io);
  fsync_path(fs::path(path).parent_path().string(), true);
}

void write_file_atomic(const std::string& path, const void* data, size_t size) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
    out.flush();
    if (!out) {
      std::error_code ec;
      fs::remove(tmp, ec);
      throw Error(path + ": write failed (disk full?)", ErrorCode::Io);
    }
  }
  rename_durably(tmp, path);
}

void save_index_atomic(const faiss::Index* index, const std::string& path, const nlohmann::json& stamp) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  try {
    faiss::write_index(index, tmp.c_str());
  } catch (const faiss::FaissException& e) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw Error(path + ": cannot write index: " + e.what(), ErrorCode::Io);
  }
  rename_durably(tmp, path);
  std::string s = stamp.dump();
  write_file_atomic(path + ".stamp", s.data(), s.size());
}

std::unique_ptr<faiss::Index> load_index(const std::string& path, nlohmann::json* stamp, std::string* why_not) {
  auto fail = [&](const std::string& why) {
    if (why_not) *why_not = why;
    return std::unique_ptr<faiss::Index>();
  };
  std::error_code ec;
  if (!fs::exists(path, ec)) return fail("missing");
  std::ifstream in(path + ".stamp");
  if (!in) return fail("stamp missing");
  try {
    std::stringstream ss;
    ss << in.rdbuf();
    *stamp = nlohmann::json::parse(ss.str());
  } catch (const std::exception&) {
    return fail("stamp unreadable");
  }
  try {
    return std::unique_ptr<faiss::Index>(faiss::read_index(path.c_str()));
  } catch (const std::exception& e) {
    return fail(std::string("unreadable: ") + e.what());
  }
}

}  // namespace vf::store
