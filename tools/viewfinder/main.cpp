// viewfinder: the command-line program. Dispatches to the sub-commands registered in
// cmd_*.cpp; each one uses only the public API in include/viewfinder/.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <unistd.h>
#include <iostream>
#include <string>

#include "cli.h"
#include "viewfinder/viewfinder.h"

namespace {

void print_help() {
  std::cout << "usage: viewfinder COMMAND [options]\n\n"
               "Viewfinder: private, self-hosted image search (DINOv2 + FAISS).\n\n"
               "commands:\n";
  auto cmds = vf::cli::commands();
  std::sort(cmds.begin(), cmds.end(),
            [](const auto& a, const auto& b) { return std::strcmp(a.name, b.name) < 0; });
  for (const auto& c : cmds) {
    std::string name = c.name;
    std::cout << "  " << name << std::string(name.size() < 18 ? 18 - name.size() : 1, ' ')
              << c.summary << "\n";
  }
  std::cout << "\nRun 'viewfinder COMMAND --help' for a command's options.\n"
               "Version: "
            << vf::version() << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  // oneDNN runs on libgomp, whose idle threads spin before they sleep. On a machine shared with
  // other work, that spinning costs a scheduler time slice at every barrier (the engine measured
  // 2.8x slower at 2 threads on a loaded 2-core VM, docs/engine.md); passive waiting costs a
  // futex wake instead. libgomp reads the policy once at start-up, so when the user has not
  // chosen one, set it and execute ourselves again (on failure, carry on as we are).
  if (!std::getenv("OMP_WAIT_POLICY")) {
    ::setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    ::execv("/proc/self/exe", argv);
  }
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") ||
      !std::strcmp(argv[1], "help")) {
    print_help();
    return argc < 2 ? 2 : 0;
  }
  if (!std::strcmp(argv[1], "--version")) {
    std::cout << "viewfinder " << vf::version() << "\n";
    return 0;
  }
  // Two-word commands ("model info") take precedence over one-word ones.
  if (argc >= 3) {
    std::string two = std::string(argv[1]) + " " + argv[2];
    for (const auto& c : vf::cli::commands())
      if (two == c.name) return c.run(argc - 2, argv + 2);
  }
  for (const auto& c : vf::cli::commands())
    if (!std::strcmp(argv[1], c.name)) return c.run(argc - 1, argv + 1);
  // A group name alone ("viewfinder model") lists its sub-commands.
  bool group = false;
  for (const auto& c : vf::cli::commands()) {
    std::string name = c.name;
    if (name.rfind(std::string(argv[1]) + " ", 0) == 0) {
      if (!group) std::cout << "usage: viewfinder " << argv[1] << " SUBCOMMAND [options]\n\n";
      group = true;
      std::cout << "  " << name << "  " << c.summary << "\n";
    }
  }
  if (group) return 2;
  std::cerr << "viewfinder: unknown command '" << argv[1] << "'. Try 'viewfinder --help'.\n";
  return 2;
}
