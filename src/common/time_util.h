// Wall-clock helpers shared by the catalog (commit stamps) and the server (logs, status).
#pragma once

#include <ctime>
#include <string>

namespace vf {

// The current UTC time as ISO-8601 with a Z suffix: "2026-11-24T00:28:27Z".
inline std::string now_iso_utc() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace vf
