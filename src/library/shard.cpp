// Shard workers: several machines embed one library into one Milvus collection. Worker I of
// N takes the files whose path relative to their root hashes to I (mod N): a deterministic
// split that every worker computes alone, as long as they are given the same roots'
// contents (e.g. the same NAS share, mounted anywhere). Each worker keeps its own resumable
// catalog; its photo ids start at shard_first_id(I), so ids never collide in the collection.
#include <cstdint>

#include "common/fnv1a.h"
#include "library/indexer.h"

namespace vf {

std::pair<int, int> parse_shard(const std::string& text) {
  if (text.empty()) return {0, 1};
  size_t slash = text.find('/');
  try {
    if (slash != std::string::npos) {
      size_t a = 0, b = 0;
      int i = std::stoi(text.substr(0, slash), &a), n = std::stoi(text.substr(slash + 1), &b);
      if (a == slash && b == text.size() - slash - 1 && n >= 1 && n <= 1024 && i >= 0 && i < n) return {i, n};
    }
  } catch (const std::exception&) {
  }
  throw Error("bad shard \"" + text + "\": expected I/N with 0 <= I < N (e.g. 0/3, 1/3, 2/3)", ErrorCode::InvalidArgument);
}

}  // namespace vf

namespace vf::detail {
namespace {

std::string shard_text(int i, int n) { return std::to_string(i) + "/" + std::to_string(n); }

}  // namespace


// Which shard this run is (the --shard given, else the one the catalog remembers), recorded
// in the catalog with the id range it implies. Returns {I, N}.
std::pair<int, int> Indexer::claim_shard() {
  const std::string have = meta_get(db, "shard");
  if (params.shard_count < 1 || params.shard_index < 0 || params.shard_index >= params.shard_count)
    throw Error("bad shard " + shard_text(params.shard_index, params.shard_count) + ": expected 0 <= I < N",
                ErrorCode::InvalidArgument);
  if (params.shard_count == 1) return parse_shard(have);
  const std::string want = shard_text(params.shard_index, params.shard_count);
  if (!have.empty() && have != want)
    throw Error(lib.dir() + " is the catalog of shard " + have + ", not " + want + ": give each worker its own library",
                ErrorCode::InvalidArgument);
  if (have.empty()) {
    if (query_int(db, "SELECT count(*) FROM photos") > 0)
      throw Error(lib.dir() + " already holds photos: a shard worker needs a new library of its own",
                  ErrorCode::InvalidArgument);
    Transaction t(db);
    meta_set(db, "shard", want);
    const int64_t seq = shard_first_id(params.shard_index) - 1;
    Stmt(db, "DELETE FROM sqlite_sequence WHERE name = 'photos'").run();
    Stmt(db, "INSERT INTO sqlite_sequence(name, seq) VALUES('photos', ?)").bind(1, seq).run();
    t.commit();
  }
  return {params.shard_index, params.shard_count};
}

std::vector<std::string> keep_shard(const std::vector<std::string>& files, const std::vector<std::string>& roots,
                                    int shard, int shards) {
  if (shards <= 1) return files;
  std::vector<std::string> kept;
  for (const auto& f : files) {
    // Relative to the longest root containing it: the same on every worker's mount point.
    std::string rel = f;
    size_t best = 0;
    for (const auto& r : roots)
      if (r.size() > best && f.size() > r.size() && f.compare(0, r.size(), r) == 0 && f[r.size()] == '/') {
        best = r.size();
        rel = f.substr(r.size() + 1);
      }
    if (best == 0) rel = f.substr(f.rfind('/') + 1);  // a file given as a root: its name
    if (static_cast<int>(fnv1a(rel) % static_cast<uint64_t>(shards)) == shard) kept.push_back(f);
  }
  return kept;
}

}  // namespace vf::detail
