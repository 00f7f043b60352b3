// Pure building blocks of src/search, kept apart from the Library so that unit tests can check
// the maths (fusion, colour targets, filter SQL, union-find, keeper rules) on hand-made inputs.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "catalog/filter_sql.h"
#include "viewfinder/search.h"

namespace vf::search {

constexpr int kHistBins = 512;  // 8x8x8 RGB, index r*64 + g*8 + b (see image.h)

// ---- vectors -----------------------------------------------------------------------------
float dot(const float* a, const float* b, int n);
// Normalises in place; returns false (leaving zeros) when the vector has no length.
bool l2_normalize(float* v, int n);

// The rclip-style combination of examples: mean(positives) - negative_weight * mean(negatives),
// re-normalised. Rows are `dim` floats each. Empty result when there are no positives or the
// combination cancels out.
std::vector<float> combine_examples(const std::vector<float>& positives,
                                    const std::vector<float>& negatives, int dim,
                                    float negative_weight);

// Histogram intersection sum(min(a, b)) of two L1-normalised histograms: 1 for identical colour
// distributions, 0 for disjoint ones. Chosen over cosine/L2 because it is what the colour
// histogram literature (Swain & Ballard) uses for colour matching, it is bounded in [0,1] like
// a probability mass overlap, and a small coloured region matches a palette proportionally.
float histogram_intersection(const float* a, const float* b);

// The fused hybrid score (spec 5.1).
inline float fuse(float alpha, float semantic, float color) {
  return alpha * semantic + (1.0f - alpha) * color;
}

// "#ff0000", "ff0000", "#f00" -> RGB. Throws vf::Error(InvalidArgument) naming the text.
std::array<uint8_t, 3> parse_hex_color(const std::string& text);
// A target histogram for a palette: each colour puts equal mass in its 8x8x8 bin; with
// `smooth` > 0 that fraction of each colour's mass is spread evenly over the (up to 26)
// neighbouring bins, so that a shade just across a bin edge still matches. L1-normalised.
std::array<float, kHistBins> palette_histogram(const std::vector<std::array<uint8_t, 3>>& colors,
                                               float smooth = 0.2f);

// The 4x4x4 coarse histogram of a 512-bin one (sums of 2x2x2 blocks), element-wise sqrt: unit
// L2 norm for an L1-normalised input, so inner products are Bhattacharyya coefficients.
void coarse_color_vector(const float* hist512, float* out64);

// ---- filters (owned by src/catalog; re-exported for the search code and its tests) ----------
using catalog::SqlValue;
using catalog::SqlWhere;
using catalog::build_filter_sql;
using catalog::normalize_format;
using catalog::is_raw_format;

// ---- duplicates --------------------------------------------------------------------------
class UnionFind {
 public:
  explicit UnionFind(size_t n);
  size_t find(size_t x);
  bool unite(size_t a, size_t b);  // true if they were in different sets
  // Sets with at least `min_size` members, each sorted, ordered by their smallest member.
  std::vector<std::vector<size_t>> groups(size_t min_size = 2);

 private:
  std::vector<size_t> parent_, rank_;
};

struct KeeperCandidate {
  int64_t id = 0;
  int width = 0, height = 0;
  std::string format;
  int64_t capture_unix = 0;  // 0: unknown
  std::string path;
  int64_t file_size = 0;
  bool lossless = false;     // PNG, TIFF, RAW, GIF, BMP, lossless WebP (see keeper.cpp)
  int metadata_fields = 0;   // EXIF fields present, + GPS, rating, keywords
};
// Which copy to keep, for a photographer's reason and never by id (so the choice does not
// depend on indexing order). Rules in order (docs/search.md#keeper):
//   1. RAW over other formats (the camera original);
//   2. more pixels (a smaller copy is a derivative);
//   3. lossless over lossy at equal pixels;
//   4. the larger file at equal pixels among lossy copies (less compressed);
//   5. richer metadata (more EXIF fields, GPS, rating, keywords);
//   6. the earliest capture time (unknown sorts last);
//   7. the path, as the last and stable tie-break.
// Returns the index into `members` and the rule that beat the runner-up, with its values.
std::pair<size_t, std::string> choose_keeper(const std::vector<KeeperCandidate>& members);
// Orders two candidates by the rules above: < 0 when `a` is the better keeper.
int compare_keepers(const KeeperCandidate& a, const KeeperCandidate& b);

int hamming64(uint64_t a, uint64_t b);

// ---- collapsing search results (collapse.cpp) -----------------------------------------------
// Which of a query's candidates belong together: group_of maps a member's id to its group.
struct Grouping {
  std::unordered_map<int64_t, size_t> group_of;
  std::vector<std::vector<int64_t>> groups;
};
struct CandidateGroupings {
  Grouping duplicates, stacks;
};
// `embs`: one L2-normalised row of `dim` floats per photo. Pairwise over the candidates only.
CandidateGroupings group_candidates(const std::vector<PhotoRecord>& photos, const float* embs, int dim);
// Two captures of one camera at different times: different frames, never duplicates.
bool different_frames(const PhotoRecord& a, const PhotoRecord& b);

// ---- evaluation --------------------------------------------------------------------------
// Resolves a ground-truth path: absolute paths as they are; relative ones against `base`, or,
// when not there, against each immediate sub-directory of `base` (labels files often sit
// next to an images/ folder). Returns the lexically normal absolute path.
std::string resolve_truth_path(const std::string& path, const std::string& base);

// Each filter of `f` on its own, named "key=value" in the filter parser's words.
std::vector<std::pair<std::string, Filters>> split_filters(const Filters& f);

}  // namespace vf::search
