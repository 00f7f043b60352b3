#include "mirror_option.h"

#include <chrono>
#include <memory>

namespace vf::cli {

Args& add_path_map_option(Args& args) {
  return args.multi("path-map", "FROM=TO",
                    "the workers' path FROM is TO on this machine (e.g. /mnt/nas/photos=/srv/photos); "
                    "the longest FROM wins; remembered by the reader (a new value replaces "
                    "it and re-maps every photo; 'none' removes it)");
}

MirrorParams mirror_params(const Args& args, const std::string& command, const std::string& dir,
                           const std::string& model_dir) {
  MirrorParams p;
  p.store = args.has("store") ? args.get("store") : "";
  if (p.store.empty() && is_reader_library(dir)) p.store = Library::open(dir, true)->info().index_type;
  if (p.store.empty())
    throw Error(command + " needs --store milvus://HOST:PORT/COLLECTION", ErrorCode::InvalidArgument);
  p.model_dir = model_dir;
  if (args.has("path-map")) p.path_map = parse_path_map(args.get_all("path-map"));
  return p;
}

ProgressFn sync_progress(ProgressLine& bar) {
  const auto start = std::chrono::steady_clock::now();
  auto shown = std::make_shared<bool>(false);
  return [&bar, start, shown](const IndexProgress& p) {
    const bool last = p.total > 0 && p.done >= p.total;
    if (!*shown && (last || std::chrono::steady_clock::now() - start < std::chrono::seconds(1))) return;
    *shown = true;
    bar.update(p.phase, p.done, p.total, 0, p.rate, p.eta_s);
    if (last) bar.finish();
  };
}

}  // namespace vf::cli
