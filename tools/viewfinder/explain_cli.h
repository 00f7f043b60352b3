// Query pictures for `viewfinder explain` and `viewfinder search --region`: a QUERY word
// (an image file, id:N, a bare id or an indexed path) as a picture, and its photo id.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "viewfinder/explain.h"
#include "viewfinder/viewfinder.h"

namespace vf::cli_explain {

struct QueryPicture {
  std::optional<int64_t> id;  // when the word names an indexed photo
  std::string file;           // when it is a file outside the library
};

inline QueryPicture resolve_query_word(const std::string& word, const vf::Library& lib) {
  namespace fs = std::filesystem;
  QueryPicture q;
  std::string w = word.rfind("id:", 0) == 0 ? word.substr(3) : word;
  bool digits = !w.empty() && w.find_first_not_of("0123456789") == std::string::npos;
  if (digits && (word.rfind("id:", 0) == 0 || !fs::exists(w))) {
    q.id = std::stoll(w);
    if (!lib.photo(*q.id))
      throw vf::Error("photo id " + w + " is not in the library", vf::ErrorCode::NotFound);
    return q;
  }
  if (!fs::exists(w)) throw vf::Error(w + ": no such file (and not a photo id)", vf::ErrorCode::NotFound);
  std::string abs = fs::weakly_canonical(fs::absolute(w)).string();
  if (auto p = lib.photo_by_path(abs)) q.id = p->id;
  else q.file = abs;
  return q;
}

// The picture as displayed, at least `min_long_edge` long where the original allows.
inline vf::RgbImage query_picture(const QueryPicture& q, const vf::Library& lib, int min_long_edge) {
  if (q.id) return vf::load_display_picture(*lib.photo(*q.id), min_long_edge);
  return vf::decode_rgb(q.file, min_long_edge * 3 / 4);
}

// Patch features: cached per photo for library photos, one forward for a file.
inline vf::PatchGrid query_patches(const QueryPicture& q, const vf::Library& lib, vf::Explainer& ex) {
  if (q.id) return ex.photo_patches({*q.id})[0];
  return ex.picture_patches(query_picture(q, lib, ex.params().max_side));
}

// `search FILE --region x,y,w,h`: the region of the single query picture, searched through
// the Explainer (first stage + patch re-rank). The query's own photo is left out.
inline vf::SearchResults region_search(const vf::Library& lib, vf::Searcher& searcher, const vf::SearchQuery& q,
                                       const std::vector<std::string>& words, const std::string& region_text,
                                       const vf::EngineParams& engine, int rerank) {
  vf::Region region = vf::parse_region(region_text);
  if (words.size() != 1 || !q.negative_ids.empty() || !q.negative_files.empty())
    throw vf::Error("--region needs exactly one query picture (no +/- examples)", vf::ErrorCode::InvalidArgument);
  std::string w = words[0];
  if (!w.empty() && w[0] == '+') w = w.substr(1);
  QueryPicture qp = resolve_query_word(w, lib);
  vf::ExplainParams params;
  params.rerank = rerank;
  vf::Explainer ex(lib, engine, params);
  std::optional<int64_t> exclude;
  if (qp.id && q.exclude_query_ids) exclude = qp.id;
  return ex.region_search(searcher, q, query_picture(qp, lib, 1280), region, exclude);
}

}  // namespace vf::cli_explain
