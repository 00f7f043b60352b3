// The Milvus collection's index settings (milvus_index.h): parsed from the store URL's query,
// checked against Milvus 2.3's ranges before anything is created, and compared with what
// DescribeIndex reports.
#include "store/milvus/milvus_index.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "viewfinder/error.h"

namespace vf::milvus {
namespace {

// HNSW's filtered search breadth: Knowhere's HNSW loses recall under a filter. Measured at
// 100k x 768 with 10% allowed (docs/scale.md, "Milvus column"): recall@10 0.87 at ef 64,
// 0.93 at 256, 0.96 at 512 (unfiltered: 0.98 at ef 64).
constexpr int kFilteredHnswEf = 512;
constexpr int kMaxEf = 32768;
constexpr int kMaxNlist = 65536;  // Milvus 2.3's IVF range [1, 65536]

const std::set<std::string>& index_types() {
  static const std::set<std::string> t = {"HNSW", "IVF_FLAT", "IVF_SQ8", "IVF_PQ", "FLAT"};
  return t;
}

[[noreturn]] void fail(const std::string& why) { throw Error(why, ErrorCode::InvalidArgument); }

int parse_int(const std::string& key, const std::string& text, int lo, int hi) {
  size_t used = 0;
  long long v = 0;
  try {
    v = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (text.empty() || used != text.size() || !std::isdigit(static_cast<unsigned char>(text[0])))
    fail(key + "=" + text + " is not a whole number");
  if (v < lo || v > hi)
    fail(key + "=" + text + " is out of range: Milvus takes " + std::to_string(lo) + ".." + std::to_string(hi));
  return static_cast<int>(v);
}

// Which keys apply to which index type: build keys, then search keys.
bool key_applies(const std::string& key, const std::string& type) {
  if (key == "M" || key == "efConstruction" || key == "ef" || key == "filter_ef") return type == "HNSW";
  if (key == "nlist" || key == "nprobe" || key == "filter_nprobe") return is_ivf(type);
  if (key == "m" || key == "nbits") return type == "IVF_PQ";
  return false;
}

bool is_build_key(const std::string& key) {
  return key == "M" || key == "efConstruction" || key == "nlist" || key == "m" || key == "nbits";
}

std::string keys_for(const std::string& type) {
  if (type == "HNSW") return "M, efConstruction, ef, filter_ef";
  if (type == "IVF_PQ") return "nlist, m, nbits, nprobe, filter_nprobe";
  if (is_ivf(type)) return "nlist, nprobe, filter_nprobe";
  return "none";
}

// Reads the search keys present in `kv` into `spec` (whose type is set).
void read_search_keys(const std::map<std::string, std::string>& kv, IndexSpec& spec) {
  for (const auto& [key, value] : kv) {
    if (is_build_key(key) || key == "index") continue;
    if (!key_applies(key, spec.type))
      fail(key + " does not apply to a " + spec.type + " index (its keys: " + keys_for(spec.type) + ")");
    if (key == "ef") spec.ef = parse_int(key, value, 1, kMaxEf);
    if (key == "filter_ef") spec.filter_ef = parse_int(key, value, 1, kMaxEf);
    if (key == "nprobe") spec.nprobe = parse_int(key, value, 1, kMaxNlist);
    if (key == "filter_nprobe") spec.filter_nprobe = parse_int(key, value, 1, kMaxNlist);
  }
}

void check_nprobe_within_nlist(const IndexSpec& spec) {
  for (int probe : {spec.nprobe, spec.filter_nprobe})
    if (probe > spec.ivf_nlist)
      fail("nprobe " + std::to_string(probe) + " exceeds nlist " + std::to_string(spec.ivf_nlist) +
           " (an IVF search probes at most every list)");
}

}  // namespace

bool is_ivf(const std::string& type) { return type.rfind("IVF_", 0) == 0; }

IndexSpec parse_index_query(const std::string& query) {
  static const std::set<std::string> known = {"index", "M",  "efConstruction", "ef",           "filter_ef",
                                              "nlist", "m",  "nbits",          "nprobe",       "filter_nprobe"};
  std::map<std::string, std::string> kv;
  size_t at = 0;
  while (at < query.size()) {
    size_t amp = query.find('&', at);
    if (amp == std::string::npos) amp = query.size();
    const std::string pair = query.substr(at, amp - at);
    at = amp + 1;
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    if (eq == std::string::npos) fail("\"" + pair + "\" has no value (write key=value)");
    const std::string key = pair.substr(0, eq), value = pair.substr(eq + 1);
    if (!known.count(key))
      fail("unknown setting \"" + key + "\" (known: index, M, efConstruction, ef, filter_ef, nlist, m, nbits, " +
           "nprobe, filter_nprobe; M is HNSW's degree, m IVF_PQ's sub-quantizers)");
    if (!kv.emplace(key, value).second) fail(key + " is given twice");
  }
  IndexSpec spec;
  if (kv.count("index")) {
    std::string type = kv["index"];
    std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) { return std::toupper(c); });
    if (!index_types().count(type))
      fail("unknown index \"" + kv["index"] + "\": Viewfinder builds HNSW, IVF_FLAT, IVF_SQ8, IVF_PQ or FLAT");
    spec.type = type;
    spec.named = true;
  }
  for (const auto& [key, value] : kv) {
    if (!is_build_key(key)) continue;
    if (!spec.named)
      fail(key + " is a build parameter: name the index too (index=" +
           std::string(key == "M" || key == "efConstruction" ? "HNSW" : key == "nlist" ? "IVF_SQ8" : "IVF_PQ") +
           "&" + key + "=...)");
    if (!key_applies(key, spec.type))
      fail(key + " does not apply to a " + spec.type + " index (its keys: " + keys_for(spec.type) + ")");
    if (key == "M") spec.hnsw_m = parse_int(key, value, 2, 2048);
    if (key == "efConstruction") spec.hnsw_ef_construction = parse_int(key, value, 1, INT_MAX);
    if (key == "nlist") spec.ivf_nlist = parse_int(key, value, 1, kMaxNlist);
    if (key == "m") spec.pq_m = parse_int(key, value, 1, kMaxNlist);
    if (key == "nbits") spec.pq_nbits = parse_int(key, value, 1, 16);
  }
  if (spec.named) {
    read_search_keys(kv, spec);
    if (is_ivf(spec.type)) check_nprobe_within_nlist(spec);
  } else {
    // Search keys only: their type is the collection's, checked when it is known
    // (with_search_settings); here each key is kept as given.
    for (const auto& [key, value] : kv) {
      if (key == "ef") spec.ef = parse_int(key, value, 1, kMaxEf);
      if (key == "filter_ef") spec.filter_ef = parse_int(key, value, 1, kMaxEf);
      if (key == "nprobe") spec.nprobe = parse_int(key, value, 1, kMaxNlist);
      if (key == "filter_nprobe") spec.filter_nprobe = parse_int(key, value, 1, kMaxNlist);
    }
  }
  return spec;
}

