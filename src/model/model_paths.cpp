// Default location of the model (XDG base directories), overridable with $VIEWFINDER_MODEL.
#include <cstdlib>
#include <string>

#include "common/xdg_paths.h"
#include "viewfinder/library.h"

namespace vf {

std::string default_model_dir() {
  if (const char* v = std::getenv("VIEWFINDER_MODEL"); v && *v) return v;
  return xdg_data_home() + "/viewfinder/models/dinov2-base";
}

}  // namespace vf
