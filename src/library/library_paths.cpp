// The default library location (XDG base directories), overridable with $VIEWFINDER_LIBRARY.
#include <cstdlib>
#include <string>

#include "common/xdg_paths.h"
#include "viewfinder/library.h"

namespace vf {

std::string default_library_dir() {
  if (const char* v = std::getenv("VIEWFINDER_LIBRARY"); v && *v) return v;
  return xdg_data_home() + "/viewfinder/library";
}

}  // namespace vf
