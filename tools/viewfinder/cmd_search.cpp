// viewfinder search: search by example (files, indexed photos, several positives and
// negatives), hybrid colour fusion, colour-only search, metadata filters, or filters alone.
#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli.h"
#include "explain_cli.h"
#include "store_option.h"
#include "search_cli_common.h"
#include "viewfinder/viewfinder.h"

namespace {
namespace fs = std::filesystem;
using nlohmann::json;

// One QUERY word: "+a.jpg" / "-b.jpg" (rclip-style), "id:123", a bare number that is not a
// file, an indexed path (uses the stored embedding), or any image file.
// A positive decimal photo id; a clear error (not "stoll") for anything else, 20 digits included.
int64_t photo_id_of(const std::string& digits, const std::string& word) {
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(digits.c_str(), &end, 10);
  if (digits.empty() || errno || *end || v < 1)
    throw vf::Error("bad photo id \"" + word + "\" (want a positive integer)", vf::ErrorCode::InvalidArgument);
  return v;
}

void add_query_word(const std::string& word, vf::Library& lib, vf::SearchQuery& q) {
  bool negative = false;
  std::string w = word;
  if (!w.empty() && (w[0] == '+' || w[0] == '-') && w.size() > 1) {
    negative = w[0] == '-';
    w = w.substr(1);
  }
  std::optional<int64_t> id;
  if (w.rfind("id:", 0) == 0) {
    id = photo_id_of(w.substr(3), w);
  } else if (!fs::exists(w) && !w.empty() && w.find_first_not_of("0123456789") == std::string::npos) {
    id = photo_id_of(w, w);
  } else if (fs::exists(w)) {
    std::string abs = fs::weakly_canonical(fs::absolute(w)).string();
    if (auto p = lib.photo_by_path(abs); p && !lib.embedding(p->id).empty()) id = p->id;
  } else {
    throw vf::Error(w + ": no such file (and not a photo id)", vf::ErrorCode::NotFound);
  }
  if (id) {
    if (!lib.photo(*id)) throw vf::Error("photo id " + std::to_string(*id) + " is not in the library", vf::ErrorCode::NotFound);
    (negative ? q.negative_ids : q.positive_ids).push_back(*id);
  } else {
    (negative ? q.negative_files : q.positive_files).push_back(w);
  }
}

std::string fmt(double v, int prec = 3) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(prec) << v;
  return s.str();
}

// "No results" with filters: which one excluded everything (each filter alone, counted).
void print_filter_matches(const vf::SearchResults& res) {
  bool one_empty = false;
  for (const auto& m : res.filter_matches) {
    std::cout << "  " << m.filter << " alone matches " << m.matched << " photos"
              << (m.matched == 0 ? "  <- excludes everything" : "") << "\n";
    one_empty = one_empty || m.matched == 0;
  }
  if (!one_empty && res.filter_matches.size() > 1) std::cout << "  each matches some photos; together they match none\n";
}

// The options of `viewfinder search` (the query words are positionals).
void declare_search_options(vf::cli::Args& args) {
  args.allow_dash_positionals();
  args.option("library", "DIR", "library directory", vf::default_library_dir()).alias('l');
  args.option("k", "N", "number of results", "10").alias('k');
  args.option("offset", "N", "skip this many results (pagination)", "0");
  args.option("alpha", "A", "hybrid weight: score = A*semantic + (1-A)*colour", "1");
  args.option("preset", "NAME", "hybrid preset: portrait (0.9), landscape (0.6), product (0.3)");
  args.multi("color", "HEX", "target colour #rrggbb; several make a palette");
  args.option("min-score", "S", "drop results whose fused score is below S");
  args.option("negative-weight", "W", "weight of negative examples", "0.5");
  vf::cli_search::add_filter_options(args);
  args.option("model", "DIR", "model directory to embed query files with (default: the library's)");
  args.option("model-dir", "DIR", "the same as --model (older name)");
  args.option("region", "X,Y,W,H", "search for this box of the query picture (fractions 0..1, as displayed)");
  args.option("rerank", "N", "--region: candidates re-ranked by patch matching", "60");
  args.flag("all-copies", "show every copy of a duplicate (default: one result per duplicate group, \"and N copies\")");
  args.flag("expand-stacks", "show every frame of a stack (default: its pick, \"+N in stack\")");
  args.flag("json", "print JSON (hits, scores, metadata, timings)");
  args.epilog("examples:\n"
              "  viewfinder search beach.jpg\n"
              "  viewfinder search id:42 -k 20\n"
              "  viewfinder search +sunset.jpg +sea.jpg -people.jpg\n"
              "  viewfinder search --color '#ff0000'                  find red photos\n"
              "  viewfinder search portrait.jpg --preset portrait --from 2019-01-01 --make canon\n"
              "  viewfinder search --folder ~/Pictures/2020 --min-rating 4   list by date\n"
              "  viewfinder search id:42 --region 0.1,0.2,0.3,0.3   photos containing that part of #42");
  vf::cli::add_store_option(args);
}

