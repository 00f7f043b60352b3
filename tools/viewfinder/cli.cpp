#include "cli.h"

#include <unistd.h>

#include <chrono>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "viewfinder/error.h"

namespace vf::cli {

Args::Args(std::string command, std::string usage, std::string description)
    : command_(std::move(command)), usage_(std::move(usage)), description_(std::move(description)) {
  flag("help", "show this help and exit").alias('h');
}

Args& Args::flag(const std::string& name, const std::string& help) {
  specs_.push_back({name, "", help, "", true, false, 0});
  return *this;
}

Args& Args::option(const std::string& name, const std::string& metavar, const std::string& help,
                   const std::string& default_value) {
  specs_.push_back({name, metavar, help, default_value, false, false, 0});
  return *this;
}

Args& Args::multi(const std::string& name, const std::string& metavar, const std::string& help) {
  specs_.push_back({name, metavar, help, "", false, true, 0});
  return *this;
}

Args& Args::alias(char short_name) {
  specs_.back().short_name = short_name;
  return *this;
}

Args& Args::epilog(const std::string& text) {
  epilog_ = text;
  return *this;
}

Args& Args::allow_dash_positionals() {
  dash_positionals_ = true;
  return *this;
}

const Args::Spec* Args::find_long(const std::string& name) const {
  for (const auto& s : specs_)
    if (s.name == name) return &s;
  return nullptr;
}

const Args::Spec* Args::find_short(char c) const {
  for (const auto& s : specs_)
    if (s.short_name == c) return &s;
  return nullptr;
}

std::string Args::help_text() const {
  std::ostringstream out;
  out << "usage: viewfinder " << command_ << " [options]" << (usage_.empty() ? "" : " ") << usage_
      << "\n\n"
      << description_ << "\n\noptions:\n";
  for (const auto& s : specs_) {
    std::string left = "  ";
    left += s.short_name ? std::string("-") + s.short_name + ", " : "    ";
    left += "--" + s.name;
    if (!s.is_flag) left += " " + s.metavar;
    out << left;
    if (left.size() < 30)
      out << std::string(30 - left.size(), ' ');
    else
      out << "\n" << std::string(30, ' ');
    out << s.help;
    if (!s.default_value.empty()) out << " (default: " << s.default_value << ")";
    if (s.is_multi) out << " (repeatable)";
    out << "\n";
  }
  if (!epilog_.empty()) out << "\n" << epilog_ << "\n";
  return out.str();
}

bool Args::parse(int argc, char** argv) {
  auto usage_error = [&](const std::string& msg) {
    std::cerr << "viewfinder " << command_ << ": " << msg << "\n"
              << "Try 'viewfinder " << command_ << " --help'.\n";
    exit_code_ = 2;
    return false;
  };
  bool only_positionals = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (only_positionals || a.size() < 2 || a[0] != '-') {
      positionals_.push_back(a);
      continue;
    }
    if (a == "--") {
      only_positionals = true;
      continue;
    }
    const Spec* spec = nullptr;
    std::string value;
    bool has_inline = false;
    if (a.rfind("--", 0) == 0) {
      std::string name = a.substr(2);
      auto eq = name.find('=');
      if (eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
        has_inline = true;
      }
      spec = find_long(name);
      if (!spec) return usage_error("unknown option --" + name);
    } else {
      spec = a.size() == 2 ? find_short(a[1]) : nullptr;
      if (!spec) {
        // "-b.jpg" style negative examples, or a negative number.
        if (dash_positionals_ || std::isdigit(static_cast<unsigned char>(a[1]))) {
          positionals_.push_back(a);
          continue;
        }
        return usage_error("unknown option " + a);
      }
    }
    if (spec->is_flag) {
      if (has_inline) return usage_error("--" + spec->name + " takes no value");
      values_[spec->name].push_back("1");
      continue;
    }
    if (!has_inline) {
      if (i + 1 >= argc) return usage_error("--" + spec->name + " needs a value (" + spec->metavar + ")");
      value = argv[++i];
    }
    auto& slot = values_[spec->name];
    if (!spec->is_multi) slot.clear();
    slot.push_back(value);
  }
  if (has("help")) {
    std::cout << help_text();
    exit_code_ = 0;
    return false;
  }
  return true;
}

