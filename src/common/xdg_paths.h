// XDG base directories: where the default model and library live.
#pragma once

#include <cstdlib>
#include <string>

namespace vf {

// $XDG_DATA_HOME, else ~/.local/share (./.local/share without a home).
inline std::string xdg_data_home() {
  if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x) return x;
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.local/share";
}

}  // namespace vf
