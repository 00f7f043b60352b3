// Strict parsing of values people type (query parameters, form fields, CLI options): one
// place decides what an integer, a number and a date look like, for the server and the CLI
// alike. Every parser throws vf::Error (InvalidArgument) naming the value and what it wanted.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace vf {

// Decimal integer in [lo, hi]; `what` names the value in the error ("min_width").
int64_t parse_int(const std::string& value, const std::string& what, int64_t lo, int64_t hi);
// Finite number in [lo, hi].
double parse_number(const std::string& value, const std::string& what, double lo, double hi);

// The fields of a calendar date-time, read as UTC (capture times are local wall-clock time
// stored as if UTC, see image.h).
struct CivilDateTime {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  int fields = 0;  // how many of the six were given (3: a date alone)
};

// "YYYY-MM-DD", "YYYY-MM-DD[T| ]HH:MM[:SS]" and EXIF's "YYYY:MM:DD HH:MM:SS"; anything after
// the fields (fractions, a zone offset) is left to the caller. nullopt unless at least the
// date is there and every given field is in range.
std::optional<CivilDateTime> parse_civil_datetime(const std::string& text);
// Seconds since the epoch of a civil date-time taken as UTC.
int64_t civil_to_unix(const CivilDateTime& t);

// A date bound of a filter: "2019-03-14", "2019-03-14T09:30[:00]" (or with a space), or
// unix seconds. `end_of_day` makes a date alone mean its last second (inclusive ranges).
int64_t parse_date_bound(const std::string& value, bool end_of_day);

}  // namespace vf
