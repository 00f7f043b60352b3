// Region search and heatmap benchmark (bench/region.sh, docs/search.md "Search by a region").
//
//   region_bench make OUT_DIR SHARED_PHOTOS   composites: flower crops pasted into real photos
//   region_bench eval LIBRARY OUT_DIR         recall@10 of each query mode, heatmap timings
//
// `make` takes objects (the central 60 % of flowers17 images, two per class) and pastes each
// into 3 different background photos (camera_exif, near_duplicates/skimage) at a random place
// and a scale of 25, 35 or 50 % of the background's long edge. The library to index is
// OUT_DIR/library (composites, the untouched backgrounds and other flowers17 images as
// distractors); the source flower photos stay outside it and are the queries. A query is
// relevant to the 3 composites holding its object. queries.json records it all.
//
// `eval` compares, for each source photo: the whole picture (global search), the region
// (box around the object) through the first stage only (the crop's global embedding), and the
// region re-ranked by patch matching (patch_weight 1 and 0.5). It also times the heatmaps of
// 12 results of a query (cold: nothing cached; warm: the results' features cached).
#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "viewfinder/explain.h"
#include "viewfinder/viewfinder.h"

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

std::vector<std::string> images_under(const fs::path& dir) {
  std::vector<std::string> out;
  for (auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file() && vf::has_image_extension(e.path().string())) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

void write_png(const std::string& path, const vf::RgbImage& img) {
  auto bytes = vf::encode_png(img);
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

vf::RgbImage fit_long_edge(const vf::RgbImage& img, int edge) {
  double s = double(edge) / std::max(img.width, img.height);
  if (s >= 1) return img;
  return vf::resize_picture(img, std::max(1, int(img.width * s)), std::max(1, int(img.height * s)));
}

int make(const fs::path& out, const fs::path& photos) {
  const vf::Region object_box{0.2, 0.2, 0.6, 0.6};
  fs::create_directories(out / "library" / "composites");
  fs::create_directories(out / "library" / "backgrounds");
  fs::create_directories(out / "library" / "distractors");
  fs::create_directories(out / "queries");
  std::vector<std::string> backgrounds;
  for (auto dir : {"camera_exif", "near_duplicates/skimage"})
    for (auto& p : images_under(photos / dir)) {
      try {
        auto img = vf::decode_rgb(p, 480);
        if (std::min(img.width, img.height) < 300) continue;
        std::string name = "bg" + std::to_string(backgrounds.size()) + ".png";
        write_png((out / "library" / "backgrounds" / name).string(), fit_long_edge(img, 640));
        backgrounds.push_back((out / "library" / "backgrounds" / name).string());
      } catch (const vf::Error&) {
      }
    }
  auto flowers = images_under(photos / "flowers17" / "images");
  std::mt19937 rng(7);
  json queries = json::array();
  const double scales[] = {0.25, 0.35, 0.5};
  int composite = 0;
  for (size_t i = 0; i < flowers.size(); ++i) {
    int in_class = int(i % 40);
    if (in_class >= 4) {
      if (in_class < 8) fs::copy_file(flowers[i], out / "library" / "distractors" / fs::path(flowers[i]).filename(),
                                      fs::copy_options::overwrite_existing);
      continue;
    }
    if (in_class >= 2) continue;
    auto src = vf::decode_rgb(flowers[i]);
    auto object = vf::crop_region(src, object_box);
    std::string qname = (out / "queries" / ("q" + std::to_string(queries.size()) + ".png")).string();
    write_png(qname, src);
    json relevant = json::array();
    for (int c = 0; c < 3; ++c) {
      auto bg = vf::decode_rgb(backgrounds[rng() % backgrounds.size()]);
      int edge = int(scales[c] * std::max(bg.width, bg.height));
      auto obj = vf::resize_picture(object, std::min(edge, bg.width - 1),
                                                  std::min(int(double(edge) * object.height / object.width), bg.height - 1));
      int x0 = int(rng() % (bg.width - obj.width)), y0 = int(rng() % (bg.height - obj.height));
      for (int y = 0; y < obj.height; ++y)
        std::copy_n(&obj.pixels[size_t(y) * obj.width * 3], size_t(obj.width) * 3,
                    &bg.pixels[(size_t(y0 + y) * bg.width + x0) * 3]);
      std::string cname = (out / "library" / "composites" / ("c" + std::to_string(composite++) + ".png")).string();
      write_png(cname, bg);
      relevant.push_back(cname);
    }
    queries.push_back({{"query", qname}, {"source", flowers[i]}, {"relevant", relevant},
                       {"region", {object_box.x, object_box.y, object_box.w, object_box.h}}});
  }
  std::ofstream(out / "queries.json") << json{{"queries", queries}}.dump(1);
  std::cout << queries.size() << " queries, " << composite << " composites, " << backgrounds.size() << " backgrounds\n";
  return 0;
}

double recall10(const vf::SearchResults& r, const vf::Library& lib, const json& relevant) {
  int found = 0;
  for (auto& h : r.hits) {
    auto p = lib.photo(h.id);
    for (auto& rel : relevant)
      if (p && fs::weakly_canonical(p->path) == fs::weakly_canonical(rel.get<std::string>())) ++found;
  }
  return double(found) / relevant.size();
}

int eval(const std::string& library_dir, const fs::path& out) {
  auto lib = vf::Library::open(library_dir, true);
  json spec = json::parse(std::ifstream(out / "queries.json"));
  vf::Searcher searcher(*lib);
  struct Mode {
    std::string name;
    float patch_weight;  // < 0: whole picture
    bool from_crop;
  };
  std::vector<Mode> modes = {{"whole picture, global", -1, false},
                             {"region crop, global (first stage only)", 0, false},
                             {"region, re-rank top 60 by patch containment, region patches from the whole picture's grid", 1, false},
                             {"region, re-rank top 60 by patch containment, region patches from a forward of the crop", 1, true},
                             {"region, re-rank top 60 by 0.5 global + 0.5 containment (whole-picture grid)", 0.5f, false}};
  json report = json::object();
  if (std::getenv("VF_REGION_MODES_SKIP")) modes.clear();
  vf::Explainer ex(*lib);  // one patch cache for every mode
  for (auto& m : modes) {
    vf::ExplainParams ep;
    ep.patch_weight = std::max(0.0f, m.patch_weight);
    ep.region_from_crop = m.from_crop;
    ep.cache_bytes = int64_t(512) << 20;
    ex.set_params(ep);
    double sum = 0, ms = 0;
    for (auto& q : spec["queries"]) {
      vf::SearchQuery sq;
      sq.k = 10;
      auto t0 = Clock::now();
      vf::SearchResults r;
      if (m.patch_weight < 0) {
        sq.positive_files = {q["query"].get<std::string>()};
        r = searcher.search(sq);
      } else {
        auto reg = q["region"];
        r = ex.region_search(searcher, sq, vf::decode_rgb(q["query"].get<std::string>()),
                             vf::Region{reg[0], reg[1], reg[2], reg[3]}, std::nullopt);
      }
      ms += ms_since(t0);
      sum += recall10(r, *lib, q["relevant"]);
    }
    size_t n = spec["queries"].size();
    report[m.name] = {{"recall_at_10", sum / n}, {"mean_ms", ms / n}, {"queries", n}};
    std::cout << m.name << ": recall@10 " << sum / n << ", " << ms / n << " ms/query\n" << std::flush;
  }
  // Heatmaps of 12 results of a query, as /api/explain serves them. Wall time on a shared
  // machine says little: process CPU time / engine threads is the 2-core figure.
  vf::EngineParams engine;
  if (const char* prec = std::getenv("VF_PRECISION")) engine.precision = vf::parse_precision(prec);
  if (const char* threads = std::getenv("VF_THREADS")) engine.threads = std::atoi(threads);
  vf::Explainer hx(*lib, engine);
  vf::SearchQuery sq;
  sq.k = 12;
  sq.positive_ids = {1};
  auto hits = searcher.search(sq).hits;
  std::vector<int64_t> ids;
  for (auto& h : hits) ids.push_back(h.id);
  auto q = hx.photo_patches({1})[0];  // opens the engine: not part of the timing
  auto cpu_ms = [] { return 1000.0 * double(std::clock()) / CLOCKS_PER_SEC; };
  double c0 = cpu_ms();
  auto t0 = Clock::now();
  auto grids = hx.photo_patches(ids);
  for (auto& g : grids) vf::match_heatmaps(q, g);
  double cold = ms_since(t0), cold_cpu = cpu_ms() - c0;
  auto t1 = Clock::now();
  for (auto id : ids) vf::match_heatmaps(q, hx.photo_patches({id})[0]);
  double warm = ms_since(t1);
  vf::Explainer one_by_one(*lib, engine);
  auto q2 = one_by_one.photo_patches({1})[0];
  double c2 = cpu_ms();
  auto t2 = Clock::now();
  for (auto id : ids) vf::match_heatmaps(q2, one_by_one.photo_patches({id})[0]);
  double unbatched = ms_since(t2), unbatched_cpu = cpu_ms() - c2;
  report["heatmaps_12"] = {{"cold_batched_ms", cold}, {"cold_batched_cpu_ms", cold_cpu},
                           {"cold_one_by_one_ms", unbatched}, {"cold_one_by_one_cpu_ms", unbatched_cpu},
                           {"warm_ms", warm}, {"grid", {q.rows, q.cols}}, {"dim", q.dim}};
  std::cout << "12 heatmaps: cold batched " << cold << " ms (cpu " << cold_cpu << "), one by one " << unbatched
            << " ms (cpu " << unbatched_cpu << "), warm " << warm << " ms (grid " << q.rows << "x" << q.cols
            << ", dim " << q.dim << ")\n";
  std::cout << report.dump() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "make" && argc == 4) return make(argv[2], argv[3]);
    if (mode == "eval" && argc == 4) return eval(argv[2], argv[3]);
    std::cerr << "usage: region_bench make OUT_DIR SHARED_PHOTOS | region_bench eval LIBRARY OUT_DIR\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
