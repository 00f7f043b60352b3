// Facts about the machine: its physical core count (the engine's default thread count).
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <utility>

#include "viewfinder/system.h"

namespace vf {

int physical_core_count() {
  // Distinct (package, core) pairs over the online CPUs: SMT siblings share a core_id, and
  // matrix kernels gain nothing from them.
  static const int cached = [] {
    std::set<std::pair<int, int>> cores;
    const long n = sysconf(_SC_NPROCESSORS_ONLN);
    for (long cpu = 0; cpu < std::max(1L, n) * 4 && cpu < 4096; ++cpu) {
      const std::string base = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
      std::ifstream core_f(base + "core_id"), pkg_f(base + "physical_package_id");
      int core = -1, pkg = -1;
      if (!(core_f >> core)) continue;
      if (!(pkg_f >> pkg)) pkg = 0;
      std::ifstream online("/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/online");
      int on = 1;
      if (online && (online >> on) && on == 0) continue;
      cores.insert({pkg, core});
    }
    int count = static_cast<int>(cores.size());
    if (count <= 0) count = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    // A cgroup/affinity mask may allow fewer CPUs than the topology lists.
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) count = std::min(count, std::max(1, CPU_COUNT(&set)));
    return count;
  }();
  return cached;
}

}  // namespace vf
