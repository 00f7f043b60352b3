// Pure pieces of search: vector maths, colour targets, filter SQL, union-find, keeper rules,
// retrieval metrics and ground-truth loading. Nothing here touches a Library.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <set>
#include <sstream>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "search/search_internal.h"

namespace fs = std::filesystem;

namespace vf {

bool Filters::empty() const {
  return !date_from && !date_to && make.empty() && model.empty() && lens.empty() &&
         path_prefix.empty() && format.empty() && orientation.empty() && min_width <= 0 &&
         min_height <= 0 && !min_rating && !gps_bbox;
}

namespace search {

std::vector<std::pair<std::string, Filters>> split_filters(const Filters& f) {
  std::vector<std::pair<std::string, Filters>> out;
  auto add = [&](const std::string& name, auto set) {
    Filters one;
    set(one);
    out.emplace_back(name, std::move(one));
  };
  auto text = [](const std::string& v, bool exact) { return (exact ? "=" : "") + v; };
  auto dated = [&](Filters& o) { o.include_file_times = f.include_file_times; };
  if (f.date_from) add("date_from=" + std::to_string(*f.date_from), [&](Filters& o) { o.date_from = f.date_from, dated(o); });
  if (f.date_to) add("date_to=" + std::to_string(*f.date_to), [&](Filters& o) { o.date_to = f.date_to, dated(o); });
  if (!f.make.empty()) add("make=" + text(f.make, f.make_exact), [&](Filters& o) { o.make = f.make, o.make_exact = f.make_exact; });
  if (!f.model.empty())
    add("model=" + text(f.model, f.model_exact), [&](Filters& o) { o.model = f.model, o.model_exact = f.model_exact; });
  if (!f.lens.empty()) add("lens=" + text(f.lens, f.lens_exact), [&](Filters& o) { o.lens = f.lens, o.lens_exact = f.lens_exact; });
  if (!f.path_prefix.empty()) add("folder=" + f.path_prefix, [&](Filters& o) { o.path_prefix = f.path_prefix; });
  if (!f.format.empty()) add("format=" + f.format, [&](Filters& o) { o.format = f.format; });
  if (!f.orientation.empty()) add("orientation=" + f.orientation, [&](Filters& o) { o.orientation = f.orientation; });
  if (f.min_width > 0) add("min_width=" + std::to_string(f.min_width), [&](Filters& o) { o.min_width = f.min_width; });
  if (f.min_height > 0) add("min_height=" + std::to_string(f.min_height), [&](Filters& o) { o.min_height = f.min_height; });
  if (f.min_rating) add("min_rating=" + std::to_string(*f.min_rating), [&](Filters& o) { o.min_rating = f.min_rating; });
  if (f.gps_bbox) {
    auto& b = *f.gps_bbox;
    char buf[128];
    std::snprintf(buf, sizeof buf, "gps_bbox=%g,%g,%g,%g", b[0], b[1], b[2], b[3]);
    add(buf, [&](Filters& o) { o.gps_bbox = f.gps_bbox; });
  }
  return out;
}

}  // namespace search

std::optional<float> preset_alpha(const std::string& name) {
  std::string n;
  for (char c : name) n += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (n == "portrait" || n == "portraits") return 0.9f;
  if (n == "landscape" || n == "landscapes") return 0.6f;
  if (n == "product" || n == "products") return 0.3f;
  return std::nullopt;
}

// ---- metrics ---------------------------------------------------------------------------------
namespace {
int hits_in_top(const std::vector<std::string>& ranked, const std::unordered_set<std::string>& rel,
                int k) {
  int hits = 0;
  for (int i = 0; i < k && i < static_cast<int>(ranked.size()); ++i) hits += rel.count(ranked[i]);
  return hits;
}
}  // namespace

double precision_at_k(const std::vector<std::string>& ranked,
                      const std::vector<std::string>& relevant, int k) {
  if (k <= 0) return 0;
  std::unordered_set<std::string> rel(relevant.begin(), relevant.end());
  // Divides by k even when fewer than k results came back: a short list is not rewarded.
  return static_cast<double>(hits_in_top(ranked, rel, k)) / k;
}

double recall_at_k(const std::vector<std::string>& ranked, const std::vector<std::string>& relevant,
                   int k) {
  std::unordered_set<std::string> rel(relevant.begin(), relevant.end());
  if (rel.empty()) return 0;
  return static_cast<double>(hits_in_top(ranked, rel, k)) / rel.size();
}

double average_precision(const std::vector<std::string>& ranked,
                         const std::vector<std::string>& relevant) {
  std::unordered_set<std::string> rel(relevant.begin(), relevant.end());
  if (rel.empty()) return 0;
  double sum = 0;
  int hits = 0;
  std::unordered_set<std::string> seen;  // a duplicate in the ranking counts once
  for (size_t i = 0; i < ranked.size(); ++i) {
    if (!rel.count(ranked[i]) || !seen.insert(ranked[i]).second) continue;
    ++hits;
    sum += static_cast<double>(hits) / (i + 1);
  }
  // Relevant items never retrieved contribute precision 0 (standard non-interpolated AP).
  return sum / rel.size();
}

// ---- ground truth ----------------------------------------------------------------------------
namespace search {

std::string resolve_truth_path(const std::string& path, const std::string& base) {
  fs::path p(path);
  if (p.is_absolute()) return p.lexically_normal().string();
  fs::path direct = (fs::path(base) / p).lexically_normal();
  if (fs::exists(direct)) return direct.string();
  std::error_code ec;
  std::vector<fs::path> subdirs;
  for (const auto& entry : fs::directory_iterator(base, ec))
    if (entry.is_directory()) subdirs.push_back(entry.path());
  std::sort(subdirs.begin(), subdirs.end());
  for (const auto& d : subdirs) {
    fs::path candidate = (d / p).lexically_normal();
    if (fs::exists(candidate)) return candidate.string();
  }
  return direct.string();  // missing: reported by evaluate() as not in the library
}

}  // namespace search

namespace {

std::string label_text(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_object()) {  // {"class_id": 0, "class_name": "daffodil"} (flowers17 labels.json)
    for (const char* key : {"class_id", "class", "label", "class_name", "category"})
      if (v.contains(key)) return label_text(v[key]);
  }
  return v.dump();
}

GroundTruth from_labels(const std::vector<std::pair<std::string, std::string>>& labels) {
  std::map<std::string, std::vector<std::string>> by_class;
  for (const auto& [path, label] : labels) by_class[label].push_back(path);
  GroundTruth truth;
  for (const auto& [path, label] : labels) {
    auto& rel = truth.queries[path];
    for (const auto& other : by_class[label])
      if (other != path) rel.push_back(other);
  }
  return truth;
}

GroundTruth from_groups(const std::vector<std::vector<std::string>>& groups) {
  GroundTruth truth;
  for (const auto& g : groups)
    for (const auto& q : g) {
      auto& rel = truth.queries[q];
      for (const auto& other : g)
        if (other != q) rel.push_back(other);
    }
  return truth;
}

}  // namespace

