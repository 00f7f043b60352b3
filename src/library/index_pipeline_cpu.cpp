#include "library/index_pipeline_cpu.h"

#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace vf::detail {

namespace {
double clock_s(clockid_t id) {
  timespec t{};
  clock_gettime(id, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

// utime + stime of /proc/self/task/TID/stat (fields 14 and 15, after the parenthesised name,
// which may itself hold spaces or parentheses: parse from the last ')').
bool read_stat(const std::string& dir, TaskCpu* out) {
  std::ifstream stat(dir + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::atoll(field.c_str());
    if (i == 15) stime = std::atoll(field.c_str());
  }
  static const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  out->cpu_s = static_cast<double>(utime + stime) / tick;
  std::ifstream comm(dir + "/comm");
  std::getline(comm, out->name);
  return true;
}
}  // namespace

double thread_cpu_s() { return clock_s(CLOCK_THREAD_CPUTIME_ID); }
double process_cpu_s() { return clock_s(CLOCK_PROCESS_CPUTIME_ID); }
void name_this_thread(const char* name) { pthread_setname_np(pthread_self(), name); }

std::map<int, TaskCpu> task_cpu_snapshot() {
  std::map<int, TaskCpu> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    TaskCpu t;
    if (read_stat(e.path().string(), &t)) out[std::atoi(e.path().filename().c_str())] = t;
  }
  return out;
}

double engine_cpu_between(const std::map<int, TaskCpu>& before, const std::map<int, TaskCpu>& after) {
  double cpu = 0;
  for (const auto& [tid, t] : after) {
    const auto b = before.find(tid);
    if (b == before.end() || t.name == kDecoderThreadName || t.name == kCommitThreadName || t.name == "libvips worker")
      continue;
    cpu += t.cpu_s - b->second.cpu_s;
  }
  return cpu;
}

}  // namespace vf::detail
