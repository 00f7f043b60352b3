#include "viewfinder/viewfinder.h"

namespace vf {
const char* version() { return VF_VERSION; }
}  // namespace vf
