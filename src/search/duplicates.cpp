// Duplicate detection (docs/search.md#duplicates).
//
// Identical bytes: the same content hash. Identical pixels: candidates with the same
// dimensions, pHashes within kPixelCandidateBits and embedding cosine >= kPixelCandidateCosine
// are decoded at full size and their RGB pixels hashed; equal pixel hashes are identical
// pixels. Decoding happens for those candidates only (a lossy re-encode is a candidate but
// fails the check), so the cost is a few decodes per candidate group, not one per photo.
// Near: each photo's max_neighbors nearest neighbours in the semantic index with cosine >=
// threshold, optionally also colour-index neighbours whose pHashes are within
// phash_max_distance bits. Everything linked ends in ONE group (union-find): groups never
// overlap; each member carries its own relation to the keeper.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <numeric>
#include <set>
#include <string_view>
#include <unordered_map>

#include "library/library_access.h"
#include "catalog/catalog_reader.h"
#include "catalog/schema.h"
#include "store/vector_store.h"
#include "search/search_internal.h"
#include "viewfinder/image.h"
#include "viewfinder/search.h"

namespace vf {

namespace {

// Identical-pixel candidates (neighbours in the semantic index with the same dimensions): any
// difference in pixels that these let through is caught by the decode; they keep decodes few.
// pHashes may differ by a bit or two: they are computed on shrink-on-load decodes, which
// differ between formats.
constexpr float kPixelCandidateCosine = 0.99f;
constexpr int kPixelCandidateBits = 2;
constexpr int kChunk = 512;  // queries per FAISS batch

using Row = catalog::DuplicateRow;

// Visits every (photo, neighbour) pair found through a store over `vectors` (n rows of d,
// photo i = row i): the library's store when there are no filters, else a small exact store
// over the filtered photos. Never all pairs.
void for_each_neighbor(const store::VectorStore* library_store, bool filtered, const float* vectors, size_t n,
                       int d, int kn, const std::unordered_map<int64_t, size_t>& pos,
                       const std::function<void(size_t, size_t)>& visit) {
  std::unique_ptr<store::VectorStore> local;
  const store::VectorStore* index = library_store;
  const bool use_local = filtered || !index;
  if (use_local) {
    // An exact store over the filtered photos, keyed by position.
    std::vector<int64_t> positions(n);
    std::iota(positions.begin(), positions.end(), int64_t{0});
    local = store::make_store("faiss", d, "Flat");
    local->upsert(positions.data(), vectors, static_cast<int64_t>(n), nullptr);
    index = local.get();
  }
  for (size_t start = 0; start < n; start += kChunk) {
    int nq = static_cast<int>(std::min<size_t>(kChunk, n - start));
    auto res = index->search(vectors + start * d, nq, kn, {});
    for (int q = 0; q < nq; ++q)
      for (const auto& nb : (*res)[q]) {
        size_t other;
        if (use_local) {
          other = static_cast<size_t>(nb.id);
        } else {
          auto it = pos.find(nb.id);
          if (it == pos.end()) continue;
          other = it->second;
        }
        const size_t self = start + q;
        if (other != self) visit(self, other);
      }
  }
}


std::string hex64(uint64_t v) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// A lossless file: PNG/TIFF/GIF/BMP/RAW by format; a WebP only when its bitstream is VP8L
// (lossless) rather than VP8 (lossy), read from the RIFF chunks at the start of the file.
bool is_lossless(const Row& r) {
  const std::string f = search::normalize_format(r.format);
  if (f == "png" || f == "tiff" || f == "gif" || f == "bmp" || search::is_raw_format(f)) return true;
  if (f != "webp") return false;
  std::ifstream in(r.path, std::ios::binary);
  std::string head(4096, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(in.gcount()));
  size_t lossless = head.find("VP8L"), lossy = head.find("VP8 ");
  return lossless != std::string::npos && (lossy == std::string::npos || lossless < lossy);
}

// Hash of the fully decoded RGB pixels (orientation applied, alpha composited), with the
// dimensions; 0 when the file no longer decodes.
uint64_t pixel_hash(const std::string& path) {
  try {
    RgbImage img = decode_rgb(path, 0);
    std::string_view bytes(reinterpret_cast<const char*>(img.pixels.data()), img.pixels.size());
    uint64_t h = std::hash<std::string_view>{}(bytes);
    return h ^ (static_cast<uint64_t>(img.width) << 32 | static_cast<uint64_t>(img.height)) * 0x9E3779B97F4A7C15ull;
  } catch (const std::exception&) {
    return 0;
  }
}

// Links the candidate pairs whose decoded pixels are equal. Each photo is decoded once.
void link_identical_pixels(const std::vector<Row>& rows, const std::vector<std::pair<size_t, size_t>>& pairs,
                           std::vector<uint64_t>& pixel_hashes, const std::function<void(size_t, size_t)>& link) {
  for (auto [x, y] : pairs) {
    if (!pixel_hashes[x]) pixel_hashes[x] = pixel_hash(rows[x].path);
    if (!pixel_hashes[y]) pixel_hashes[y] = pixel_hash(rows[y].path);
    if (pixel_hashes[x] && pixel_hashes[x] == pixel_hashes[y]) link(x, y);
  }
}

// Two captures by one camera at different times are different frames (a burst, a bracket:
// see find_stacks), never near-duplicates, however alike; not even through a third photo
// that resembles both. Copies keep their capture time; exports that drop it have none and
// still link. Each union-find set keeps its cameras' capture times; a near link that would
// put two different times of one camera into one set is refused.
class FrameGuard {
 public:
  explicit FrameGuard(const std::vector<Row>& rows) : times_(rows.size()) {
    for (size_t i = 0; i < rows.size(); ++i)
      if (rows[i].capture_unix != 0 && !(rows[i].make.empty() && rows[i].model.empty()))
        times_[i][rows[i].make + "\n" + rows[i].model].insert(rows[i].capture_unix);
  }
  // Joins a and b. `checked`: only if no camera would get two capture times (near links).
  bool link(search::UnionFind& uf, size_t a, size_t b, bool checked) {
    size_t ra = uf.find(a), rb = uf.find(b);
    if (ra == rb) return true;
    if (checked)
      for (const auto& [camera, times] : times_[ra]) {
        auto it = times_[rb].find(camera);
        if (it != times_[rb].end() && it->second != times) return false;
      }
    uf.unite(a, b);
    size_t root = uf.find(a), other = root == ra ? rb : ra;
    for (auto& [camera, times] : times_[other]) times_[root][camera].insert(times.begin(), times.end());
    times_[other].clear();
    return true;
  }

