// CPU seconds per stage of the indexing pipeline (IndexStageTimes::cpu_*). Wall thread-seconds
// on a shared 2-core machine are inflated by every other process; CPU time is not, and on a
// machine whose cores the engine already fills, the decoders' CPU is exactly what they take
// from the engine. The engine's CPU is that of the threads that live through the pipeline and
// are neither the pipeline's own (named decoder and commit threads) nor libvips' workers: the
// embedding thread and its OpenMP team. The commit thread measures itself. The decoders' CPU is
// the rest of the process's: libvips' worker threads (decoding, resizing and JPEG encoding run
// there) come and go with glib's thread pool, so per-thread counts would lose the ones that
// exited; the process total keeps them.
#pragma once

#include <map>
#include <string>

namespace vf::detail {

inline constexpr const char* kDecoderThreadName = "vf-decode";
inline constexpr const char* kCommitThreadName = "vf-commit";

double thread_cpu_s();   // the calling thread's CPU seconds
double process_cpu_s();  // the whole process's CPU seconds
void name_this_thread(const char* name);

// CPU seconds per live thread of this process (from /proc/self/task), by thread id.
struct TaskCpu {
  std::string name;
  double cpu_s = 0;
};
std::map<int, TaskCpu> task_cpu_snapshot();

// CPU seconds between two snapshots of the threads that count as the engine's (see above).
double engine_cpu_between(const std::map<int, TaskCpu>& before, const std::map<int, TaskCpu>& after);

}  // namespace vf::detail