IndexSpec resolved_for_dim(IndexSpec spec, int dim) {
  if (spec.type != "IVF_PQ" || dim <= 0) return spec;
  if (spec.pq_m == 0) {
    // 12 dimensions per sub-quantizer, as FAISS's IVF4096,PQ64 at 768 (faiss_index.cpp).
    spec.pq_m = 1;
    for (int m = std::max(1, dim / 12); m >= 1; --m)
      if (dim % m == 0) {
        spec.pq_m = m;
        break;
      }
  }
  if (spec.pq_m > dim || dim % spec.pq_m != 0)
    fail("IVF_PQ m=" + std::to_string(spec.pq_m) + " must divide the vectors' " + std::to_string(dim) +
         " dimensions (e.g. m=" + std::to_string(resolved_for_dim(IndexSpec{"IVF_PQ"}, dim).pq_m) + ")");
  return spec;
}

IndexSpec with_search_settings(IndexSpec built, const IndexSpec& url) {
  const bool hnsw_keys = url.ef || url.filter_ef, ivf_keys = url.nprobe || url.filter_nprobe;
  if ((hnsw_keys && built.type != "HNSW") || (ivf_keys && !is_ivf(built.type)))
    fail(std::string(hnsw_keys ? "ef" : "nprobe") + " does not apply to the collection's " + built.type +
         " index (its keys: " + keys_for(built.type) + ")");
  built.ef = url.ef;
  built.filter_ef = url.filter_ef;
  built.nprobe = url.nprobe;
  built.filter_nprobe = url.filter_nprobe;
  if (is_ivf(built.type)) check_nprobe_within_nlist(built);
  return built;
}

