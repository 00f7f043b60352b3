// Cluster labels: only facts that at least half of the members carry make it into a label, so
// a label never claims a meaning the data does not support. Folder names are not used: they
// are the user's filing, often technical ("exif", "DCIM", "import"), and say nothing about
// what the photos show.
#include "search/cluster_labels.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>
#include <set>

namespace vf::search {

namespace {

constexpr double kMostMembers = 0.5;   // a fact needs at least this share of the members
constexpr double kPlaceRadiusKm = 25;  // members within this of the centroid are "there"
constexpr double kEarthRadiusKm = 6371;

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::tm utc_tm(int64_t t) {
  time_t tt = static_cast<time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  return tm;
}

const char* month_name(int m) {
  static const char* names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  return names[m % 12];
}

// The most common value and how many members carry it.
std::pair<std::string, int> most_common(const std::vector<const MemberFacts*>& members,
                                        std::string MemberFacts::*field) {
  std::map<std::string, int> count;
  for (const auto* m : members)
    if (!(m->*field).empty()) ++count[m->*field];
  std::pair<std::string, int> best{"", 0};
  for (const auto& [value, c] : count)
    if (c > best.second) best = {value, c};
  return best;
}

// The 10th..90th percentile of the capture dates, in words, when it covers most members.
std::optional<ClusterFact> date_fact(const std::vector<const MemberFacts*>& members) {
  std::vector<int64_t> times;
  for (const auto* m : members)
    if (m->capture_unix) times.push_back(m->capture_unix);
  if (times.empty()) return std::nullopt;
  std::sort(times.begin(), times.end());
  const int64_t lo = times[static_cast<size_t>(0.1 * double(times.size() - 1))];
  const int64_t hi = times[static_cast<size_t>(0.9 * double(times.size() - 1) + 0.5)];
  const double share = double(std::count_if(times.begin(), times.end(),
                                             [&](int64_t t) { return t >= lo && t <= hi; })) /
                       double(members.size());
  if (share < kMostMembers) return std::nullopt;
  std::tm a = utc_tm(lo), b = utc_tm(hi);
  char buf[64];
  if (a.tm_year == b.tm_year && a.tm_mon == b.tm_mon && a.tm_mday == b.tm_mday)
    std::snprintf(buf, sizeof buf, "%d %s %d", a.tm_mday, month_name(a.tm_mon), a.tm_year + 1900);
  else if (a.tm_year == b.tm_year && a.tm_mon == b.tm_mon)
    std::snprintf(buf, sizeof buf, "%s %d", month_name(a.tm_mon), a.tm_year + 1900);
  else if (a.tm_year == b.tm_year)
    std::snprintf(buf, sizeof buf, "%s\u2013%s %d", month_name(a.tm_mon), month_name(b.tm_mon), a.tm_year + 1900);
  else if (b.tm_year - a.tm_year <= 3)
    std::snprintf(buf, sizeof buf, "%d\u2013%d", a.tm_year + 1900, b.tm_year + 1900);
  else
    return std::nullopt;  // a decade-wide range is no shared moment
  return ClusterFact{"dates", buf, share};
}

struct Vec3 {
  double x = 0, y = 0, z = 0;
};
Vec3 unit_vector(double lat, double lon) {
  const double la = lat * M_PI / 180, lo = lon * M_PI / 180;
  return {std::cos(la) * std::cos(lo), std::cos(la) * std::sin(lo), std::sin(la)};
}
double km_between(const Vec3& a, const Vec3& b) {
  double d = std::clamp(a.x * b.x + a.y * b.y + a.z * b.z, -1.0, 1.0);
  return std::acos(d) * kEarthRadiusKm;
}

// The GPS centroid (mean on the sphere, so clusters across the antimeridian work), when most
// members were taken within kPlaceRadiusKm of it; rounded to what the spread supports.
std::optional<ClusterFact> place_fact(const std::vector<const MemberFacts*>& members) {
  std::vector<Vec3> points;
  Vec3 sum;
  for (const auto* m : members)
    if (m->lat && m->lon) {
      points.push_back(unit_vector(*m->lat, *m->lon));
      sum.x += points.back().x, sum.y += points.back().y, sum.z += points.back().z;
    }
  if (double(points.size()) < kMostMembers * double(members.size())) return std::nullopt;
  const double len = std::sqrt(sum.x * sum.x + sum.y * sum.y + sum.z * sum.z);
  if (len < 1e-9) return std::nullopt;
  const Vec3 c{sum.x / len, sum.y / len, sum.z / len};
  int near = 0;
  double spread = 0;
  for (const auto& p : points) {
    double km = km_between(p, c);
    if (km <= kPlaceRadiusKm) ++near, spread = std::max(spread, km);
  }
  const double share = double(near) / double(members.size());
  if (share < kMostMembers) return std::nullopt;
  const double lat = std::asin(c.z) * 180 / M_PI, lon = std::atan2(c.y, c.x) * 180 / M_PI;
  // 0.01 deg is ~1 km: no more digits than the photos' spread justifies.
  const int digits = spread < 1.5 ? 2 : spread < 15 ? 1 : 0;
  char buf[64];
  std::snprintf(buf, sizeof buf, "around %.*f%c %.*f%c", digits, std::fabs(lat), lat >= 0 ? 'N' : 'S',
                digits, std::fabs(lon), lon >= 0 ? 'E' : 'W');
  return ClusterFact{"place", buf, share};
}

// Values (keywords, colour names) each carried by most members, most common first.
std::vector<std::pair<std::string, int>> shared_values(const std::vector<const MemberFacts*>& members,
                                                       std::vector<std::string> MemberFacts::*field,
                                                       size_t at_most) {
  std::map<std::string, int> count;
  for (const auto* m : members)
    for (const auto& v : std::set<std::string>((m->*field).begin(), (m->*field).end())) ++count[v];
  std::vector<std::pair<std::string, int>> out;
  for (const auto& [v, c] : count)
    if (c >= kMostMembers * double(members.size())) out.emplace_back(v, c);
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  if (out.size() > at_most) out.resize(at_most);
  return out;
}

std::optional<ClusterFact> joined_fact(const char* kind, const std::vector<std::pair<std::string, int>>& values,
                                       const char* separator, const char* prefix, size_t members) {
  if (values.empty()) return std::nullopt;
  std::string text = prefix;
  int least = values.front().second;
  for (size_t i = 0; i < values.size(); ++i) {
    text += (i ? separator : "") + values[i].first;
    least = std::min(least, values[i].second);
  }
  return ClusterFact{kind, text, double(least) / double(members)};
}

}  // namespace

std::string camera_name(const std::string& make, const std::string& model) {
  std::string mk = trim(make), md = trim(model);
  if (md.empty()) return mk;
  const std::string lmk = lower(mk), lmd = lower(md);
  if (!lmk.empty() && lmd.rfind(lmk, 0) == 0) return md;  // "Canon" + "Canon EOS 5D"
  // "NIKON CORPORATION" + "NIKON D800E": the model already names the maker.
  const std::string first_word = lmk.substr(0, lmk.find(' '));
  if (!first_word.empty() && lmd.rfind(first_word, 0) == 0) return md;
  return mk.empty() ? md : mk + " " + md;
}

std::string colour_name(int r, int g, int b) {
  const int mx = std::max({r, g, b}), mn = std::min({r, g, b});
  const double v = mx / 255.0, s = mx ? double(mx - mn) / mx : 0;
  if (v < 0.2) return "black";
  if (s < 0.2 || (s < 0.3 && v < 0.45)) return v > 0.8 ? "white" : "grey";
  double h = 0;
  const double d = mx - mn;
  if (mx == r) h = 60 * std::fmod((g - b) / d + 6, 6.0);
  else if (mx == g) h = 60 * ((b - r) / d + 2);
  else h = 60 * ((r - g) / d + 4);
  if (h < 15 || h >= 340) return v < 0.5 && s < 0.7 ? "brown" : "red";
  if (h < 45) return v < 0.65 ? "brown" : "orange";
  if (h < 70) return v < 0.5 ? "brown" : "yellow";
  if (h < 165) return "green";
  if (h < 195) return "teal";
  if (h < 255) return "blue";
  if (h < 290) return "purple";
  return "pink";
}

std::vector<std::string> dominant_colours(const float* hist512) {
  std::map<std::string, double> mass;
  for (int i = 0; i < 512; ++i) {
    if (hist512[i] <= 0) continue;
    // Bin centres: each channel's 8 bins are 32 levels wide.
    mass[colour_name((i / 64) * 32 + 16, ((i / 8) % 8) * 32 + 16, (i % 8) * 32 + 16)] += hist512[i];
  }
  std::vector<std::pair<double, std::string>> ranked;
  for (const auto& [name, m] : mass)
    if (m >= 0.2) ranked.emplace_back(-m, name);
  std::sort(ranked.begin(), ranked.end());
  std::vector<std::string> out;
  for (size_t i = 0; i < ranked.size() && i < 2; ++i) out.push_back(ranked[i].second);
  return out;
}

std::vector<ClusterFact> shared_facts(const std::vector<const MemberFacts*>& members) {
  std::vector<ClusterFact> facts;
  if (members.empty()) return facts;
  const double n = double(members.size());
  if (auto f = date_fact(members)) facts.push_back(*f);
  if (auto f = place_fact(members)) facts.push_back(*f);
  auto [camera, cameras] = most_common(members, &MemberFacts::camera);
  if (cameras >= kMostMembers * n) facts.push_back({"camera", camera, cameras / n});
  auto [lens, lenses] = most_common(members, &MemberFacts::lens);
  if (lenses >= kMostMembers * n) facts.push_back({"lens", lens, lenses / n});
  if (auto f = joined_fact("keywords", shared_values(members, &MemberFacts::keywords, 3), ", ", "", members.size()))
    facts.push_back(*f);
  if (auto f = joined_fact("colours", shared_values(members, &MemberFacts::colours, 2), " and ", "mostly ",
                           members.size()))
    facts.push_back(*f);
  return facts;
}

std::string label_from_facts(const std::vector<ClusterFact>& facts) {
  if (facts.empty()) return "no shared metadata";
  std::string label;
  for (size_t i = 0; i < facts.size(); ++i) label += (i ? " \u00b7 " : "") + facts[i].text;
  return label;
}

}  // namespace vf::search
