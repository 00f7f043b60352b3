#include "model/profile.h"

#include <omp.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <time.h>
#include <utility>

namespace vf::model {
namespace {

struct OpStats {
  int64_t calls = 0;
  double seconds = 0, cpu_seconds = 0, bytes = 0;
};

struct Profile {
  std::mutex mu;
  std::map<std::pair<int64_t, std::string>, OpStats> ops;  // (rows, op)
  ~Profile() {
    if (ops.empty()) return;
    std::fprintf(stderr, "%-14s %7s %7s %10s %10s %10s %10s %8s\n", "op", "rows", "calls", "ms/call", "total s",
                 "cpu ms/call", "cpu s", "GB/s");
    int64_t rows = -1;
    double total = 0, total_cpu = 0;
    auto footer = [&] {
      if (rows >= 0)
        std::fprintf(stderr, "%-14s %7lld %7s %10s %10.3f %10s %10.3f\n", "(sum)", static_cast<long long>(rows), "", "",
                     total, "", total_cpu);
    };
    for (const auto& [key, s] : ops) {
      if (key.first != rows) {
        footer();
        rows = key.first;
        total = total_cpu = 0;
      }
      total += s.seconds;
      total_cpu += s.cpu_seconds;
      std::fprintf(stderr, "%-14s %7lld %7lld %10.3f %10.3f %10.3f %10.3f", key.second.c_str(),
                   static_cast<long long>(key.first), static_cast<long long>(s.calls), 1e3 * s.seconds / s.calls,
                   s.seconds, 1e3 * s.cpu_seconds / s.calls, s.cpu_seconds);
      if (s.bytes > 0) std::fprintf(stderr, " %8.1f", s.bytes / s.seconds / 1e9);
      std::fprintf(stderr, "\n");
    }
    footer();
  }
};

Profile& profile() {
  static Profile p;
  return p;
}

}  // namespace

bool profiling_enabled() {
  static const bool on = [] {
    const char* v = std::getenv("VF_ENGINE_PROFILE");
    if (v && *v && std::string(v) != "0") {
      profile();  // constructed now, so it is destroyed (and printed) at exit
      return true;
    }
    return false;
  }();
  return on;
}

double process_cpu_seconds() {
  timespec ts;
  // Inside a parallel region (each thread on its own images) only the calling thread's time
  // belongs to the op; outside, the op's own OpenMP threads are the whole process.
  clock_gettime(omp_in_parallel() ? CLOCK_THREAD_CPUTIME_ID : CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

void profile_add(const char* op, int64_t rows, double seconds, double cpu_seconds, double bytes) {
  Profile& p = profile();
  std::lock_guard<std::mutex> lk(p.mu);
  OpStats& s = p.ops[{rows, op}];
  ++s.calls;
  s.seconds += seconds;
  s.cpu_seconds += cpu_seconds;
  s.bytes += bytes;
}

}  // namespace vf::model