std::string build_params_json(const IndexSpec& spec) {
  nlohmann::json p = nlohmann::json::object();
  if (spec.type == "HNSW") {
    p["M"] = spec.hnsw_m;
    p["efConstruction"] = spec.hnsw_ef_construction;
  } else if (is_ivf(spec.type)) {
    p["nlist"] = spec.ivf_nlist;
    if (spec.type == "IVF_PQ") {
      p["m"] = spec.pq_m;
      p["nbits"] = spec.pq_nbits;
    }
  } else if (spec.type != "FLAT") {
    fail("unsupported Milvus index type \"" + spec.type + "\": expected HNSW, IVF_FLAT, IVF_SQ8, IVF_PQ or FLAT");
  }
  return p.dump();
}

IndexSpec spec_from_index_params(const std::vector<std::pair<std::string, std::string>>& params) {
  std::map<std::string, std::string> kv;
  for (const auto& [k, v] : params) {
    if (k != "params") {
      kv[k] = v;
      continue;
    }
    const auto j = nlohmann::json::parse(v, nullptr, false);  // {"M":"16"} or {"M":16}
    if (!j.is_object()) continue;
    for (const auto& [jk, jv] : j.items()) kv[jk] = jv.is_string() ? jv.get<std::string>() : jv.dump();
  }
  IndexSpec s;
  s.named = true;
  s.type = kv.count("index_type") ? kv["index_type"] : "";
  auto num = [&](const char* key, int fallback) {
    try {
      return kv.count(key) ? std::stoi(kv[key]) : fallback;
    } catch (const std::exception&) {
      return fallback;
    }
  };
  s.hnsw_m = num("M", s.hnsw_m);
  s.hnsw_ef_construction = num("efConstruction", s.hnsw_ef_construction);
  s.ivf_nlist = num("nlist", s.ivf_nlist);
  s.pq_m = num("m", 0);
  s.pq_nbits = num("nbits", s.pq_nbits);
  return s;
}

bool same_build(const IndexSpec& a, const IndexSpec& b) {
  if (a.type != b.type) return false;
  if (a.type == "HNSW") return a.hnsw_m == b.hnsw_m && a.hnsw_ef_construction == b.hnsw_ef_construction;
  if (a.type == "IVF_PQ") return a.ivf_nlist == b.ivf_nlist && a.pq_m == b.pq_m && a.pq_nbits == b.pq_nbits;
  if (is_ivf(a.type)) return a.ivf_nlist == b.ivf_nlist;
  return true;
}

std::string describe_build(const IndexSpec& s) {
  if (s.type == "HNSW")
    return "HNSW M=" + std::to_string(s.hnsw_m) + " efConstruction=" + std::to_string(s.hnsw_ef_construction);
  if (s.type == "IVF_PQ")
    return "IVF_PQ nlist=" + std::to_string(s.ivf_nlist) + " m=" + std::to_string(s.pq_m) +
           " nbits=" + std::to_string(s.pq_nbits);
  if (is_ivf(s.type)) return s.type + " nlist=" + std::to_string(s.ivf_nlist);
  return s.type.empty() ? "(none)" : s.type;
}

SearchBreadth search_breadth(const IndexSpec& s, bool filtered) {
  SearchBreadth b;
  b.ef = s.ef > 0 ? s.ef : 64;
  if (filtered) b.ef = s.filter_ef > 0 ? s.filter_ef : std::max(b.ef, kFilteredHnswEf);
  if (is_ivf(s.type)) {
    // A quarter of the lists (at least 16): Milvus 2.3.5's IVF_SQ8 (nlist 1024) reached
    // recall@10 0.87 / 0.89 / 0.92 / 0.956 at nprobe 16 / 64 / 128 / 256 on the clustered
    // 768-d vectors at 100k (docs/scale.md; FAISS's IVF needs far fewer). Under a filter twice
    // as many, since the allowed neighbours lie further out and so in more lists (0.975 at 512).
    const int base = s.nprobe > 0 ? s.nprobe : std::min(s.ivf_nlist, std::max(16, s.ivf_nlist / 4));
    b.nprobe = filtered ? (s.filter_nprobe > 0 ? s.filter_nprobe : std::min(s.ivf_nlist, 2 * base)) : base;
  }
  return b;
}

}  // namespace vf::milvus
