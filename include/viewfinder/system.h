// Viewfinder public API: facts about the machine that several stages use.
#pragma once

namespace vf {

// Physical cores of this machine (not SMT siblings), within this process's CPU affinity.
int physical_core_count();

}  // namespace vf
