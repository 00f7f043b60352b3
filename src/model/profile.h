// Per-op timing of the forward pass, for finding where the time goes (bench/, docs/engine.md).
// Off unless the environment variable VF_ENGINE_PROFILE is set (then a table goes to stderr at
// exit: op, rows M, calls, wall ms per call, CPU ms per call (all threads of the process, or the
// calling thread's inside a parallel region: on a loaded machine the CPU time still says what
// an op costs), and GB/s for the element-wise ops whose traffic is given).
#pragma once

#include <chrono>
#include <cstdint>

namespace vf::model {

bool profiling_enabled();
void profile_add(const char* op, int64_t rows, double seconds, double cpu_seconds, double bytes);
double process_cpu_seconds();

// Times one op from construction to destruction (or stop()) when profiling is on.
class OpTimer {
 public:
  OpTimer(const char* op, int64_t rows, double bytes = 0)
      : op_(profiling_enabled() ? op : nullptr), rows_(rows), bytes_(bytes) {
    if (op_) {
      start_ = std::chrono::steady_clock::now();
      cpu_start_ = process_cpu_seconds();
    }
  }
  ~OpTimer() { stop(); }
  void stop() {
    if (!op_) return;
    profile_add(op_, rows_, std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(),
                process_cpu_seconds() - cpu_start_, bytes_);
    op_ = nullptr;
  }
  OpTimer(const OpTimer&) = delete;
  OpTimer& operator=(const OpTimer&) = delete;

 private:
  const char* op_;
  int64_t rows_;
  double bytes_;
  double cpu_start_ = 0;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace vf::model