GroundTruth load_ground_truth(const std::string& file, const std::string& base_dir) {
  std::ifstream in(file);
  if (!in) throw Error(file + ": cannot open ground-truth file", ErrorCode::NotFound);
  std::string base = base_dir.empty() ? fs::absolute(file).parent_path().string()
                                      : fs::absolute(base_dir).string();
  // Each distinct path is resolved once (a labels file names every image ~40 times).
  std::map<std::string, std::string> resolved;
  auto resolve = [&](const std::string& p) {
    auto it = resolved.find(p);
    if (it == resolved.end()) it = resolved.emplace(p, search::resolve_truth_path(p, base)).first;
    return it->second;
  };

  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t first = text.find_first_not_of(" \t\r\n");
  GroundTruth raw;
  if (first != std::string::npos && text[first] == '{') {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(text);
    } catch (const std::exception& e) {
      throw Error(file + ": invalid JSON: " + e.what(), ErrorCode::InvalidArgument);
    }
    if (j.contains("queries")) {
      if (!j["queries"].is_object())
        throw Error(file + ": \"queries\" must be an object of query -> [relevant...]",
                    ErrorCode::InvalidArgument);
      for (const auto& [q, rel] : j["queries"].items()) {
        if (!rel.is_array())
          throw Error(file + ": relevant list of \"" + q + "\" is not an array",
                      ErrorCode::InvalidArgument);
        auto& out = raw.queries[q];
        for (const auto& r : rel) out.push_back(r.is_string() ? r.get<std::string>() : r.dump());
      }
    } else if (j.contains("near_duplicate_groups") || j.contains("groups")) {
      // {"groups": {name: [paths]}}: every member is relevant to every other member.
      const auto& g = j.contains("groups") ? j["groups"] : j["near_duplicate_groups"];
      std::vector<std::vector<std::string>> groups;
      for (const auto& [name, members] : g.items()) {
        std::vector<std::string> paths;
        for (const auto& m : members) paths.push_back(m.get<std::string>());
        groups.push_back(paths);
      }
      raw = from_groups(groups);
    } else {
      // {"labels": {path: class}} or a bare {path: class | {"class_id": ...}} object.
      const auto& l = j.contains("labels") ? j["labels"] : j;
      if (!l.is_object())
        throw Error(file + ": expected \"queries\", \"labels\" or \"groups\"",
                    ErrorCode::InvalidArgument);
      std::vector<std::pair<std::string, std::string>> labels;
      for (const auto& [path, v] : l.items()) labels.emplace_back(path, label_text(v));
      raw = from_labels(labels);
    }
  } else {
    // TSV: path<TAB>label[<TAB>more...]; a first line starting with a column name is a header
    // (flowers17/labels.tsv: "image  class_id  class_name").
    std::vector<std::pair<std::string, std::string>> labels;
    std::istringstream lines(text);
    std::string line;
    int lineno = 0;
    while (std::getline(lines, line)) {
      ++lineno;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty() || line[0] == '#') continue;
      auto tab = line.find('\t');
      if (tab == std::string::npos)
        throw Error(file + ":" + std::to_string(lineno) + ": expected path<TAB>label",
                    ErrorCode::InvalidArgument);
      std::string path = line.substr(0, tab);
      std::string rest = line.substr(tab + 1);
      std::string label = rest.substr(0, rest.find('\t'));
      if (labels.empty() && lineno == 1) {
        std::string lower;
        for (char c : path) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (lower == "image" || lower == "path" || lower == "file" || lower == "filename" ||
            lower == "name")
          continue;
      }
      labels.emplace_back(path, label);
    }
    if (labels.empty()) throw Error(file + ": no labels found", ErrorCode::InvalidArgument);
    raw = from_labels(labels);
  }

  GroundTruth truth;
  for (const auto& [q, rel] : raw.queries) {
    auto& out = truth.queries[resolve(q)];
    for (const auto& r : rel) out.push_back(resolve(r));
  }
  return truth;
}