bool Args::has(const std::string& name) const { return values_.count(name) > 0; }

std::string Args::get(const std::string& name) const {
  auto it = values_.find(name);
  if (it != values_.end() && !it->second.empty()) return it->second.back();
  const Spec* s = find_long(name);
  return s ? s->default_value : "";
}

std::vector<std::string> Args::get_all(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

int64_t Args::get_int64(const std::string& name) const {
  std::string v = get(name);
  try {
    size_t pos = 0;
    long long n = std::stoll(v, &pos);
    if (pos != v.size()) throw std::invalid_argument(v);
    return n;
  } catch (const std::exception&) {
    throw vf::Error("--" + name + " expects an integer, got '" + v + "'", ErrorCode::InvalidArgument);
  }
}

int Args::get_int(const std::string& name) const {
  int64_t v = get_int64(name);
  if (v < INT32_MIN || v > INT32_MAX)
    throw vf::Error("--" + name + " " + get(name) + " is out of range", ErrorCode::InvalidArgument);
  return static_cast<int>(v);
}

double Args::get_double(const std::string& name) const {
  std::string v = get(name);
  try {
    size_t pos = 0;
    double d = std::stod(v, &pos);
    if (pos != v.size() || !std::isfinite(d)) throw std::invalid_argument(v);
    return d;
  } catch (const std::exception&) {
    throw vf::Error("--" + name + " expects a number, got '" + v + "'", ErrorCode::InvalidArgument);
  }
}

static std::vector<Command>& registry() {
  static std::vector<Command> r;
  return r;
}

bool register_command(const Command& command) {
  registry().push_back(command);
  return true;
}

const std::vector<Command>& commands() { return registry(); }

int guarded(const std::function<int()>& body) {
  try {
    return body();
  } catch (const vf::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}

static double now_s() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "--";
  char buf[32];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%.1fs", s);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%dm%02ds", int(s) / 60, int(s) % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%dh%02dm", int(s) / 3600, (int(s) % 3600) / 60);
  }
  return buf;
}

std::string format_bytes(int64_t b) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1000 && u < 4) {
    v /= 1000;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

ProgressLine::ProgressLine(bool enabled) : enabled_(enabled), tty_(isatty(STDERR_FILENO)) {}

void ProgressLine::update(const std::string& phase, int64_t done, int64_t total, int64_t failed,
                          double rate, double eta_s, const std::string& current) {
  if (!enabled_) return;
  double t = now_s();
  bool last = total > 0 && done >= total;
  // On a terminal redraw at most 10x/s; in a log print a line every 5 s (and the last one).
  if (!last && last_print_ >= 0 && t - last_print_ < (tty_ ? 0.1 : 5.0)) return;
  last_print_ = t;
  char buf[256];
  double frac = total > 0 ? double(done) / double(total) : 0;
  std::string bar;
  if (tty_) {
    int width = 24, filled = static_cast<int>(frac * width);
    bar = "[" + std::string(filled, '#') + std::string(width - filled, '.') + "] ";
  }
  std::snprintf(buf, sizeof buf, "%s%s %lld/%lld (%.0f%%)  %.1f img/s  ETA %s  failed %lld",
                bar.c_str(), phase.c_str(), (long long)done, (long long)total, frac * 100, rate,
                format_duration(eta_s).c_str(), (long long)failed);
  if (tty_) {
    std::cerr << "\r\033[K" << buf << std::flush;
    drawn_ = true;
  } else {
    std::cerr << buf << "\n";
  }
  (void)current;
}

void ProgressLine::note(const std::string& message) {
  if (tty_ && drawn_) std::cerr << "\r\033[K";
  std::cerr << message << "\n";
  drawn_ = false;
}

void ProgressLine::finish() {
  if (enabled_ && tty_ && drawn_) std::cerr << "\n";
  drawn_ = false;
}

}  // namespace vf::cli
