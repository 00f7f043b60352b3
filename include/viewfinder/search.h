// Viewfinder public API: search, hybrid colour fusion, filters, duplicates, clusters and
// retrieval evaluation, all over an open Library.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "viewfinder/library.h"

namespace vf {

// Metadata filters. Every set field must match. Filters are applied inside the vector search
// (FAISS id selectors), so k results come back whenever k photos match.
struct Filters {
  std::optional<int64_t> date_from, date_to;  // capture time, unix seconds, inclusive
  // Date filters and "newest first" use capture times only; true lets a photo without one
  // be dated (and sorted) by its file time instead.
  bool include_file_times = false;
  std::string make, model, lens;              // case-insensitive substring, unless *_exact
  bool make_exact = false, model_exact = false, lens_exact = false;  // equal to the value (dropdowns)
  std::string path_prefix;                    // absolute path or folder prefix
  std::string format;                         // "jpeg", "heif", "raw", ...
  std::string orientation;                    // "landscape" | "portrait" | "square"
  int min_width = 0, min_height = 0;
  std::optional<int> min_rating;
  std::optional<std::array<double, 4>> gps_bbox;  // min_lat, min_lon, max_lat, max_lon
  bool empty() const;
};

// Filters from text parameters, the one reading of a filter for the HTTP API (query
// parameters, JSON "filters" members) and the CLI options alike. Keys:
//   date_from, date_to   YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS] or unix seconds; a date alone
//                        as date_to includes that whole day
//   include_file_times   1/true/yes: photos without a capture time are dated by file time
//   make, model, lens    case-insensitive substrings; a value starting with '=' matches
//                        exactly what follows ("=Canon EOS 5D" is not the 5D Mark III);
//                        camera: the same as model (the UI's camera facet)
//   folder               a folder: its contents only ("/p/2019" does not match "/p/2019-old")
//   path_prefix          a raw path prefix
//   format, orientation  orientation: landscape | portrait | square
//   min_width, min_height, min_rating
//   gps_bbox             min_lat,min_lon,max_lat,max_lon (min_lon > max_lon crosses the antimeridian)
//   bbox                 lat1,lon1,lat2,lon2: two opposite corners in any order
// An empty value sets nothing. Throws vf::Error (InvalidArgument) naming a bad value.
// parse_filter_param returns false for a key that is not a filter.
bool parse_filter_param(const std::string& name, const std::string& value, Filters& filters);
// All filter keys of `params`, applied in a fixed order (path_prefix after folder, camera
// after model); other keys are ignored.
Filters filters_from_params(const std::map<std::string, std::string>& params);

// Hybrid presets from the spec: alpha weight on semantic similarity.
std::optional<float> preset_alpha(const std::string& name);  // portrait 0.9, landscape 0.6, product 0.3

struct SearchQuery {
  // Examples. Files are decoded and embedded with the library's model; ids use the stored
  // embedding. Positives are averaged, negatives subtracted with negative_weight.
  std::vector<std::string> positive_files, negative_files;
  std::vector<int64_t> positive_ids, negative_ids;
  std::vector<std::vector<uint8_t>> positive_bytes;  // uploads
  float negative_weight = 0.5f;
  // Colour-only or colour-mixed query: hex colours "#rrggbb" (a palette).
  std::vector<std::string> colors;
  float alpha = 1.0f;   // score = alpha*semantic + (1-alpha)*colour
  int k = 10;
  int offset = 0;
  float min_score = -1.0f;  // drop hits below this fused score
  Filters filters;
  bool exclude_query_ids = true;  // "more like this" omits the example itself
  bool load_photos = true;        // false: hits carry ids and scores only (evaluation, paging)
  // One hit per duplicate group (its best-ranked member stands for the group, with the count
  // of the copies it hides) and one per stack (its pick); false shows every photo.
  bool collapse_duplicates = true;
  bool collapse_stacks = true;
};

struct SearchHit {
  int64_t id = 0;
  float score = 0;     // fused
  float semantic = 0;  // cosine of embeddings
  float color = 0;     // histogram intersection in [0,1]
  PhotoRecord photo;
  int copies = 0;                  // duplicates collapsed into this hit ("and N copies")
  int stacked = 0;                 // other frames of its stack collapsed into this hit
  std::vector<int64_t> hidden_ids; // the collapsed photos
};

struct SearchTimings {
  double decode_ms = 0, embed_ms = 0, search_ms = 0, total_ms = 0;
};

// One filter of a query on its own, and how many photos it alone matches ("make=Nikon": 0).
struct FilterMatch {
  std::string filter;  // "name=value" as the filter parser reads it
  int64_t matched = 0;
};

struct SearchResults {
  std::vector<SearchHit> hits;
  int64_t matched = -1;  // photos passing the filters (-1 if not computed)
  SearchTimings timings;
  // Only when filters left no result: each filter alone, so the caller can say which one
  // excluded everything (or that only their combination does).
  std::vector<FilterMatch> filter_matches;
};

// Opens the engine lazily on first image query and keeps it for the session.
class Searcher {
 public:
  explicit Searcher(const Library& library, EngineParams engine = {});
  ~Searcher();
  Searcher(const Searcher&) = delete;
  Searcher& operator=(const Searcher&) = delete;