 private:
  std::vector<std::map<std::string, std::set<int64_t>>> times_;  // per set root: camera -> times
};

}  // namespace

namespace {

int relation_rank(const std::string& r) {
  return r == "keeper" ? 0 : r == "identical_bytes" ? 1 : r == "identical_pixels" ? 2 : 3;
}

// What one find_duplicates call knows about its photos, for building groups.
struct DupeContext {
  const std::vector<Row>& rows;
  std::function<float(size_t, size_t)> cosine_of;
  search::UnionFind& bytes;   // identical bytes
  search::UnionFind& pixels;  // identical pixels (includes identical bytes)
  const std::vector<uint64_t>& pixel_hashes;
};

search::KeeperCandidate keeper_candidate(const Row& r) {
  search::KeeperCandidate c;
  c.id = r.id;
  c.width = r.width;
  c.height = r.height;
  c.format = r.format;
  c.capture_unix = r.capture_unix;
  c.path = r.path;
  c.file_size = r.file_size;
  c.lossless = is_lossless(r);
  c.metadata_fields = r.metadata_fields;
  return c;
}

// One member's relation to the keeper, with its evidence.
void describe_relation(DupeContext& ctx, size_t keeper, size_t m, DupeMember& out) {
  const Row& k = ctx.rows[keeper];
  const Row& r = ctx.rows[m];
  out.similarity = m == keeper ? 1.0f : std::clamp(ctx.cosine_of(keeper, m), 0.0f, 1.0f);
  if (k.has_phash && r.has_phash) out.phash_distance = search::hamming64(k.phash, r.phash);
  char buf[96];
  if (m == keeper) {
    out.relation = "keeper";
  } else if (ctx.bytes.find(m) == ctx.bytes.find(keeper)) {
    out.relation = "identical_bytes";
    out.evidence = "same content hash " + r.content_hash;
  } else if (ctx.pixels.find(m) == ctx.pixels.find(keeper)) {
    out.relation = "identical_pixels";
    std::snprintf(buf, sizeof buf, "decoded pixels equal: %dx%d, pixel hash ", r.width, r.height);
    out.evidence = buf + hex64(ctx.pixel_hashes[m]);
  } else {
    out.relation = "near";
    std::snprintf(buf, sizeof buf, "similarity %.3f", out.similarity);
    out.evidence = buf;
    if (out.phash_distance >= 0) out.evidence += ", pHash distance " + std::to_string(out.phash_distance) + " bits";
  }
}

DupeGroup make_group(DupeContext& ctx, const std::vector<size_t>& members) {
  std::vector<search::KeeperCandidate> cands;
  for (size_t m : members) cands.push_back(keeper_candidate(ctx.rows[m]));
  auto [best, reason] = search::choose_keeper(cands);
  const size_t keeper = members[best];
  DupeGroup g;
  g.keeper = ctx.rows[keeper].id;
  g.keeper_reason = reason;
  std::vector<std::pair<size_t, DupeMember>> out;  // (position in members, member)
  for (size_t i = 0; i < members.size(); ++i) {
    const size_t m = members[i];
    const Row& r = ctx.rows[m];
    DupeMember d;
    d.id = r.id;
    d.path = r.path;
    d.format = search::normalize_format(r.format);
    d.width = r.width;
    d.height = r.height;
    d.file_size = r.file_size;
    describe_relation(ctx, keeper, m, d);
    // A near member that is an identical copy of a better-ranked member says so: it is the
    // copy that is safe to delete first.
    if (d.relation == "near") {
      size_t best_copy = members.size();
      for (size_t j = 0; j < members.size(); ++j) {
        if (j == i || ctx.pixels.find(members[j]) != ctx.pixels.find(m)) continue;
        if (search::compare_keepers(cands[j], cands[i]) >= 0) continue;
        if (best_copy == members.size() || search::compare_keepers(cands[j], cands[best_copy]) < 0) best_copy = j;
      }
      if (best_copy != members.size()) {
        d.copy_of = ctx.rows[members[best_copy]].id;
        d.copy_kind = ctx.bytes.find(members[best_copy]) == ctx.bytes.find(m) ? "identical_bytes" : "identical_pixels";
      }
    }
    out.push_back({i, std::move(d)});
  }
  std::sort(out.begin(), out.end(), [&](const auto& a, const auto& b) {
    int ra = relation_rank(a.second.relation), rb = relation_rank(b.second.relation);
    if (ra != rb) return ra < rb;
    if (a.second.similarity != b.second.similarity) return a.second.similarity > b.second.similarity;
    return a.second.path < b.second.path;
  });
  int weakest = 0;
  for (auto& [i, d] : out) {
    weakest = std::max(weakest, relation_rank(d.relation));
    g.members.push_back(std::move(d));
  }
  g.kind = weakest <= 1 ? "identical_bytes" : weakest == 2 ? "identical_pixels" : "near";
  return g;
}

}  // namespace

std::vector<DupeGroup> find_duplicates(const Library& library, const DupeParams& params) {
  if (params.threshold <= 0 || params.threshold > 1)
    throw Error("duplicate threshold must be in (0, 1], got " + std::to_string(params.threshold),
                ErrorCode::InvalidArgument);
  const auto& lib = detail::internal(library);
  const int dim = lib.dim();

  std::vector<Row> rows = lib.catalog().duplicate_rows(params.filters);
  const size_t n = rows.size();
  std::unordered_map<int64_t, size_t> pos;
  std::vector<int64_t> ids(n);
  for (size_t i = 0; i < n; ++i) {
    pos[rows[i].id] = i;
    ids[i] = rows[i].id;
  }
  search::UnionFind all(n), bytes(n), pixels(n);
  FrameGuard frames(rows);
  std::vector<float> embs = lib.embeddings(ids);
  auto cosine_of = [&](size_t a, size_t b) { return search::dot(embs.data() + a * dim, embs.data() + b * dim, dim); };

  if (params.exact) {
    std::map<std::string, std::vector<size_t>> by_hash;
    for (size_t i = 0; i < n; ++i)
      if (!rows[i].content_hash.empty()) by_hash[rows[i].content_hash].push_back(i);
    for (const auto& [h, members] : by_hash)
      for (size_t j = 1; j < members.size(); ++j) {
        bytes.unite(members[0], members[j]);
        pixels.unite(members[0], members[j]);
        frames.link(all, members[0], members[j], /*checked=*/false);
      }
  }

  const int kn = std::max(1, params.max_neighbors) + 1;  // +1: the photo itself
  const bool filtered = !params.filters.empty();
  std::set<std::pair<size_t, size_t>> pixel_pairs;  // identical-pixel candidates
  std::vector<std::pair<size_t, size_t>> near_pairs;  // linked after the identical ones (FrameGuard)
  if ((params.near || params.exact) && n > 1) {
    for_each_neighbor(lib.semantic_store(), filtered, embs.data(), n, dim, kn, pos, [&](size_t self, size_t other) {
      // Exact cosine from the stored vectors, whatever the index's metric or compression.
      const float c = cosine_of(self, other);
      if (params.near && c >= params.threshold) near_pairs.push_back({self, other});
      const Row &a = rows[self], &b = rows[other];
      if (params.exact && c >= kPixelCandidateCosine && a.width == b.width && a.height == b.height &&
          a.has_phash && b.has_phash && search::hamming64(a.phash, b.phash) <= kPixelCandidateBits &&
          bytes.find(self) != bytes.find(other))
        pixel_pairs.insert({std::min(self, other), std::max(self, other)});
    });
  }
  std::vector<uint64_t> pixel_hashes(n, 0);
  if (params.exact)
    link_identical_pixels(rows, {pixel_pairs.begin(), pixel_pairs.end()}, pixel_hashes, [&](size_t a, size_t b) {
      pixels.unite(a, b);
      frames.link(all, a, b, /*checked=*/false);
    });
  // Strongest links first, ties by path: where FrameGuard refuses a link, which one wins must
  // not depend on catalog ids (indexing order).
  auto path_pair = [&](const std::pair<size_t, size_t>& p) {
    return std::minmax(rows[p.first].path, rows[p.second].path);
  };
  std::sort(near_pairs.begin(), near_pairs.end(), [&](const auto& x, const auto& y) {
    const float cx = cosine_of(x.first, x.second), cy = cosine_of(y.first, y.second);
    return cx != cy ? cx > cy : path_pair(x) < path_pair(y);
  });
  for (auto [a, b] : near_pairs) frames.link(all, a, b, /*checked=*/true);

  if (params.phash_max_distance >= 0 && n > 1) {
    std::vector<float> hists = lib.color_hists(ids);
    // The colour store's space: element-wise sqrt of each histogram (catalog/schema.h color_index_vector).
    for (size_t i = 0; i < n; ++i) {
      auto v = detail::color_index_query(hists.data() + i * search::kHistBins);
      std::copy(v.begin(), v.end(), hists.begin() + i * search::kHistBins);
    }
    for_each_neighbor(lib.color_store(), filtered, hists.data(), n, search::kHistBins, kn, pos, [&](size_t self, size_t other) {
      if (!rows[self].has_phash || !rows[other].has_phash) return;
      if (search::hamming64(rows[self].phash, rows[other].phash) <= params.phash_max_distance)
        frames.link(all, self, other, /*checked=*/true);
    });
  }

  // One group per linked set: a photo is in one group only.
  DupeContext ctx{rows, cosine_of, bytes, pixels, pixel_hashes};
  std::vector<DupeGroup> groups;
  for (const auto& members : all.groups(2)) groups.push_back(make_group(ctx, members));
  // Identical bytes (safe to clean up) first, then identical pixels, then near; largest first.
  std::stable_sort(groups.begin(), groups.end(), [](const DupeGroup& a, const DupeGroup& b) {
    if (a.kind != b.kind) return relation_rank(a.kind) < relation_rank(b.kind);
    if (a.members.size() != b.members.size()) return a.members.size() > b.members.size();
    return a.members[0].path < b.members[0].path;
  });
  return groups;
}

}  // namespace vf