int cmd_search(int argc, char** argv) {
  vf::cli::Args args("search", "QUERY...",
                     "Find photos like the query. QUERY words: an image file, an indexed photo's path or id\n"
                     "(id:123 or 123: \"more like this\", the photo itself is left out), +a.jpg to add a\n"
                     "positive example, -b.jpg to push results away from an example. Positives are averaged,\n"
                     "negatives subtracted (weight --negative-weight) and the result re-normalised.\n"
                     "With --color only (no QUERY), finds photos by colour. With filters only, lists the\n"
                     "matching photos, newest first.");
  declare_search_options(args);
  if (!args.parse(argc, argv)) return args.exit_code();
  return vf::cli::guarded([&] {
    auto lib = vf::cli::open_library(args, args.get("library"), /*read_only=*/true);
    vf::SearchQuery q;
    q.k = args.get_int("k");
    q.offset = args.get_int("offset");
    q.alpha = static_cast<float>(args.get_double("alpha"));
    if (args.has("preset")) {
      auto a = vf::preset_alpha(args.get("preset"));
      if (!a) throw vf::Error("unknown preset \"" + args.get("preset") + "\": portrait, landscape or product",
                              vf::ErrorCode::InvalidArgument);
      if (args.has("alpha")) throw vf::Error("give --alpha or --preset, not both", vf::ErrorCode::InvalidArgument);
      q.alpha = *a;
    }
    if (args.has("min-score")) q.min_score = static_cast<float>(args.get_double("min-score"));
    q.negative_weight = static_cast<float>(args.get_double("negative-weight"));
    q.colors = args.get_all("color");
    q.collapse_duplicates = !args.has("all-copies");
    q.collapse_stacks = !args.has("expand-stacks");
    q.filters = vf::cli_search::parse_filters(args);
    for (const auto& w : args.positionals()) add_query_word(w, *lib, q);
    // --color with examples but no explicit alpha: mix evenly rather than ignore the colour.
    if (!q.colors.empty() && !args.has("alpha") && !args.has("preset") && !args.positionals().empty())
      q.alpha = 0.5f;
    vf::EngineParams ep;
    if (args.has("model-dir")) ep.model_dir = args.get("model-dir");
    if (args.has("model")) ep.model_dir = args.get("model");
    vf::Searcher searcher(*lib, ep);
    bool listing = args.positionals().empty() && q.colors.empty();
    if (listing && q.filters.empty())
      throw vf::Error("give a query (image, id, +/- examples), --color, or at least one filter",
                      vf::ErrorCode::InvalidArgument);
    auto res = listing ? searcher.list(q.filters, q.k, q.offset)
               : args.has("region") ? vf::cli_explain::region_search(*lib, searcher, q, args.positionals(), args.get("region"), ep, args.get_int("rerank"))
                                    : searcher.search(q);
    if (args.has("json")) {
      json hits = json::array();
      for (const auto& h : res.hits) {
        json j = vf::cli_search::photo_json(h.photo);
        j["id"] = h.id;
        if (!listing) {
          j["score"] = h.score;
          j["semantic"] = h.semantic;
          j["color"] = h.color;
          j["copies"] = h.copies;
          j["stacked"] = h.stacked;
          j["hidden_ids"] = h.hidden_ids;
        }
        hits.push_back(j);
      }
      json why = json::array();
      for (const auto& m : res.filter_matches) why.push_back({{"filter", m.filter}, {"matched", m.matched}});
      json out = {{"hits", hits},
                  {"matched", res.matched},
                  {"filter_matches", why},
                  {"mode", listing ? "list" : "search"},
                  {"alpha", q.alpha},
                  {"timings", {{"decode_ms", res.timings.decode_ms}, {"embed_ms", res.timings.embed_ms},
                               {"search_ms", res.timings.search_ms}, {"total_ms", res.timings.total_ms}}}};
      std::cout << out.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
      return 0;
    }
    if (res.hits.empty()) {
      std::cout << "no results";
      if (res.matched >= 0 && !q.filters.empty()) std::cout << " (" << res.matched << " photos match the filters)";
      std::cout << "\n";
      print_filter_matches(res);
      return 0;
    }
    int rank = q.offset;
    for (const auto& h : res.hits) {
      ++rank;
      std::cout << std::setw(3) << rank << "  ";
      if (!listing)
        std::cout << fmt(h.score) << "  (sem " << fmt(h.semantic) << ", col " << fmt(h.color) << ")  ";
      std::cout << h.photo.path;
      std::string extra;
      if (!h.photo.meta.capture_time.empty()) extra += h.photo.meta.capture_time.substr(0, 10);
      else if (!h.photo.meta.file_time.empty()) extra += "file time " + h.photo.meta.file_time.substr(0, 10);
      std::string cam = h.photo.meta.model.empty() ? h.photo.meta.make : h.photo.meta.model;
      if (!cam.empty()) extra += (extra.empty() ? "" : ", ") + cam;
      if (!extra.empty()) std::cout << "  [" << extra << "]";
      std::cout << "  #" << h.id;
      if (h.copies) std::cout << "  and " << h.copies << (h.copies == 1 ? " copy" : " copies");
      if (h.stacked) std::cout << "  +" << h.stacked << " in stack";
      std::cout << "\n";
    }
    std::cerr << res.hits.size() << " results";
    if (res.matched >= 0) std::cerr << " of " << res.matched << (q.filters.empty() ? " photos" : " matching photos");
    std::cerr << " in " << fmt(res.timings.total_ms, 1) << " ms";
    if (res.timings.embed_ms > 0)
      std::cerr << " (decode " << fmt(res.timings.decode_ms, 1) << ", embed " << fmt(res.timings.embed_ms, 1)
                << ", search " << fmt(res.timings.search_ms, 1) << ")";
    std::cerr << "\n";
    return 0;
  });
}

}  // namespace

VF_COMMAND("search", "find photos by example, colour or metadata filters", cmd_search);