  SearchResults search(const SearchQuery& query);
  // Filters alone: matching photos sorted by capture time (newest first).
  SearchResults list(const Filters& filters, int k, int offset);
  // Opens the engine now instead of on the first image query (`serve` calls it at start so
  // that no query pays the model load). Throws vf::Error as the first image query would.
  void load_model();

 private:
  void explain_empty(const Filters& filters, SearchResults& res);  // fills filter_matches
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ---- duplicates ----------------------------------------------------------------------
// Three kinds, each with its evidence (docs/search.md#duplicates):
//   "identical_bytes"   the same content hash (the file bytes are equal);
//   "identical_pixels"  decoded pixels equal (same size, every RGB value equal) in another
//                       container or format: a lossless conversion, a metadata-only edit;
//   "near"              visually the same (re-encodes, resizes, crops, small edits): embedding
//                       cosine >= threshold, or pHash distance <= phash_max_distance.
struct DupeParams {
  // Cosine above which two photos are near-duplicate candidates. Conservative by default:
  // distinct frames of one scene (bursts of different moments) usually stay below it.
  float threshold = 0.95f;
  int max_neighbors = 16;  // per photo, through the index (never all pairs)
  bool exact = true;       // identical bytes and identical pixels
  bool near = true;
  // The pHash/colour route, off when < 0: neighbours in the colour index whose 64-bit
  // perceptual hashes differ in at most this many bits are also near-duplicates. Catches
  // re-encodes when the embedding model is weak; 6..10 bits is the usual range.
  int phash_max_distance = -1;
  Filters filters;
};

struct DupeMember {
  int64_t id = 0;
  std::string path;
  float similarity = 1.0f;  // embedding cosine to the keeper, clamped to [0, 1]
  // To the keeper: "keeper" | "identical_bytes" | "identical_pixels" | "near".
  std::string relation;
  int phash_distance = -1;  // bits from the keeper's pHash; -1 when either has none
  std::string evidence;     // the hash, the pixel comparison, or similarity and pHash distance
  // When this member is an identical copy of another (non-keeper) member: that member's id
  // and the kind ("identical_bytes" | "identical_pixels"); 0 / "" otherwise.
  int64_t copy_of = 0;
  std::string copy_kind;
  std::string format;
  int width = 0, height = 0;
  int64_t file_size = 0;
};

// Groups never overlap: each photo is in at most one group. The group's kind is its weakest
// link to the keeper (a group with one near member is "near").
struct DupeGroup {
  std::string kind;  // "identical_bytes" | "identical_pixels" | "near"
  int64_t keeper = 0;
  std::string keeper_reason;  // the rule that beat the runner-up, e.g. "more pixels: 2268x1512 over 510x532"
  std::vector<DupeMember> members;  // keeper first
};

std::vector<DupeGroup> find_duplicates(const Library& library, const DupeParams& params);

// A group member's evidence as JSON fields, the same in `viewfinder dupes --json` and the HTTP
// API (docs/api.md); the caller adds the photo itself (id, path). Works with any
// nlohmann::json-like object.
template <class Json>
void put_dupe_evidence(Json& j, const DupeMember& m, int64_t keeper) {
  j["relation"] = m.relation;
  j["evidence"] = m.evidence;
  j["similarity"] = std::round(m.similarity * 1e4) / 1e4;
  j["keeper"] = m.id == keeper;
  j["format"] = m.format;
  j["width"] = m.width;
  j["height"] = m.height;
  j["file_size"] = m.file_size;
  if (m.phash_distance >= 0) j["phash_distance"] = m.phash_distance;
  if (m.copy_of) j["copy_of"] = m.copy_of, j["copy_kind"] = m.copy_kind;
}

// ---- stacks: RAW+JPEG pairs, bursts, brackets --------------------------------------------
// A stack is several frames of one moment that a photographer looks at as one: not
// duplicates (each frame is different), but shown together with a pick (docs/search.md#stacks).
struct StackParams {
  double window_s = 2.0;         // bursts/brackets: consecutive captures at most this far apart
  float min_similarity = 0.80f;  // and embedding cosine to the previous frame at least this
  bool raw_jpeg = true;          // RAW+JPEG pairs
  bool bursts = true;            // bursts and exposure brackets
  Filters filters;
};

struct StackMember {
  int64_t id = 0;
  std::string path;
  std::string format;
  int width = 0, height = 0;
  int64_t capture_unix = 0;
  double sharpness = 0;   // variance of the Laplacian on the stored preview (grey, 0..255)
  double exposure = 0;    // exposure quality in [0, 1]: 1 - clipped fraction - |mean - mid| penalty
  double clipped = 0;     // fraction of pixels at 0..2 or 253..255
  double mean_luma = 0;   // 0..255
  std::optional<double> exposure_s;  // the shutter time, when recorded
};

struct Stack {
  std::string kind;  // "raw_jpeg" | "burst" | "bracket"
  std::string evidence;  // e.g. "same folder and stem IMG_0001", "5 frames in 1.2 s, cosine >= 0.91"
  int64_t pick = 0;
  std::string pick_reason;
  std::vector<StackMember> members;  // the pick first, then by capture time
};

std::vector<Stack> find_stacks(const Library& library, const StackParams& params);

// ---- clusters ------------------------------------------------------------------------
struct ClusterParams {
  int k = 20;           // spec default
  // Choose k by silhouette in [k_min, k_max], k_max capped at (photos / 5): a "group" of
  // fewer than 5 photos says little, and k-means needs points to place its centroids.
  bool auto_k = false;
  int k_min = 2, k_max = 40;
  int representatives = 6;
  int seed = 1234;
  bool store = true;    // save in the catalog for the UI
};

// One thing most members of a cluster share, as it goes into the label.
struct ClusterFact {
  std::string kind;   // "dates" | "place" | "camera" | "lens" | "keywords" | "colours"
  std::string text;   // e.g. "Oct 2008", "around 43.47N 11.88E", "NIKON COOLPIX P6000"
  double share = 0;   // fraction of the members that carry it (>= 0.5)
};

struct Cluster {
  int id = 0;
  int64_t size = 0;
  // Built only from what most members share (docs/search.md#cluster-labels): the facts below
  // joined by " · ", or "no shared metadata".
  std::string label;
  std::vector<ClusterFact> facts;
  // The user's name for the cluster ("" when never renamed); see rename_cluster().
  std::string name;
  std::vector<int64_t> representatives;  // nearest to centroid first
  const std::string& title() const { return name.empty() ? label : name; }
};

struct ClusterResult {
  int k = 0;
  // Why k differs from the one asked for ("" when it does not), e.g. the library is too
  // small for that many clusters.
  std::string note;
  double inertia = 0;
  double silhouette = 0;
  std::vector<std::pair<int, double>> silhouette_by_k;  // when auto_k
  std::vector<Cluster> clusters;
};

ClusterResult cluster_library(Library& library, const ClusterParams& params);
std::optional<ClusterResult> stored_clusters(const Library& library);
// Names cluster `cluster` of the stored run (trimmed, at most 200 bytes, no control
// characters; "" gives back the automatic label). The name is kept until the next clustering
// run, which hands it to the new cluster holding most of the renamed one's photos (when that
// is at least half of them). Throws vf::Error NotFound for an unknown cluster or no stored run,
// InvalidArgument for a bad name.
void rename_cluster(const Library& library, int cluster, const std::string& name);
// Members of one stored cluster (latest run), nearest to the centroid first; paged.
std::vector<int64_t> stored_cluster_members(const Library& library, int cluster, int limit = 100,
                                            int offset = 0);

// ---- evaluation ----------------------------------------------------------------------
// Ground truth, either format:
//   {"queries": {"<query path or id>": ["<relevant path>", ...], ...}}  (Holidays / Oxford)
//   {"labels":  {"<path>": "<class>", ...}}  (every other image of the same class is relevant)
// A TSV "path<TAB>label" file is also read as class labels.
struct GroundTruth {
  std::map<std::string, std::vector<std::string>> queries;  // resolved to absolute paths
};
GroundTruth load_ground_truth(const std::string& file, const std::string& base_dir = "");

struct EvalParams {
  std::vector<int> ks = {1, 5, 10};
  float alpha = 1.0f;  // 0: colour-only features
};

struct EvalReport {
  int queries = 0;
  std::map<int, double> precision_at, recall_at;
  double mean_average_precision = 0;
  int missing_queries = 0;    // ground-truth queries not in the library (skipped)
  int64_t missing_relevant = 0;  // relevant paths not in the library (count as never found)
  int64_t ranked_depth = 0;   // results ranked per query for AP
};

EvalReport evaluate(const Library& library, const GroundTruth& truth, const EvalParams& params);

// Metric primitives (exposed for tests): `ranked` is the result list without the query.
double average_precision(const std::vector<std::string>& ranked,
                         const std::vector<std::string>& relevant);
double precision_at_k(const std::vector<std::string>& ranked,
                      const std::vector<std::string>& relevant, int k);
double recall_at_k(const std::vector<std::string>& ranked,
                   const std::vector<std::string>& relevant, int k);

}  // namespace vf
