// viewfinder index: incremental, crash-safe indexing of photo folders into a library, with
// progress, a JSON mode for scripts, a sizing estimate, and a watch mode.
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <tuple>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli.h"
#include "store_option.h"
#include "viewfinder/viewfinder.h"

namespace {
namespace fs = std::filesystem;
using nlohmann::json;

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop = true; }

double now_s() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

// Lines of JSON never fail on a file name that is not UTF-8 (paths also carry path_bytes).
std::string line(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json path_json(const std::string& path, const std::string& reason) {
  json j = {{"reason", reason}};
  vf::put_path(j, "path", path);
  return j;
}

json report_json(const vf::IndexReport& r) {
  json failures = json::array(), unreadable = json::array();
  for (const auto& f : r.failures) failures.push_back(path_json(f.path, f.reason));
  for (const auto& f : r.unreadable_folders) unreadable.push_back(path_json(f.path, f.reason));
  return {{"event", "summary"}, {"scanned", r.scanned}, {"added", r.added}, {"changed", r.changed},
          {"moved", r.moved}, {"deleted", r.deleted}, {"unchanged", r.unchanged}, {"embedded", r.embedded},
          {"reembedded", r.reembedded}, {"failed", r.failed}, {"not_photos", r.not_photos},
          {"still_failing", r.still_failing}, {"failures", failures}, {"unreadable_folders", unreadable},
          {"outside_links", r.outside_links.size()}, {"seconds", r.seconds}, {"images_per_s", r.images_per_s}};
}

void print_summary(const vf::IndexReport& r, const std::string& library) {
  std::cout << "indexed " << r.scanned << " files in " << vf::cli::format_duration(r.seconds) << ": "
            << r.added << " new, " << r.changed << " changed, " << r.moved << " moved, " << r.deleted
            << " deleted, " << r.unchanged << " unchanged";
  if (r.reembedded) std::cout << ", " << r.reembedded << " re-embedded";
  if (r.not_photos) std::cout << ", " << r.not_photos << " not photos";
  if (r.still_failing) std::cout << ", " << r.still_failing << " still failing (unchanged since they failed)";
  std::cout << "; " << r.failed << " failed; embedded " << r.embedded;
  if (r.embedded > 0) {
    char rate[32];
    std::snprintf(rate, sizeof rate, "%.1f", r.images_per_s);
    std::cout << " (" << rate << " img/s)";
  }
  std::cout << "\n";
  for (const auto& f : r.unreadable_folders)
    std::cout << "  cannot read " << f.path << " (" << f.reason << "): its photos were kept\n";
  std::cout << "library: " << library << "\n";
}

// A progress sink for the terminal (ProgressLine) or for scripts (JSON lines on stdout).
vf::ProgressFn make_progress(bool json_mode, bool quiet, vf::cli::ProgressLine& bar) {
  auto last_json = std::make_shared<double>(-1);
  return [json_mode, quiet, &bar, last_json](const vf::IndexProgress& p) {
    if (json_mode) {
      bool failure = p.message.rfind("failed: ", 0) == 0;
      double t = now_s();
      if (!p.message.empty()) {
        if (failure)
          {
          json j = path_json(p.current, p.message.substr(8));
          j["event"] = "failure";
          std::cout << line(j) << "\n";
        }
        else
          std::cout << line(json{{"event", "message"}, {"message", p.message}}) << "\n";
      } else if (t - *last_json >= 1.0 || (p.total > 0 && p.done == p.total)) {
        *last_json = t;
        std::cout << json{{"event", "progress"}, {"phase", p.phase}, {"done", p.done}, {"total", p.total},
                          {"failed", p.failed}, {"rate", p.rate}, {"eta_s", p.eta_s}}.dump()
                  << "\n";
      }
      std::cout.flush();
      return;
    }
    if (quiet) return;
    if (!p.message.empty()) {
      if (p.message.rfind("failed: ", 0) == 0)
        bar.note("skipped " + p.current + ": " + p.message.substr(8));
      else
        bar.note(p.message);
      return;
    }
    if (p.phase == "embed") bar.update("embedding", p.done, p.total, p.failed, p.rate, p.eta_s, p.current);
  };
}

// inotify over every directory under the roots (new directories are added as they appear).
class Watcher {
 public:
  Watcher(const std::vector<std::string>& roots, const std::string& library_dir) : library_dir_(library_dir) {
    fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd_ < 0) throw vf::Error("cannot start inotify (too many instances?)", vf::ErrorCode::Io);
    for (const auto& r : roots) add_tree(fs::is_directory(r) ? r : fs::path(r).parent_path().string());
  }
  ~Watcher() { ::close(fd_); }

  // Waits up to timeout_ms; returns true if something under the roots changed.
  bool wait(int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return false;
    bool changed = false;
    alignas(inotify_event) char buf[65536];
    for (;;) {
      ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n <= 0) break;
      for (char* q = buf; q < buf + n;) {
        auto* ev = reinterpret_cast<inotify_event*>(q);
        q += sizeof(inotify_event) + ev->len;
        std::string name = ev->len ? ev->name : "";
        if (!name.empty() && name[0] == '.') continue;  // hidden and temp files
        auto it = dirs_.find(ev->wd);
        if ((ev->mask & IN_ISDIR) && (ev->mask & (IN_CREATE | IN_MOVED_TO)) && it != dirs_.end())
          add_tree(it->second + "/" + name);
        changed = true;
      }
    }
    return changed;
  }

 private:
  void add_tree(const std::string& dir) {
    add(dir);
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      std::error_code e2;
      if (!it->is_directory(e2)) continue;
      std::string name = it->path().filename().string();
      if ((!name.empty() && name[0] == '.') || it->path().string() == library_dir_) {
        it.disable_recursion_pending();
        continue;
      }
      add(it->path().string());
    }
  }
  void add(const std::string& dir) {
    int wd = inotify_add_watch(fd_, dir.c_str(),
                               IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE | IN_DELETE_SELF);
    if (wd >= 0) dirs_[wd] = dir;
  }
  int fd_;
  std::string library_dir_;
  std::map<int, std::string> dirs_;
};

