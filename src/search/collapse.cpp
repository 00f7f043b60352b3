// Collapsing search results: one hit per duplicate group and one per stack, decided among the
// query's candidates only (a few times k photos), so a search never pays for a walk over the
// whole library. The links are the ones find_duplicates and find_stacks make, with their
// default parameters: the same content hash, or embedding cosine >= the duplicate threshold
// between photos that are not different captures of one camera; a RAW and another file of one
// folder and stem; one camera's captures within the burst window and above the stack similarity.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>

#include "search/search_internal.h"

namespace vf::search {

namespace {

bool has_camera(const PhotoRecord& p) { return !(p.meta.make.empty() && p.meta.model.empty()); }
bool same_camera(const PhotoRecord& a, const PhotoRecord& b) {
  return has_camera(a) && a.meta.make == b.meta.make && a.meta.model == b.meta.model;
}
std::string lower_stem(const std::string& path) {
  std::string s = std::filesystem::path(path).stem().string();
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

Grouping to_grouping(UnionFind& uf, const std::vector<PhotoRecord>& photos) {
  Grouping g;
  for (const auto& members : uf.groups(2)) {
    std::vector<int64_t> ids;
    for (size_t m : members) {
      g.group_of[photos[m].id] = g.groups.size();
      ids.push_back(photos[m].id);
    }
    g.groups.push_back(std::move(ids));
  }
  return g;
}

}  // namespace

bool different_frames(const PhotoRecord& a, const PhotoRecord& b) {
  return a.meta.capture_unix != 0 && b.meta.capture_unix != 0 && a.meta.capture_unix != b.meta.capture_unix &&
         same_camera(a, b);
}

CandidateGroupings group_candidates(const std::vector<PhotoRecord>& photos, const float* embs, int dim) {
  const DupeParams dupe_defaults;
  const StackParams stack_defaults;
  const size_t n = photos.size();
  UnionFind dupes(n), stacks(n);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = i + 1; j < n; ++j) {
      const PhotoRecord &a = photos[i], &b = photos[j];
      const float cosine = dot(embs + i * dim, embs + j * dim, dim);
      const bool same_bytes = !a.meta.content_hash.empty() && a.meta.content_hash == b.meta.content_hash;
      if (same_bytes || (cosine >= dupe_defaults.threshold && !different_frames(a, b))) {
        dupes.unite(i, j);
        continue;  // a copy is not another frame
      }
      const bool times_agree = a.meta.capture_unix == 0 || b.meta.capture_unix == 0 ||
                               std::abs(static_cast<double>(a.meta.capture_unix - b.meta.capture_unix)) <= stack_defaults.window_s;
      const bool raw_pair = a.folder == b.folder && lower_stem(a.path) == lower_stem(b.path) &&
                            is_raw_format(a.meta.format) != is_raw_format(b.meta.format) && times_agree;
      const bool burst = same_camera(a, b) && a.meta.capture_unix != 0 && b.meta.capture_unix != 0 &&
                         std::abs(static_cast<double>(a.meta.capture_unix - b.meta.capture_unix)) <= stack_defaults.window_s &&
                         cosine >= stack_defaults.min_similarity;
      if (raw_pair || burst) stacks.unite(i, j);
    }
  return {to_grouping(dupes, photos), to_grouping(stacks, photos)};
}

}  // namespace vf::search