namespace search {

// ---- vectors ---------------------------------------------------------------------------------
float dot(const float* a, const float* b, int n) {
  float s = 0;
  for (int i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

bool l2_normalize(float* v, int n) {
  double s = 0;
  for (int i = 0; i < n; ++i) s += static_cast<double>(v[i]) * v[i];
  if (s <= 1e-20) {
    std::fill(v, v + n, 0.0f);
    return false;
  }
  float inv = static_cast<float>(1.0 / std::sqrt(s));
  for (int i = 0; i < n; ++i) v[i] *= inv;
  return true;
}

std::vector<float> combine_examples(const std::vector<float>& positives,
                                    const std::vector<float>& negatives, int dim,
                                    float negative_weight) {
  size_t np = dim ? positives.size() / dim : 0, nn = dim ? negatives.size() / dim : 0;
  if (np == 0) return {};
  std::vector<float> q(dim, 0.0f);
  for (size_t r = 0; r < np; ++r)
    for (int i = 0; i < dim; ++i) q[i] += positives[r * dim + i] / np;
  for (size_t r = 0; r < nn; ++r)
    for (int i = 0; i < dim; ++i) q[i] -= negative_weight * negatives[r * dim + i] / nn;
  if (!l2_normalize(q.data(), dim)) return {};
  return q;
}

float histogram_intersection(const float* a, const float* b) {
  float s = 0;
  for (int i = 0; i < kHistBins; ++i) s += std::min(a[i], b[i]);
  return s;
}

std::array<uint8_t, 3> parse_hex_color(const std::string& text) {
  std::string h = text;
  if (!h.empty() && h[0] == '#') h = h.substr(1);
  auto bad = [&] {
    return Error("bad colour \"" + text + "\": expected #rrggbb or #rgb", ErrorCode::InvalidArgument);
  };
  if (h.size() == 3) h = {h[0], h[0], h[1], h[1], h[2], h[2]};
  if (h.size() != 6) throw bad();
  for (char c : h)
    if (!std::isxdigit(static_cast<unsigned char>(c))) throw bad();
  std::array<uint8_t, 3> rgb{};
  for (int i = 0; i < 3; ++i) rgb[i] = static_cast<uint8_t>(std::stoi(h.substr(2 * i, 2), nullptr, 16));
  return rgb;
}

std::array<float, kHistBins> palette_histogram(const std::vector<std::array<uint8_t, 3>>& colors,
                                               float smooth) {
  std::array<float, kHistBins> hist{};
  if (colors.empty()) return hist;
  smooth = std::clamp(smooth, 0.0f, 1.0f);
  const float per_color = 1.0f / colors.size();
  for (const auto& c : colors) {
    // Same binning as the ingest histogram: value >> 5 (8 levels per channel).
    int r = c[0] >> 5, g = c[1] >> 5, b = c[2] >> 5;
    std::vector<int> neighbours;
    for (int dr = -1; dr <= 1; ++dr)
      for (int dg = -1; dg <= 1; ++dg)
        for (int db = -1; db <= 1; ++db) {
          if (!dr && !dg && !db) continue;
          int rr = r + dr, gg = g + dg, bb = b + db;
          if (rr < 0 || rr > 7 || gg < 0 || gg > 7 || bb < 0 || bb > 7) continue;
          neighbours.push_back(rr * 64 + gg * 8 + bb);
        }
    float spread = neighbours.empty() ? 0.0f : smooth;
    hist[r * 64 + g * 8 + b] += per_color * (1.0f - spread);
    for (int n : neighbours) hist[n] += per_color * spread / neighbours.size();
  }
  return hist;
}

void coarse_color_vector(const float* h, float* out) {
  std::fill(out, out + 64, 0.0f);
  for (int r = 0; r < 8; ++r)
    for (int g = 0; g < 8; ++g)
      for (int b = 0; b < 8; ++b) out[(r >> 1) * 16 + (g >> 1) * 4 + (b >> 1)] += h[r * 64 + g * 8 + b];
  for (int i = 0; i < 64; ++i) out[i] = std::sqrt(std::max(0.0f, out[i]));
}

// ---- duplicates ------------------------------------------------------------------------------
UnionFind::UnionFind(size_t n) : parent_(n), rank_(n, 0) {
  std::iota(parent_.begin(), parent_.end(), size_t{0});
}

size_t UnionFind::find(size_t x) {
  while (parent_[x] != x) {
    parent_[x] = parent_[parent_[x]];  // path halving
    x = parent_[x];
  }
  return x;
}

bool UnionFind::unite(size_t a, size_t b) {
  a = find(a);
  b = find(b);
  if (a == b) return false;
  if (rank_[a] < rank_[b]) std::swap(a, b);
  parent_[b] = a;
  if (rank_[a] == rank_[b]) ++rank_[a];
  return true;
}

std::vector<std::vector<size_t>> UnionFind::groups(size_t min_size) {
  std::map<size_t, std::vector<size_t>> by_root;
  for (size_t i = 0; i < parent_.size(); ++i) by_root[find(i)].push_back(i);
  std::vector<std::vector<size_t>> out;
  for (auto& [root, members] : by_root)
    if (members.size() >= min_size) out.push_back(std::move(members));
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a[0] < b[0]; });
  return out;
}

int hamming64(uint64_t a, uint64_t b) { return __builtin_popcountll(a ^ b); }

}  // namespace search
}  // namespace vf
