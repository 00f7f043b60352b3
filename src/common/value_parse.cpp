#include "common/value_parse.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "viewfinder/error.h"

namespace vf {

int64_t parse_int(const std::string& value, const std::string& what, int64_t lo, int64_t hi) {
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(value.c_str(), &end, 10);
  if (value.empty() || errno || !end || *end)
    throw Error("bad " + what + " '" + value + "' (want an integer)", ErrorCode::InvalidArgument);
  if (v < lo || v > hi)
    throw Error(what + " " + value + " out of range [" + std::to_string(lo) + ", " +
                    std::to_string(hi) + "]",
                ErrorCode::InvalidArgument);
  return v;
}

double parse_number(const std::string& value, const std::string& what, double lo, double hi) {
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(value.c_str(), &end);
  if (value.empty() || errno || !end || *end || !std::isfinite(v))
    throw Error("bad " + what + " '" + value + "' (want a number)", ErrorCode::InvalidArgument);
  if (v < lo || v > hi)
    throw Error(what + " " + value + " out of range", ErrorCode::InvalidArgument);
  return v;
}

namespace {
bool is_leap_year(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
int days_in_month(int year, int month) {
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap_year(year) ? 29 : days[month - 1];
}
}  // namespace

// A date that does not exist (month 13, February 30, 25:00) is rejected, not normalised: in a
// filter it is a typo, in a file a broken tag, and a normalised date would be a made-up one.
std::optional<CivilDateTime> parse_civil_datetime(const std::string& text) {
  CivilDateTime t;
  t.fields = std::sscanf(text.c_str(), "%4d%*1[:-]%2d%*1[:-]%2d%*1[ T]%2d:%2d:%2d", &t.year, &t.month, &t.day,
                         &t.hour, &t.minute, &t.second);
  if (t.fields < 3) return std::nullopt;
  if (t.month < 1 || t.month > 12 || t.day < 1 || t.day > days_in_month(t.year, t.month) || t.hour < 0 ||
      t.hour > 23 || t.minute < 0 || t.minute > 59 || t.second < 0 || t.second > 59)
    return std::nullopt;
  return t;
}

int64_t civil_to_unix(const CivilDateTime& t) {
  std::tm tm{};
  tm.tm_year = t.year - 1900;
  tm.tm_mon = t.month - 1;
  tm.tm_mday = t.day;
  tm.tm_hour = t.hour;
  tm.tm_min = t.minute;
  tm.tm_sec = t.second;
  return static_cast<int64_t>(timegm(&tm));
}

int64_t parse_date_bound(const std::string& value, bool end_of_day) {
  if (value.empty()) throw Error("empty date", ErrorCode::InvalidArgument);
  bool digits = true;
  for (size_t i = 0; i < value.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(value[i])) && !(i == 0 && value[i] == '-')) digits = false;
  if (digits && value.size() > 8) return parse_int(value, "date", INT64_MIN, INT64_MAX);  // unix seconds
  auto t = parse_civil_datetime(value);
  // A date, a date with hours and minutes, or with seconds; a lone hour is a typo.
  if (!t || t->fields == 4)
    throw Error("bad date '" + value + "' (want YYYY-MM-DD, YYYY-MM-DDTHH:MM:SS or unix seconds)",
                ErrorCode::InvalidArgument);
  int64_t s = civil_to_unix(*t);
  if (t->fields == 3 && end_of_day) s += 86399;
  return s;
}

}  // namespace vf