int run_estimate(vf::Library& lib, const vf::IndexParams& params, bool json_mode, int sample) {
  auto e = lib.estimate(params, sample);
  // The article's sizing rule, for comparison: VRAM = min(16, 4 + n*0.0002) GB, n*0.15 s.
  double article_vram_gb = std::min(16.0, 4.0 + e.files * 0.0002);
  double article_seconds = e.files * 0.15;
  if (json_mode) {
    std::cout << json{{"files", e.files}, {"bytes", e.bytes}, {"sampled", e.sampled},
                      {"images_per_s", e.images_per_s}, {"expected_seconds", e.expected_seconds},
                      {"expected_disk_bytes", e.expected_disk_bytes},
                      {"expected_memory_bytes", e.expected_memory_bytes},
                      {"article_formula", {{"vram_gb", article_vram_gb}, {"seconds", article_seconds}}}}
                     .dump()
              << "\n";
    return 0;
  }
  char rate[32];
  std::snprintf(rate, sizeof rate, "%.1f", e.images_per_s);
  std::cout << e.files << " photos (" << vf::cli::format_bytes(e.bytes) << ")\n"
            << "measured on " << e.sampled << " of them on this machine: " << rate << " img/s\n"
            << "expected time:   " << vf::cli::format_duration(e.expected_seconds) << "\n"
            << "expected disk:   " << vf::cli::format_bytes(e.expected_disk_bytes) << " (catalog, index, thumbnails)\n"
            << "expected memory: " << vf::cli::format_bytes(e.expected_memory_bytes) << " (index + model)\n"
            << "(the article's rule of thumb would say " << vf::cli::format_duration(article_seconds) << " and "
            << article_vram_gb << " GB VRAM)\n";
  return 0;
}

// The indexing parameters the command line asks for.
vf::IndexParams params_from_args(const vf::cli::Args& args) {
  vf::IndexParams params;
  params.roots = args.positionals();
  if (args.has("model")) params.engine.model_dir = args.get("model");
  params.engine.precision = vf::parse_precision(args.get("precision"));
  params.engine.threads = args.get_int("threads");
  params.pooling = vf::parse_pooling(args.get("pooling"));
  params.batch_size = args.get_int("batch");
  params.decode_threads = args.get_int("decode-threads");
  params.faiss_factory = args.get("index-type");
  params.commit_every = std::max(1, args.get_int("commit-every"));
  params.prune_missing = !args.has("no-prune");
  params.allow_empty_root = args.has("allow-empty-root");
  params.follow_symlinks = args.has("follow-symlinks");
  if (args.has("previews") && args.has("no-previews"))
    throw vf::Error("give --previews or --no-previews, not both", vf::ErrorCode::InvalidArgument);
  if (args.has("previews")) params.make_previews = true;  // remembered by the library
  if (args.has("no-previews")) params.make_previews = false;
  if (args.has("shard")) std::tie(params.shard_index, params.shard_count) = vf::parse_shard(args.get("shard"));
  return params;
}

// --watch: re-index on changes under the roots until SIGINT/SIGTERM.
void watch_and_reindex(vf::Library& lib, const vf::IndexParams& params, const vf::ProgressFn& progress,
                       vf::cli::ProgressLine& bar, bool json_mode, int debounce_ms) {
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  Watcher watcher(params.roots, lib.dir());
  if (json_mode)
    std::cout << line(json{{"event", "watching"}, {"roots", params.roots}}) << "\n" << std::flush;
  else
    std::cerr << "watching for changes (Ctrl-C to stop)\n";
  bool pending = false;
  double last_event = 0;
  while (!g_stop) {
    if (watcher.wait(200)) {
      pending = true;
      last_event = now_s();
    }
    // Debounce: a copy of 500 photos is one re-index, not 500.
    if (pending && (now_s() - last_event) * 1000 >= debounce_ms) {
      pending = false;
      vf::IndexReport r;
      try {
        r = lib.index(params, progress);
      } catch (const vf::Error& e) {
        // An unmounted share mid-watch: say so and keep watching; nothing was removed.
        bar.finish();
        if (json_mode)
          std::cout << line(json{{"event", "error"}, {"error", e.what()}}) << "\n" << std::flush;
        else
          std::cerr << "error: " << e.what() << "\n";
        continue;
      }
      bar.finish();
      if (json_mode)
        std::cout << line(report_json(r)) << "\n" << std::flush;
      else
        print_summary(r, lib.dir());
      std::cout.flush();
    }
  }
}

