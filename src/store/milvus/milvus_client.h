// A small synchronous client for Milvus 2.3's gRPC API (MilvusService), for Viewfinder's
// Milvus vector store: one collection per library, keyed by Viewfinder's photo id, with the
// embedding and the scalar fields that filters run on (see milvus_schema.h).
//
// Every call has a deadline. Failures throw vf::Error naming the server address:
//   ErrorCode::Network  "cannot reach Milvus at 127.0.0.1:19530: ..." (down, refused, restarted)
//   ErrorCode::Timeout  "Milvus at 127.0.0.1:19530 did not answer Search within 10000 ms"
//   ErrorCode::Generic  "Milvus at 127.0.0.1:19530: Upsert into photos failed: <reason>"
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "store/milvus/milvus_index.h"  // IndexSpec: the ANN index and its parameters
#include "store/milvus/milvus_schema.h"

namespace vf::milvus {

// Read-your-writes needs Strong (or Session from the same client, which waits only for this
// client's own writes). Bounded may miss writes of the last few seconds; it is the cheapest.
enum class Consistency { Strong, Session, Bounded, Eventually };
Consistency parse_consistency(const std::string& name);  // "strong" | "session" | "bounded" | "eventually"

struct ClientOptions {
  std::string address = "127.0.0.1:19530";  // host:port of the proxy (gRPC)
  int connect_timeout_ms = 5000;
  int call_timeout_ms = 30000;       // every RPC except the waits below
  int load_timeout_ms = 120000;      // LoadCollection until fully loaded
  int flush_timeout_ms = 120000;     // Flush until the segments are persisted
  size_t upsert_batch_rows = 1000;   // rows per Upsert request (also capped at ~32 MB)
};

// How far the vector index of a collection is built (DescribeIndex): rows of sealed
// segments indexed so far, of all rows; building ends when pending == 0 and indexed == total.
struct IndexProgress {
  int64_t indexed_rows = 0, total_rows = 0, pending_rows = 0;
  std::string state;  // "Finished", "InProgress", "Failed", ... ("" when no index exists)
  std::string fail_reason;
};

struct SearchRequest {
  std::vector<float> query;  // dim floats
  int k = 10;
  std::string expr;          // Milvus boolean expression ("" = no filter), see milvus_expr.h
  Consistency consistency = Consistency::Strong;
  int hnsw_ef = 64;          // HNSW: search breadth (raised to k when smaller)
  int ivf_nprobe = 16;       // IVF: lists probed
  std::vector<std::string> output_fields;  // scalar fields to return with each hit
};

struct SearchHit {
  int64_t id = 0;
  float score = 0;  // inner product
  PhotoFields fields;  // only the requested output_fields are filled
};

class Client {
 public:
  explicit Client(ClientOptions options);  // connects; throws when unreachable
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const std::string& address() const;
  std::string server_version();  // GetVersion, e.g. "v2.3.x"

  bool has_collection(const std::string& name);
  // Creates the Viewfinder photo collection (schema in milvus_schema.h) with `dim` floats;
  // `description` is stored with it ("" = a generic text).
  void create_collection(const std::string& name, int dim, int shards = 1, const std::string& description = "");
  void drop_collection(const std::string& name);  // no error when it does not exist
  int collection_dim(const std::string& name);    // from DescribeCollection
  struct CollectionInfo {
    int dim = 0;
    std::string description;
    std::vector<std::string> fields;  // every field name, in schema order
  };
  CollectionInfo describe_collection(const std::string& name);
  // The vector index (metric: inner product, embeddings are L2-normalised).
  void create_index(const std::string& name, const IndexSpec& index);
  // The vector index as DescribeIndex reports it; nullopt when the collection has none.
  std::optional<IndexSpec> describe_index(const std::string& name);
  // Drops the vector index (Milvus 2.3 requires the collection released first).
  void drop_index(const std::string& name);
  IndexProgress index_progress(const std::string& name);  // DescribeIndex of the vector index
  // The collection's segments loaded in the query nodes (GetQuerySegmentInfo): rows, memory
  // (Milvus 2.3.5 reports 0) and the index each is searched with (index_id 0: none yet,
  // searched by brute force or Milvus's interim index).
  struct LoadedSegment {
    int64_t id = 0, rows = 0, mem_bytes = 0, index_id = 0;
  };
  std::vector<LoadedSegment> loaded_segments(const std::string& name);
  void load(const std::string& name);             // waits until 100% loaded
  void release(const std::string& name);

  // Insert-or-replace by id, in batches. Re-running the same rows never duplicates them.
  void upsert(const std::string& name, const std::vector<PhotoRow>& rows);
  void remove(const std::string& name, const std::vector<int64_t>& ids);
  void flush(const std::string& name);  // persists growing segments, waits for it

  std::vector<SearchHit> search(const std::string& name, const SearchRequest& request);
  // Rows matching `expr` (required by Milvus: e.g. "id >= 0"), with the chosen fields;
  // include "vector" to read embeddings. limit <= 16384 per call (Milvus's query window).
  std::vector<PhotoRow> query(const std::string& name, const std::string& expr,
                              const std::vector<std::string>& output_fields, int64_t limit,
                              Consistency consistency = Consistency::Strong);
  // Rows with lo <= id < hi, read in batches of batch_rows (for clusters, duplicates, migrate).
  std::vector<PhotoRow> read_id_range(const std::string& name, int64_t lo, int64_t hi,
                                      bool with_vectors, int batch_rows = 4096,
                                      Consistency consistency = Consistency::Strong);
  int64_t count(const std::string& name, Consistency consistency = Consistency::Strong);
  // Rows matching `expr` ("" = all), counted inside Milvus.
  int64_t count_where(const std::string& name, const std::string& expr,
                      Consistency consistency = Consistency::Strong);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vf::milvus
