// Clock helpers shared by the catalog (commit stamps), the search stage and the server
// (logs, timings, status).
#pragma once

#include <chrono>
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

// Milliseconds elapsed on the monotonic clock since `start` (request and stage timings).
inline double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace vf