int cmd_index(int argc, char** argv) {
  vf::cli::Args args("index", "PATH...",
                     "Index photos under the given files or folders into a library. Incremental: only new or\n"
                     "changed files are decoded and embedded; moved files keep their entry; deleted files are\n"
                     "pruned. Safe to interrupt at any moment (kill -9 included): the next run resumes.");
  args.option("library", "DIR", "library directory", vf::default_library_dir()).alias('l');
  args.option("model", "DIR", "DINOv2 model directory (HF layout); default: the library's, else " + vf::default_model_dir());
  args.option("pooling", "MODE", "cls | mean | patch-mean", "cls");
  args.option("precision", "MODE", "auto | fp32 | bf16 | int8", "auto");
  args.option("batch", "N", "images per forward pass", "8");
  args.option("threads", "N", "inference threads (0: physical cores)", "0");
  args.option("decode-threads", "N", "decoder threads (0: automatic)", "0");
  args.option("index-type", "FACTORY", "FAISS factory string, e.g. Flat, IVF1024,Flat, HNSW32,SQ8 (default: by size)");
  args.option("commit-every", "N", "photos per catalog transaction", "64");
  args.option("shard", "I/N", "embed only this worker's share of the files (several machines, one Milvus "
                              "collection, each worker with its own --library); a library without --shard is "
                              "refused by a collection holding photos it did not write (read that with mirror)");
  args.flag("no-prune", "keep entries of files that disappeared");
  args.flag("allow-empty-root", "let a root that is missing, unreadable or empty remove the entries of its photos\n"
                                "(without it such a run stops: an unmounted share is not a deletion)");
  args.flag("previews", "make the 1280 px previews while indexing (default: the server makes each on first view\n"
                        "and caches it; at indexing they cost a second decode of every large photo);\n"
                        "remembered: later runs, --watch and re-indexing from the server keep making them");
  args.flag("no-previews", "stop making previews at indexing (the default; remembered like --previews)");
  args.flag("follow-symlinks", "follow symlinks that lead out of the indexed folders (default: only those inside)");
  args.flag("json", "JSON lines on stdout (progress, failures, summary last)");
  args.flag("quiet", "no progress bar").alias('q');
  args.flag("watch", "after indexing, keep watching the folders and re-index on changes (Ctrl-C stops)");
  args.option("debounce-ms", "MS", "with --watch: quiet time before re-indexing", "1000");
  args.flag("estimate", "measure this machine on a sample and print expected time, disk and memory; index nothing");
  args.option("sample", "N", "with --estimate: photos to measure", "16");
  args.epilog("examples:\n  viewfinder index ~/Pictures\n  viewfinder index /photos --model models/dinov2-base --batch 16 --json\n"
              "  viewfinder index /photos --estimate\n  viewfinder index /photos --watch");
  vf::cli::add_store_option(args);
  if (!args.parse(argc, argv)) return args.exit_code();
  return vf::cli::guarded([&] {
    if (args.positionals().empty()) throw vf::Error("give at least one file or folder to index", vf::ErrorCode::InvalidArgument);
    vf::IndexParams params = params_from_args(args);
    if (params.batch_size < 1 || params.batch_size > 1024) throw vf::Error("--batch must be 1..1024", vf::ErrorCode::InvalidArgument);
    bool json_mode = args.has("json");
    std::string library_dir = args.get("library");
    // A missing root of an existing library is the library's to judge (an unmounted share
    // holding its photos stops the run with its own message); otherwise fail before creating one.
    std::error_code lib_ec;
    const bool library_exists = fs::exists(library_dir + "/catalog.sqlite3", lib_ec);
    for (const auto& r : params.roots) {
      std::error_code ec;
      if (!library_exists && !fs::exists(r, ec) && ec != std::errc::permission_denied)
        throw vf::Error(r + ": no such file or directory", vf::ErrorCode::NotFound);
    }
    auto lib = vf::cli::open_library(args, library_dir, /*read_only=*/false);
    if (args.has("estimate")) return run_estimate(*lib, params, json_mode, std::max(1, args.get_int("sample")));

    vf::cli::ProgressLine bar(!json_mode && !args.has("quiet"));
    auto progress = make_progress(json_mode, args.has("quiet"), bar);
    auto report = lib->index(params, progress);
    bar.finish();
    if (json_mode)
      std::cout << line(report_json(report)) << "\n";
    else
      print_summary(report, lib->dir());
    std::cout.flush();
    if (!args.has("watch")) return 0;

    watch_and_reindex(*lib, params, progress, bar, json_mode, std::max(0, args.get_int("debounce-ms")));
    return 0;
  });
}

}  // namespace

VF_COMMAND("index", "index photos into the library (incremental, crash-safe; --watch, --estimate)", cmd_index);
