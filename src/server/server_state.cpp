#include "server/server_state.h"

#include <strings.h>
#include <sys/stat.h>

#include <algorithm>
#include <iostream>
#include <set>

#include "server/server_util.h"

namespace vf::server {

ServerState::ServerState(const ServerParams& p)
    : params(p),
      log(p.log_file),
      limiter(p.max_concurrent, p.max_queue, p.queue_timeout_s),
      upload_limiter(p.max_upload_decodes, p.max_queue, p.queue_timeout_s) {
  web_root = resolve_web_root();
  for (auto& r : params.roots) {
    auto rp = real_path(r);
    if (!rp) throw Error("root " + r + " does not exist", ErrorCode::NotFound);
    configured_roots.push_back(*rp);
  }
  gen_ = load_generation();
}

ServerState::~ServerState() {
  {
    std::lock_guard<std::mutex> lock(index.mu);
    index.stop = true;
  }
  index.wake.notify_all();
  if (index.refresher.joinable()) index.refresher.join();
  if (index.thread.joinable()) index.thread.join();
}

std::shared_ptr<Generation> ServerState::gen() {
  std::lock_guard<std::mutex> lock(gen_mu_);
  return gen_;
}

void ServerState::reload() {
  auto g = load_generation();
  std::lock_guard<std::mutex> lock(gen_mu_);
  gen_ = std::move(g);
}

std::string ServerState::resolve_web_root() const {
  std::vector<std::string> candidates;
  if (!params.web_root.empty()) candidates.push_back(params.web_root);
#ifdef VF_WEB_ROOT_SOURCE
  candidates.push_back(VF_WEB_ROOT_SOURCE);
#endif
#ifdef VF_WEB_ROOT_INSTALL
  candidates.push_back(VF_WEB_ROOT_INSTALL);
#endif
  for (auto& c : candidates) {
    struct stat st{};
    if (::stat((c + "/index.html").c_str(), &st) == 0) {
      auto rp = real_path(c);
      if (rp) return *rp;
    }
    if (!params.web_root.empty() && c == params.web_root)
      throw Error("web root " + c + " has no index.html", ErrorCode::NotFound);
  }
  return "";  // the API still works; "/" explains that the UI is missing
}

std::shared_ptr<Generation> ServerState::load_generation() const {
  auto g = std::make_shared<Generation>();
  g->library = Library::open(params.library_dir, /*read_only=*/true);
  g->engine = params.engine;
  if (g->engine.model_dir.empty()) g->engine.model_dir = g->library->model_dir();
  g->shared_searcher = std::make_unique<Searcher>(*g->library, g->engine);
  g->info = g->library->info();
  // The model loads here, at start (and on reload, before the swap), not in the first query.
  // A library without a usable model (nothing indexed, model moved) still serves filters and
  // text; its image queries report the reason, as before.
  if (!g->engine.model_dir.empty()) {
    try {
      g->shared_searcher->load_model();
    } catch (const Error& e) {
      std::cerr << "warning: model not loaded at start: " << e.what() << "\n";
    }
  }
  auto rp = real_path(g->library->dir());
  g->thumbs_root = rp ? *rp : g->library->dir();

  // One pass over the catalog (filters alone, all photos) for the facets the UI offers,
  // the example queries, and the folders that bound what may be served.
  std::vector<PhotoRecord> all;
  if (g->info.photos > 0) {
    auto r = g->shared_searcher->list(Filters{}, int(std::min<int64_t>(g->info.photos, 10'000'000)), 0);
    all.reserve(r.hits.size());
    for (auto& h : r.hits) all.push_back(std::move(h.photo));
  }
  std::map<std::string, int64_t> folders, years, formats, lenses;
  // Camera facet keyed by the model string (what the model filter matches), labelled
  // "Make Model" for people.
  std::map<std::string, std::pair<std::string, int64_t>> cameras;
  std::map<int, int64_t> ratings;
  std::set<std::string> canon_folders;
  std::map<std::string, std::string> folder_canon;
  for (auto& p : all) {
    if (!p.meta.model.empty()) {
      auto& c = cameras[p.meta.model];
      if (c.first.empty()) {
        std::string first_word = p.meta.make.substr(0, p.meta.make.find(' '));
        bool has_make = first_word.empty() ||
                        strncasecmp(p.meta.model.c_str(), first_word.c_str(), first_word.size()) == 0;
        c.first = has_make ? p.meta.model : first_word + " " + p.meta.model;
      }
      c.second++;
    }
    folders[p.folder]++;
    if (!p.meta.lens.empty()) lenses[p.meta.lens]++;
    if (p.meta.capture_time.size() >= 4) years[p.meta.capture_time.substr(0, 4)]++;
    if (!p.meta.format.empty()) formats[p.meta.format]++;
    if (p.meta.rating) ratings[*p.meta.rating]++;
    if (!folder_canon.count(p.folder)) {
      auto fr = real_path(p.folder);
      folder_canon[p.folder] = fr ? *fr : "";
      if (fr) canon_folders.insert(*fr);
    }
  }
  if (!configured_roots.empty()) {
    g->roots = configured_roots;
  } else if (g->info.reader) {
    // A reader's paths come from a collection other machines write: it serves files only
    // under the --root the user gives (serve --reader requires one), never under whatever
    // folder a row names.
  } else {
    // Minimal set: drop folders that lie under another indexed folder.
    for (auto& f : canon_folders) {
      if (!path_within_any(f, g->roots)) g->roots.push_back(f);
    }
  }
  auto to_list = [](const auto& m) {
    json a = json::array();
    for (auto& [k, v] : m) a.push_back({{"value", k}, {"count", v}});
    return a;
  };
  json cams = json::array();
  for (auto& [model, c] : cameras) cams.push_back({{"value", model}, {"label", c.first}, {"count", c.second}});
  g->facets = {{"cameras", cams}, {"lenses", to_list(lenses)}, {"folders", to_list(folders)},
               {"years", to_list(years)},     {"formats", to_list(formats)},
               {"ratings", to_list(ratings)}};

  // Example queries: one representative per stored cluster, else photos spread over time.
  try {
    if (auto c = stored_clusters(*g->library)) {
      std::vector<Cluster> cl = c->clusters;
      std::sort(cl.begin(), cl.end(), [](auto& a, auto& b) { return a.size > b.size; });
      for (auto& x : cl)
        if (!x.representatives.empty() && g->examples.size() < 8) g->examples.push_back(x.representatives[0]);
    }
  } catch (const Error&) {
    // No clusters stored yet: fall through to the spread below.
  }
  if (g->examples.empty() && !all.empty()) {
    size_t n = std::min<size_t>(8, all.size());
    for (size_t i = 0; i < n; ++i) g->examples.push_back(all[i * all.size() / n].id);
  }
  return g;
}

}  // namespace vf::server
