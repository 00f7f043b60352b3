// Stacks: RAW+JPEG pairs, bursts and exposure brackets (docs/search.md#stacks).
//
// RAW+JPEG: a RAW and another file in the same folder with the same stem (IMG_0001.CR2 +
// IMG_0001.JPG), or, when the names differ, the same capture second, camera model and camera
// serial (read with exiv2 for those candidates only). Bursts and brackets: photos of one
// camera (make + model) sorted by capture time; consecutive ones at most window_s apart whose
// embeddings have cosine >= min_similarity form a run. A run whose shutter times differ is a
// bracket. The pick: the RAW in a RAW+JPEG pair (the original); else the best product of
// relative sharpness (variance of the Laplacian on the stored preview) and exposure quality,
// measured on demand for stacked photos only (the preview is already decoded-size small).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <numeric>
#include <set>
#include <tuple>
#include <unordered_map>

#include "library/library_access.h"
#include "catalog/catalog_reader.h"
#include "search/search_internal.h"
#include "viewfinder/image.h"
#include "viewfinder/search.h"

namespace vf {

namespace {

using Row = catalog::DuplicateRow;
constexpr int kBracketPhashBits = 10;  // of 64: bracket frames of one scene (see find_stacks)

std::string lower_stem(const std::string& path) {
  std::string s = std::filesystem::path(path).stem().string();
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Sharpness and exposure of one photo's stored preview, or of the file reduced to the preview's
// size when it has none (previews are made at indexing only with `index --previews`): the same
// scale either way, so frames with and without a preview compare.
void measure(const Library& library, const Row& row, StackMember& m) {
  constexpr int kPreviewEdge = 1280;
  RgbImage img;
  try {
    if (auto rec = library.photo(row.id); rec && !rec->preview_path.empty() &&
                                          std::filesystem::exists(rec->preview_path))
      img = decode_rgb(rec->preview_path, 0);
    else
      img = decode_preview_rgb(row.path, kPreviewEdge);
  } catch (const std::exception&) {
    return;  // unmeasured: scores 0, never the pick unless alone
  }
  const int w = img.width, h = img.height;
  if (w < 3 || h < 3) return;
  std::vector<float> luma(static_cast<size_t>(w) * h);
  int64_t clipped = 0;
  double sum = 0;
  for (size_t i = 0; i < luma.size(); ++i) {
    const uint8_t* p = &img.pixels[i * 3];
    luma[i] = 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2];
    sum += luma[i];
    if (luma[i] <= 2.5f || luma[i] >= 252.5f) ++clipped;
  }
  double lsum = 0, lsq = 0;
  int64_t count = 0;
  for (int y = 1; y + 1 < h; ++y)
    for (int x = 1; x + 1 < w; ++x) {
      const size_t i = static_cast<size_t>(y) * w + x;
      const double lap = luma[i - 1] + luma[i + 1] + luma[i - w] + luma[i + w] - 4.0 * luma[i];
      lsum += lap;
      lsq += lap * lap;
      ++count;
    }
  const double mean_lap = lsum / count;
  m.sharpness = lsq / count - mean_lap * mean_lap;
  m.mean_luma = sum / luma.size();
  m.clipped = static_cast<double>(clipped) / luma.size();
  // 1 for no clipping and a mid-grey mean; each clipped percent costs 2 points, a mean far
  // from mid-grey up to half.
  m.exposure = std::clamp(1.0 - 2.0 * m.clipped - 0.5 * std::abs(m.mean_luma - 118.0) / 118.0, 0.0, 1.0);
}

StackMember member_of(const Row& r) {
  StackMember m;
  m.id = r.id;
  m.path = r.path;
  m.format = search::normalize_format(r.format);
  m.width = r.width;
  m.height = r.height;
  m.capture_unix = r.capture_unix;
  m.exposure_s = r.exposure_s;
  return m;
}

std::string fmt1(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// Chooses the pick of a burst or bracket and says why; members get their measurements.
void pick_by_quality(Stack& s) {
  double max_sharp = 0;
  for (const auto& m : s.members) max_sharp = std::max(max_sharp, m.sharpness);
  auto score = [&](const StackMember& m) { return (max_sharp > 0 ? m.sharpness / max_sharp : 0) * m.exposure; };
  size_t best = 0;
  for (size_t i = 1; i < s.members.size(); ++i) {
    const double a = score(s.members[i]), b = score(s.members[best]);
    if (a > b || (a == b && s.members[i].path < s.members[best].path)) best = i;
  }
  const auto& p = s.members[best];
  s.pick = p.id;
  const bool sharpest = p.sharpness >= max_sharp;
  double next_sharp = 0;
  for (size_t i = 0; i < s.members.size(); ++i)
    if (i != best) next_sharp = std::max(next_sharp, s.members[i].sharpness);
  std::string exposure = "exposure " + fmt1("%.2f", p.exposure) + " (mean " + fmt1("%.0f", p.mean_luma) +
                         ", clipped " + fmt1("%.1f%%", 100 * p.clipped) + ")";
  if (sharpest)
    s.pick_reason = "sharpest: Laplacian variance " + fmt1("%.0f", p.sharpness) + " over " +
                    fmt1("%.0f", next_sharp) + "; " + exposure;
  else
    s.pick_reason = "best sharpness x exposure: " + exposure + ", Laplacian variance " +
                    fmt1("%.0f", p.sharpness) + " (sharpest " + fmt1("%.0f", max_sharp) + ")";
  std::rotate(s.members.begin(), s.members.begin() + static_cast<long>(best), s.members.begin() + static_cast<long>(best) + 1);
}

// The RAW is the pick of a RAW+JPEG stack: the original; the JPEG is the camera's rendering of it.
Stack raw_jpeg_stack(const std::vector<Row>& rows, const std::vector<size_t>& members, const std::string& evidence) {
  Stack s;
  s.kind = "raw_jpeg";
  s.evidence = evidence;
  std::vector<size_t> sorted = members;
  std::sort(sorted.begin(), sorted.end(), [&](size_t a, size_t b) {
    const bool ra = search::is_raw_format(rows[a].format), rb = search::is_raw_format(rows[b].format);
    return ra != rb ? ra : rows[a].path < rows[b].path;
  });
  for (size_t i : sorted) s.members.push_back(member_of(rows[i]));
  s.pick = s.members[0].id;
  s.pick_reason = "the RAW original (" + s.members[0].format + "); the " + s.members[1].format +
                  " is the camera's rendering of the same frame";
  return s;
}

// RAW+JPEG pairs: the same folder and stem (capture times, where recorded, within the
// window); else the same capture second, camera and serial.
std::vector<Stack> raw_jpeg_stacks(const std::vector<Row>& rows, double window_s, std::vector<bool>& stacked) {
  std::vector<Stack> out;
  auto has_raw_and_other = [&](const std::vector<size_t>& m) {
    bool raw = false, other = false;
    for (size_t i : m) (search::is_raw_format(rows[i].format) ? raw : other) = true;
    return raw && other;
  };
  std::map<std::pair<std::string, std::string>, std::vector<size_t>> by_stem;
  for (size_t i = 0; i < rows.size(); ++i) by_stem[{rows[i].folder, lower_stem(rows[i].path)}].push_back(i);
  for (const auto& [key, members] : by_stem) {
    if (members.size() < 2 || !has_raw_and_other(members)) continue;
    // Cameras reuse file numbers (IMG_0001 after IMG_9999): recorded capture times must agree.
    int64_t first = 0, last = 0;
    for (size_t i : members)
      if (int64_t t = rows[i].capture_unix) first = first ? std::min(first, t) : t, last = std::max(last, t);
    if (static_cast<double>(last - first) > window_s) continue;
    out.push_back(raw_jpeg_stack(rows, members, "same folder and stem \"" + key.second + "\""));
    for (size_t i : members) stacked[i] = true;
  }
  // Different names: the same capture second and camera model, confirmed by the body serial.
  std::map<std::tuple<int64_t, std::string, std::string>, std::vector<size_t>> by_moment;
  for (size_t i = 0; i < rows.size(); ++i)
    if (!stacked[i] && rows[i].capture_unix != 0 && !rows[i].model.empty())
      by_moment[{rows[i].capture_unix, rows[i].make, rows[i].model}].push_back(i);
  for (const auto& [key, members] : by_moment) {
    if (members.size() < 2 || !has_raw_and_other(members)) continue;
    std::map<std::string, std::vector<size_t>> by_serial;
    for (size_t i : members) {
      std::string serial = read_camera_serial(rows[i].path);
      if (!serial.empty()) by_serial[serial].push_back(i);
    }
    for (const auto& [serial, same] : by_serial) {
      if (same.size() < 2 || !has_raw_and_other(same)) continue;
      out.push_back(raw_jpeg_stack(rows, same, "same capture time, camera " + rows[same[0]].model + " and serial " + serial));
      for (size_t i : same) stacked[i] = true;
    }
  }
  return out;
}

}  // namespace

std::vector<Stack> find_stacks(const Library& library, const StackParams& params) {
  if (params.window_s < 0 || params.window_s > 3600)
    throw Error("stack window must be in [0, 3600] seconds, got " + std::to_string(params.window_s),
                ErrorCode::InvalidArgument);
  if (params.min_similarity < 0 || params.min_similarity > 1)
    throw Error("stack similarity must be in [0, 1], got " + std::to_string(params.min_similarity),
                ErrorCode::InvalidArgument);
  const auto& lib = detail::internal(library);
  std::vector<Row> rows = lib.catalog().duplicate_rows(params.filters);
  std::vector<bool> stacked(rows.size(), false);
  std::vector<Stack> stacks;
  if (params.raw_jpeg) {
    stacks = raw_jpeg_stacks(rows, params.window_s, stacked);
    std::unordered_map<int64_t, size_t> row_of;
    for (size_t i = 0; i < rows.size(); ++i) row_of[rows[i].id] = i;
    for (auto& st : stacks)  // measured too, for the record (the pick is the RAW)
      for (auto& m : st.members) measure(library, rows[row_of[m.id]], m);
  }

  if (params.bursts) {
    // A byte-identical copy is not another frame (it is a duplicate): one file per content
    // hash, the first by path, takes part.
    std::vector<size_t> by_path(rows.size());
    std::iota(by_path.begin(), by_path.end(), size_t{0});
    std::sort(by_path.begin(), by_path.end(), [&](size_t a, size_t b) { return rows[a].path < rows[b].path; });
    std::set<std::string> hashes;
    std::vector<size_t> order;
    for (size_t i : by_path)
      if (!stacked[i] && rows[i].capture_unix != 0 && !(rows[i].make.empty() && rows[i].model.empty()) &&
          (rows[i].content_hash.empty() || hashes.insert(rows[i].content_hash).second))
        order.push_back(i);
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      const Row &x = rows[a], &y = rows[b];
      return std::tie(x.make, x.model, x.capture_unix, x.path) < std::tie(y.make, y.model, y.capture_unix, y.path);
    });
    std::vector<int64_t> ids;
    for (size_t i : order) ids.push_back(rows[i].id);
    const int dim = lib.dim();
    std::vector<float> embs = lib.embeddings(ids);
    auto cosine = [&](size_t a, size_t b) { return search::dot(embs.data() + a * dim, embs.data() + b * dim, dim); };
    // Consecutive frames belong together when their embeddings are close; bracket frames
    // (different shutter times) also when their perceptual hashes are: the pHash thresholds
    // at the median, so a change of exposure barely moves it, while it moves the embedding.
    auto alike = [&](const Row& a, const Row& b, float cos) {
      if (cos >= params.min_similarity) return true;
      return a.exposure_s && b.exposure_s && *a.exposure_s != *b.exposure_s && a.has_phash && b.has_phash &&
             search::hamming64(a.phash, b.phash) <= kBracketPhashBits;
    };
    size_t start = 0;
    for (size_t k = 1; k <= order.size(); ++k) {
      const bool joins = k < order.size() && rows[order[k]].make == rows[order[k - 1]].make &&
                         rows[order[k]].model == rows[order[k - 1]].model &&
                         rows[order[k]].capture_unix - rows[order[k - 1]].capture_unix <= params.window_s &&
                         alike(rows[order[k]], rows[order[k - 1]], cosine(k, k - 1));
      if (joins) continue;
      if (k - start >= 2) {
        Stack s;
        std::set<double> shutters;
        float min_cos = 1;
        int max_phash = -1;  // largest pHash distance of a pair joined by pHash, -1: none
        for (size_t j = start; j < k; ++j) {
          s.members.push_back(member_of(rows[order[j]]));
          measure(library, rows[order[j]], s.members.back());
          if (rows[order[j]].exposure_s) shutters.insert(*rows[order[j]].exposure_s);
          if (j == start) continue;
          const float c = std::clamp(cosine(j, j - 1), 0.0f, 1.0f);
          if (c >= params.min_similarity) min_cos = std::min(min_cos, c);
          else max_phash = std::max(max_phash, search::hamming64(rows[order[j]].phash, rows[order[j - 1]].phash));
        }
        s.kind = shutters.size() >= 2 ? "bracket" : "burst";
        const int64_t span = rows[order[k - 1]].capture_unix - rows[order[start]].capture_unix;
        s.evidence = std::to_string(k - start) + " frames from " + rows[order[start]].make + " " +
                     rows[order[start]].model + " within " + std::to_string(span) + " s";
        if (min_cos < 1 || max_phash < 0) s.evidence += ", similarity >= " + fmt1("%.3f", min_cos);
        if (max_phash >= 0) s.evidence += ", pHash distance <= " + std::to_string(max_phash) + " bits";
        if (shutters.size() >= 2) s.evidence += ", " + std::to_string(shutters.size()) + " shutter times";
        pick_by_quality(s);
        stacks.push_back(std::move(s));
      }
      start = k;
    }
  }
  std::stable_sort(stacks.begin(), stacks.end(), [](const Stack& a, const Stack& b) {
    return a.members[0].capture_unix != b.members[0].capture_unix ? a.members[0].capture_unix < b.members[0].capture_unix
                                                                  : a.members[0].path < b.members[0].path;
  });
  return stacks;
}

}  // namespace vf
