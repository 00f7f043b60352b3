// The `viewfinder` command line: a registry of sub-commands and one option parser that
// every sub-command uses, so that `--help`, `--json` and error messages behave the same
// everywhere. Sub-commands live in cmd_*.cpp and register themselves with VF_COMMAND.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace vf::cli {

// Declarative options for one sub-command.
//   Args args("search", "QUERY...", "Find photos like the query.");
//   args.flag("json", "print JSON");
//   args.option("k", "N", "number of results", "10").alias('k');
//   if (!args.parse(argc, argv)) return args.exit_code();
class Args {
 public:
  Args(std::string command, std::string usage, std::string description);

  Args& flag(const std::string& name, const std::string& help);
  Args& option(const std::string& name, const std::string& metavar, const std::string& help,
               const std::string& default_value = "");
  // Options that may repeat (--filter a --filter b).
  Args& multi(const std::string& name, const std::string& metavar, const std::string& help);
  Args& alias(char short_name);  // applies to the last declared option or flag
  // Text appended to --help (examples, notes).
  Args& epilog(const std::string& text);
  // Words like "+a.jpg" / "-b.jpg" are positionals, not options (rclip-style queries).
  Args& allow_dash_positionals();

  // Returns false when the command should exit now (after --help, or a usage error that
  // has been printed); exit_code() is then 0 or 2.
  bool parse(int argc, char** argv);
  int exit_code() const { return exit_code_; }

  bool has(const std::string& name) const;  // flag given, or option given explicitly
  std::string get(const std::string& name) const;  // value or default ("" if none)
  std::vector<std::string> get_all(const std::string& name) const;
  int get_int(const std::string& name) const;      // throws vf::Error on a bad number
  int64_t get_int64(const std::string& name) const;
  double get_double(const std::string& name) const;
  const std::vector<std::string>& positionals() const { return positionals_; }

  std::string help_text() const;

 private:
  struct Spec {
    std::string name, metavar, help, default_value;
    bool is_flag = false, is_multi = false;
    char short_name = 0;
  };
  const Spec* find_long(const std::string& name) const;
  const Spec* find_short(char c) const;

  std::string command_, usage_, description_, epilog_;
  std::vector<Spec> specs_;
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positionals_;
  bool dash_positionals_ = false;
  int exit_code_ = 0;
};

using CommandFn = int (*)(int argc, char** argv);
struct Command {
  const char* name;      // "search", or "model info" for a two-word command
  const char* summary;   // one line for `viewfinder --help`
  CommandFn run;
};
bool register_command(const Command& command);
const std::vector<Command>& commands();

// Runs a command body, turning vf::Error and std::exception into a one-line message on
// stderr and exit code 1, so that no command ever ends in an uncaught exception.
int guarded(const std::function<int()>& body);

// Progress line on stderr (count, rate, ETA, failures) that redraws in place on a terminal
// and prints a line every few seconds otherwise.
class ProgressLine {
 public:
  explicit ProgressLine(bool enabled = true);
  void update(const std::string& phase, int64_t done, int64_t total, int64_t failed, double rate,
              double eta_s, const std::string& current = "");
  void note(const std::string& message);  // a message line that does not break the bar
  void finish();

 private:
  bool enabled_, tty_;
  double last_print_ = -1;
  bool drawn_ = false;
};

std::string format_duration(double seconds);  // "1h02m", "3m05s", "12.3s"
std::string format_bytes(int64_t bytes);      // "1.2 GB"

}  // namespace vf::cli

#define VF_CLI_CONCAT2(a, b) a##b
#define VF_CLI_CONCAT(a, b) VF_CLI_CONCAT2(a, b)
#define VF_COMMAND(name, summary, fn) \
  static const bool VF_CLI_CONCAT(vf_registered_, __LINE__) = ::vf::cli::register_command({name, summary, fn})
