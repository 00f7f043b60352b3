// The keeper of a duplicate group: the copy a photographer keeps (search_internal.h lists the
// rules; docs/search.md#keeper explains them). No rule looks at the catalog id, so the same
// files indexed in any order give the same keeper.
#include <cstdio>
#include <ctime>
#include <functional>
#include <limits>

#include "search/search_internal.h"

namespace vf::search {

namespace {

int64_t pixels(const KeeperCandidate& c) { return static_cast<int64_t>(c.width) * c.height; }
bool is_raw(const KeeperCandidate& c) { return is_raw_format(c.format); }
int64_t when(const KeeperCandidate& c) {
  return c.capture_unix ? c.capture_unix : std::numeric_limits<int64_t>::max();
}
std::string fmt(const KeeperCandidate& c) { return c.format.empty() ? "unknown format" : normalize_format(c.format); }
std::string dims(const KeeperCandidate& c) { return std::to_string(c.width) + "x" + std::to_string(c.height); }
std::string kb(int64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f KB", static_cast<double>(bytes) / 1024.0);
  return buf;
}
std::string utc(int64_t t) {
  char buf[32];
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

template <typename T>
int order(const T& a, const T& b) { return a < b ? -1 : (b < a ? 1 : 0); }

struct Rule {
  std::function<int(const KeeperCandidate&, const KeeperCandidate&)> compare;  // < 0: a better
  std::function<std::string(const KeeperCandidate&, const KeeperCandidate&)> why;  // keeper, runner-up
};

const std::vector<Rule>& rules() {
  using C = KeeperCandidate;
  static const std::vector<Rule> r = {
      {[](const C& a, const C& b) { return order(is_raw(b), is_raw(a)); },
       [](const C& k, const C& o) { return "RAW original over its " + fmt(o) + " (" + fmt(k) + ")"; }},
      {[](const C& a, const C& b) { return order(pixels(b), pixels(a)); },
       [](const C& k, const C& o) { return "more pixels: " + dims(k) + " over " + dims(o); }},
      {[](const C& a, const C& b) { return order(b.lossless, a.lossless); },
       [](const C& k, const C& o) {
         return "lossless " + fmt(k) + " over lossy " + fmt(o) + " at equal pixels (" + dims(k) + ")";
       }},
      // Between lossless files of equal pixels the size says nothing (compression level only).
      {[](const C& a, const C& b) { return a.lossless && b.lossless ? 0 : order(b.file_size, a.file_size); },
       [](const C& k, const C& o) {
         const bool same_kb = kb(k.file_size) == kb(o.file_size);
         auto size = [&](int64_t b) { return same_kb ? std::to_string(b) + " bytes" : kb(b); };
         return "larger file at equal pixels: " + size(k.file_size) + " over " + size(o.file_size) + " (less compressed)";
       }},
      {[](const C& a, const C& b) { return order(b.metadata_fields, a.metadata_fields); },
       [](const C& k, const C& o) {
         return "richer metadata: " + std::to_string(k.metadata_fields) + " fields over " +
                std::to_string(o.metadata_fields);
       }},
      {[](const C& a, const C& b) { return order(when(a), when(b)); },
       [](const C& k, const C&) { return "earliest capture (" + utc(k.capture_unix) + ")"; }},
      {[](const C& a, const C& b) { return order(a.path, b.path); },
       [](const C&, const C&) {
         return std::string("identical in format, pixels, size, metadata and capture time: first path");
       }},
  };
  return r;
}

}  // namespace

int compare_keepers(const KeeperCandidate& a, const KeeperCandidate& b) {
  for (const auto& rule : rules())
    if (int c = rule.compare(a, b)) return c;
  return 0;
}

std::pair<size_t, std::string> choose_keeper(const std::vector<KeeperCandidate>& m) {
  if (m.empty()) return {0, ""};
  size_t best = 0;
  for (size_t i = 1; i < m.size(); ++i)
    if (compare_keepers(m[i], m[best]) < 0) best = i;
  if (m.size() == 1) return {best, "only copy"};
  // The runner-up: the best of the others. The reason is the first rule that separated them.
  size_t runner = best == 0 ? 1 : 0;
  for (size_t i = 0; i < m.size(); ++i)
    if (i != best && compare_keepers(m[i], m[runner]) < 0) runner = i;
  for (const auto& rule : rules())
    if (rule.compare(m[best], m[runner]) != 0) return {best, rule.why(m[best], m[runner])};
  return {best, "identical candidates: first path"};
}

}  // namespace vf::search
