// Small helpers the scale benchmarks share (scale_bench.cpp, milvus/scale_milvus_bench.cpp):
// "--name value" options, clocks, a process's resident memory, percentiles of timings, the
// load average.
#pragma once

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace vf_bench {

struct Args {
  int argc;
  char** argv;
  std::string get(const std::string& name, const std::string& def) const {
    for (int i = 1; i + 1 < argc; ++i)
      if (argv[i] == "--" + name) return argv[i + 1];
    return def;
  }
  // "--name 1,2,3" (or the default) as numbers.
  std::vector<int64_t> list(const std::string& name, const std::string& def) const {
    std::vector<int64_t> out;
    std::stringstream ss(get(name, def));
    std::string item;
    while (std::getline(ss, item, ','))
      if (!item.empty()) out.push_back(std::stoll(item));
    return out;
  }
};

inline double wall_s() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

inline double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// VmRSS from a /proc/.../status file, bytes; 0 when unknown.
inline double rss_bytes_in(const std::string& status_file) {
  std::ifstream in(status_file);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) * 1024.0;
  return 0;
}
// This process's resident memory.
inline double rss_bytes() { return rss_bytes_in("/proc/self/status"); }
// Another process's (a server's); 0 for no pid.
inline double rss_bytes(int pid) { return pid > 0 ? rss_bytes_in("/proc/" + std::to_string(pid) + "/status") : 0; }

// The p-quantile (0..1) of v, nearest rank; 0 for no values.
inline double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
}

// The 1/5/15-minute load averages, "a b c".
inline std::string loadavg() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

}  // namespace vf_bench
