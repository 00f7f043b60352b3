// The ANN index of a Viewfinder Milvus collection and how it is searched, as chosen on the
// store URL (milvus://HOST:PORT/COLLECTION?index=IVF_SQ8&nlist=1024&nprobe=256; the URL
// itself is parsed by store/milvus_store.cpp:parse_milvus_spec, which hands the query here).
//
//   index=HNSW      M (2..2048, default 16), efConstruction (1.., default 200);
//                   search: ef (1..32768, default 64), filter_ef (default max(ef, 512))
//   index=IVF_FLAT  nlist (1..65536, default 1024); search: nprobe (1..nlist, default
//   index=IVF_SQ8     nlist/4, at least 16), filter_nprobe (default 2 x nprobe, <= nlist)
//   index=IVF_PQ    the same, and m (sub-quantizers; dim % m == 0, default the largest
//                   divisor of dim <= dim/12: 64 for 768) and nbits (1..16, default 8)
//   index=FLAT      exact, no parameters
// The metric is always inner product (embeddings are L2-normalised). Build parameters need
// `index=` (they say what to build); search parameters alone (e.g. `?ef=128`) tune the
// collection's existing index. Errors are vf::Error(InvalidArgument) saying what is wrong.
// docs/scale.md has the measurements behind the defaults.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace vf::milvus {

struct IndexSpec {
  std::string type = "HNSW";  // HNSW | IVF_FLAT | IVF_SQ8 | IVF_PQ | FLAT
  bool named = false;         // the URL named the index (index=...): build it, rebuild on a change
  int hnsw_m = 16, hnsw_ef_construction = 200;
  int ivf_nlist = 1024;
  int pq_m = 0;  // 0 = chosen from the dimension (resolved_for_dim)
  int pq_nbits = 8;
  // Search breadth; 0 = the type's default (search_breadth).
  int ef = 0, filter_ef = 0;
  int nprobe = 0, filter_nprobe = 0;
};

// "index=IVF_PQ&nlist=1024&m=64" ("" = the defaults: HNSW, not named).
IndexSpec parse_index_query(const std::string& query);

// `spec` for vectors of `dim` floats: IVF_PQ's m chosen when 0, and checked to divide dim.
IndexSpec resolved_for_dim(IndexSpec spec, int dim);

// The search parameters of the index `built` (as DescribeIndex reports it) tuned by the
// URL's search keys in `url`; throws when a key does not apply to the built type (ef on IVF,
// nprobe on HNSW, nprobe > nlist).
IndexSpec with_search_settings(IndexSpec built, const IndexSpec& url);

bool is_ivf(const std::string& type);
// The build parameters of CreateIndex's "params" (JSON object text).
std::string build_params_json(const IndexSpec& spec);
// The index DescribeIndex reports (its key/value params, "params" holding a JSON object).
IndexSpec spec_from_index_params(const std::vector<std::pair<std::string, std::string>>& params);
// Whether two specs build the same index (type and build parameters; not search breadth).
bool same_build(const IndexSpec& a, const IndexSpec& b);
// "IVF_SQ8 nlist=1024", "HNSW M=16 efConstruction=200": the build, for messages.
std::string describe_build(const IndexSpec& spec);

struct SearchBreadth {
  int ef = 64;      // HNSW
  int nprobe = 16;  // IVF
};
// What one search sends; `filtered`: under a filter expression (which costs HNSW recall).
SearchBreadth search_breadth(const IndexSpec& spec, bool filtered);

}  // namespace vf::milvus
