#include "store/milvus/milvus_client.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "milvus.grpc.pb.h"
#include "store/milvus/milvus_rows.h"
#include "viewfinder/error.h"

namespace vf::milvus {
namespace pb = ::milvus::proto::milvus;
namespace common = ::milvus::proto::common;
namespace schema = ::milvus::proto::schema;
using Clock = std::chrono::steady_clock;

namespace {

common::ConsistencyLevel to_proto(Consistency c) {
  switch (c) {
    case Consistency::Strong: return common::ConsistencyLevel::Strong;
    case Consistency::Session: return common::ConsistencyLevel::Session;
    case Consistency::Bounded: return common::ConsistencyLevel::Bounded;
    case Consistency::Eventually: return common::ConsistencyLevel::Eventually;
  }
  return common::ConsistencyLevel::Strong;
}

void add_kv(google::protobuf::RepeatedPtrField<common::KeyValuePair>* kvs, const std::string& key,
            const std::string& value) {
  auto* kv = kvs->Add();
  kv->set_key(key);
  kv->set_value(value);
}

std::string id_list_expr(const std::vector<int64_t>& ids, size_t begin, size_t end) {
  std::string e = std::string(kIdField) + " in [";
  for (size_t i = begin; i < end; ++i) e += (i > begin ? "," : "") + std::to_string(ids[i]);
  return e + "]";
}

}  // namespace

Consistency parse_consistency(const std::string& name) {
  if (name == "strong") return Consistency::Strong;
  if (name == "session") return Consistency::Session;
  if (name == "bounded") return Consistency::Bounded;
  if (name == "eventually") return Consistency::Eventually;
  throw Error("bad consistency level \"" + name + "\": expected strong, session, bounded or eventually",
              ErrorCode::InvalidArgument);
}

struct Client::Impl {
  ClientOptions options;
  std::shared_ptr<grpc::Channel> channel;  // gRPC's API hands out shared channels
  std::unique_ptr<pb::MilvusService::Stub> stub;
  uint64_t last_write_ts = 0;  // for Session consistency: this client's own writes

  // Runs one RPC with a deadline; turns transport failures and Milvus statuses into
  // vf::Error naming the address and the operation.
  template <typename Request, typename Response, typename Method>
  Response call(const char* op, Method method, const Request& request, int timeout_ms = 0) {
    grpc::ClientContext ctx;
    const int ms = timeout_ms > 0 ? timeout_ms : options.call_timeout_ms;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(ms));
    Response response;
    grpc::Status s = (stub.get()->*method)(&ctx, request, &response);
    if (s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED)
      throw Error("Milvus at " + options.address + " did not answer " + op + " within " + std::to_string(ms) +
                      " ms",
                  ErrorCode::Timeout);
    if (!s.ok())
      throw Error("cannot reach Milvus at " + options.address + ": " + op + ": " + s.error_message(),
                  ErrorCode::Network);
    return response;
  }

  void check(const char* op, const std::string& collection, const common::Status& st) {
    // Milvus 2.3 fills both the deprecated error_code and the newer code.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    const bool legacy_ok = st.error_code() == common::ErrorCode::Success;
#pragma GCC diagnostic pop
    if (legacy_ok && st.code() == 0) return;
    throw Error("Milvus at " + options.address + ": " + op + (collection.empty() ? "" : " on " + collection) +
                " failed: " + (st.reason().empty() ? "error code " + std::to_string(st.code()) : st.reason()));
  }

  void note_write(const pb::MutationResult& r) { last_write_ts = std::max(last_write_ts, r.timestamp()); }

  void set_consistency(Consistency c, pb::SearchRequest& r) {
    r.set_consistency_level(to_proto(c));
    r.set_use_default_consistency(false);
    if (c == Consistency::Session) r.set_guarantee_timestamp(last_write_ts);
  }
  void set_consistency(Consistency c, pb::QueryRequest& r) {
    r.set_consistency_level(to_proto(c));
    r.set_use_default_consistency(false);
    if (c == Consistency::Session) r.set_guarantee_timestamp(last_write_ts);
  }
};

Client::Client(ClientOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(256 << 20);
  args.SetMaxSendMessageSize(256 << 20);
  impl_->channel = grpc::CreateCustomChannel(impl_->options.address, grpc::InsecureChannelCredentials(), args);
  auto deadline = std::chrono::system_clock::now() + std::chrono::milliseconds(impl_->options.connect_timeout_ms);
  if (!impl_->channel->WaitForConnected(deadline))
    throw Error("cannot reach Milvus at " + impl_->options.address + ": no connection within " +
                    std::to_string(impl_->options.connect_timeout_ms) + " ms (is it running? scripts/milvus.sh status)",
                ErrorCode::Network);
  impl_->stub = pb::MilvusService::NewStub(impl_->channel);
  // One cheap call proves this is a Milvus proxy and not just an open port.
  server_version();
}

Client::~Client() = default;

const std::string& Client::address() const { return impl_->options.address; }

std::string Client::server_version() {
  auto r = impl_->call<pb::GetVersionRequest, pb::GetVersionResponse>("GetVersion", &pb::MilvusService::Stub::GetVersion,
                                                                      pb::GetVersionRequest());
  impl_->check("GetVersion", "", r.status());
  return r.version();
}

bool Client::has_collection(const std::string& name) {
  pb::HasCollectionRequest req;
  req.set_collection_name(name);
  auto r = impl_->call<pb::HasCollectionRequest, pb::BoolResponse>("HasCollection",
                                                                   &pb::MilvusService::Stub::HasCollection, req);
  impl_->check("HasCollection", name, r.status());
  return r.value();
}

void Client::create_collection(const std::string& name, int dim, int shards, const std::string& description) {
  if (dim <= 0) throw Error("Milvus collection dimension must be positive", ErrorCode::InvalidArgument);
  pb::CreateCollectionRequest req;
  req.set_collection_name(name);
  req.set_schema(photo_schema(name, dim, description).SerializeAsString());
  req.set_shards_num(shards);
  req.set_consistency_level(common::ConsistencyLevel::Strong);
  auto st = impl_->call<pb::CreateCollectionRequest, common::Status>(
      "CreateCollection", &pb::MilvusService::Stub::CreateCollection, req);
  impl_->check("CreateCollection", name, st);
}

void Client::drop_collection(const std::string& name) {
  if (!has_collection(name)) return;
  pb::DropCollectionRequest req;
  req.set_collection_name(name);
  auto st = impl_->call<pb::DropCollectionRequest, common::Status>("DropCollection",
                                                                   &pb::MilvusService::Stub::DropCollection, req);
  impl_->check("DropCollection", name, st);
}

int Client::collection_dim(const std::string& name) { return describe_collection(name).dim; }

Client::CollectionInfo Client::describe_collection(const std::string& name) {
  pb::DescribeCollectionRequest req;
  req.set_collection_name(name);
  auto r = impl_->call<pb::DescribeCollectionRequest, pb::DescribeCollectionResponse>(
      "DescribeCollection", &pb::MilvusService::Stub::DescribeCollection, req);
  impl_->check("DescribeCollection", name, r.status());
  CollectionInfo info;
  info.description = r.schema().description();
  for (const auto& f : r.schema().fields()) {
    info.fields.push_back(f.name());
    if (f.name() == kVectorField)
      for (const auto& kv : f.type_params())
        if (kv.key() == "dim") info.dim = std::stoi(kv.value());
  }
  if (info.dim <= 0)
    throw Error("Milvus collection " + name + " at " + address() + " has no \"vector\" field: not a Viewfinder collection",
                ErrorCode::Corrupt);
  return info;
}

void Client::create_index(const std::string& name, const IndexSpec& index) {
  pb::CreateIndexRequest req;
  req.set_collection_name(name);
  req.set_field_name(kVectorField);
  req.set_index_name("vector_index");
  const std::string params = build_params_json(index);  // throws on an unknown type
  add_kv(req.mutable_extra_params(), "index_type", index.type);
  add_kv(req.mutable_extra_params(), "metric_type", "IP");
  add_kv(req.mutable_extra_params(), "params", params);
  auto st = impl_->call<pb::CreateIndexRequest, common::Status>("CreateIndex", &pb::MilvusService::Stub::CreateIndex,
                                                                req);
  impl_->check("CreateIndex", name, st);
}

std::optional<IndexSpec> Client::describe_index(const std::string& name) {
  pb::DescribeIndexRequest req;
  req.set_collection_name(name);
  req.set_field_name(kVectorField);
  auto r = impl_->call<pb::DescribeIndexRequest, pb::DescribeIndexResponse>(
      "DescribeIndex", &pb::MilvusService::Stub::DescribeIndex, req);
  if (r.index_descriptions_size() == 0) return std::nullopt;  // Milvus answers IndexNotExist
  impl_->check("DescribeIndex", name, r.status());
  std::vector<std::pair<std::string, std::string>> params;
  for (const auto& kv : r.index_descriptions(0).params()) params.emplace_back(kv.key(), kv.value());
  return spec_from_index_params(params);
}

void Client::drop_index(const std::string& name) {
  pb::DropIndexRequest req;
  req.set_collection_name(name);
  req.set_field_name(kVectorField);
  req.set_index_name("vector_index");
  auto st = impl_->call<pb::DropIndexRequest, common::Status>("DropIndex", &pb::MilvusService::Stub::DropIndex, req);
  impl_->check("DropIndex", name, st);
}

IndexProgress Client::index_progress(const std::string& name) {
  pb::DescribeIndexRequest req;
  req.set_collection_name(name);
  req.set_field_name(kVectorField);
  auto r = impl_->call<pb::DescribeIndexRequest, pb::DescribeIndexResponse>(
      "DescribeIndex", &pb::MilvusService::Stub::DescribeIndex, req);
  IndexProgress p;
  if (r.index_descriptions_size() == 0) return p;  // no index (Milvus answers IndexNotExist)
  impl_->check("DescribeIndex", name, r.status());
  const auto& d = r.index_descriptions(0);
  p.indexed_rows = d.indexed_rows();
  p.total_rows = d.total_rows();
  p.pending_rows = d.pending_index_rows();
  p.state = common::IndexState_Name(d.state());
  p.fail_reason = d.index_state_fail_reason();
  return p;
}

std::vector<Client::LoadedSegment> Client::loaded_segments(const std::string& name) {
  pb::GetQuerySegmentInfoRequest req;
  req.set_collectionname(name);
  auto r = impl_->call<pb::GetQuerySegmentInfoRequest, pb::GetQuerySegmentInfoResponse>(
      "GetQuerySegmentInfo", &pb::MilvusService::Stub::GetQuerySegmentInfo, req);
  impl_->check("GetQuerySegmentInfo", name, r.status());
  std::vector<LoadedSegment> out;
  for (const auto& i : r.infos()) out.push_back({i.segmentid(), i.num_rows(), i.mem_size(), i.indexid()});
  return out;
}

void Client::load(const std::string& name) {
  pb::LoadCollectionRequest req;
  req.set_collection_name(name);
  req.set_replica_number(1);
  auto st = impl_->call<pb::LoadCollectionRequest, common::Status>("LoadCollection",
                                                                   &pb::MilvusService::Stub::LoadCollection, req);
  impl_->check("LoadCollection", name, st);
  const auto until = Clock::now() + std::chrono::milliseconds(impl_->options.load_timeout_ms);
  pb::GetLoadingProgressRequest progress;
  progress.set_collection_name(name);
  while (true) {
    auto r = impl_->call<pb::GetLoadingProgressRequest, pb::GetLoadingProgressResponse>(
        "GetLoadingProgress", &pb::MilvusService::Stub::GetLoadingProgress, progress);
    impl_->check("GetLoadingProgress", name, r.status());
    if (r.progress() >= 100) return;
    if (Clock::now() > until)
      throw Error("Milvus at " + address() + ": collection " + name + " not loaded within " +
                      std::to_string(impl_->options.load_timeout_ms) + " ms (" + std::to_string(r.progress()) + "%)",
                  ErrorCode::Timeout);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

void Client::release(const std::string& name) {
  pb::ReleaseCollectionRequest req;
  req.set_collection_name(name);
  auto st = impl_->call<pb::ReleaseCollectionRequest, common::Status>(
      "ReleaseCollection", &pb::MilvusService::Stub::ReleaseCollection, req);
  impl_->check("ReleaseCollection", name, st);
}

void Client::upsert(const std::string& name, const std::vector<PhotoRow>& rows) {
  if (rows.empty()) return;
  const int dim = static_cast<int>(rows.front().vector.size());
  // Batches stay well under the server's 64 MB request limit whatever the dimension.
  const size_t max_by_bytes = std::max<size_t>(1, (32u << 20) / (dim * sizeof(float) + 8192));
  const size_t batch = std::max<size_t>(1, std::min(impl_->options.upsert_batch_rows, max_by_bytes));
  for (size_t begin = 0; begin < rows.size(); begin += batch) {
    const size_t end = std::min(rows.size(), begin + batch);
    pb::UpsertRequest req;
    req.set_collection_name(name);
    req.set_num_rows(static_cast<uint32_t>(end - begin));
    rows_to_columns(rows, begin, end, dim, req.mutable_fields_data());
    auto r = impl_->call<pb::UpsertRequest, pb::MutationResult>("Upsert", &pb::MilvusService::Stub::Upsert, req);
    impl_->check("Upsert", name, r.status());
    impl_->note_write(r);
  }
}

void Client::remove(const std::string& name, const std::vector<int64_t>& ids) {
  const size_t batch = 10000;  // keeps the expression short
  for (size_t begin = 0; begin < ids.size(); begin += batch) {
    pb::DeleteRequest req;
    req.set_collection_name(name);
    req.set_expr(id_list_expr(ids, begin, std::min(ids.size(), begin + batch)));
    auto r = impl_->call<pb::DeleteRequest, pb::MutationResult>("Delete", &pb::MilvusService::Stub::Delete, req);
    impl_->check("Delete", name, r.status());
    impl_->note_write(r);
  }
}

void Client::flush(const std::string& name) {
  pb::FlushRequest req;
  req.add_collection_names(name);
  auto r = impl_->call<pb::FlushRequest, pb::FlushResponse>("Flush", &pb::MilvusService::Stub::Flush, req);
  impl_->check("Flush", name, r.status());
  pb::GetFlushStateRequest state;
  state.set_collection_name(name);
  if (auto it = r.coll_segids().find(name); it != r.coll_segids().end())
    for (int64_t seg : it->second.data()) state.add_segmentids(seg);
  if (auto it = r.coll_flush_ts().find(name); it != r.coll_flush_ts().end()) state.set_flush_ts(it->second);
  const auto until = Clock::now() + std::chrono::milliseconds(impl_->options.flush_timeout_ms);
  while (true) {
    auto s = impl_->call<pb::GetFlushStateRequest, pb::GetFlushStateResponse>(
        "GetFlushState", &pb::MilvusService::Stub::GetFlushState, state);
    impl_->check("GetFlushState", name, s.status());
    if (s.flushed()) return;
    if (Clock::now() > until)
      throw Error("Milvus at " + address() + ": flush of " + name + " not done within " +
                      std::to_string(impl_->options.flush_timeout_ms) + " ms",
                  ErrorCode::Timeout);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

std::vector<SearchHit> Client::search(const std::string& name, const SearchRequest& request) {
  if (request.k <= 0) return {};
  pb::SearchRequest req;
  req.set_collection_name(name);
  req.set_dsl(request.expr);
  req.set_dsl_type(common::DslType::BoolExprV1);
  for (const auto& f : request.output_fields) req.add_output_fields(f);
  common::PlaceholderGroup group;
  auto* ph = group.add_placeholders();
  ph->set_tag("$0");
  ph->set_type(common::PlaceholderType::FloatVector);
  ph->add_values(reinterpret_cast<const char*>(request.query.data()), request.query.size() * sizeof(float));
  req.set_placeholder_group(group.SerializeAsString());
  req.set_nq(1);
  const int ef = std::max(request.hnsw_ef, request.k);
  add_kv(req.mutable_search_params(), "anns_field", kVectorField);
  add_kv(req.mutable_search_params(), "topk", std::to_string(request.k));
  add_kv(req.mutable_search_params(), "metric_type", "IP");
  add_kv(req.mutable_search_params(), "round_decimal", "-1");
  add_kv(req.mutable_search_params(), "params",
         "{\"ef\":" + std::to_string(ef) + ",\"nprobe\":" + std::to_string(request.ivf_nprobe) + "}");
  impl_->set_consistency(request.consistency, req);
  auto r = impl_->call<pb::SearchRequest, pb::SearchResults>("Search", &pb::MilvusService::Stub::Search, req);
  impl_->check("Search", name, r.status());
  const auto& res = r.results();
  const auto& ids = res.ids().int_id().data();
  std::vector<PhotoRow> rows(static_cast<size_t>(ids.size()));
  columns_to_rows(res.fields_data(), rows);
  std::vector<SearchHit> hits(rows.size());
  for (int i = 0; i < ids.size(); ++i) {
    hits[i].id = ids[i];
    hits[i].score = i < res.scores_size() ? res.scores(i) : 0.0f;
    hits[i].fields = std::move(rows[i].fields);
  }
  return hits;
}

std::vector<PhotoRow> Client::query(const std::string& name, const std::string& expr,
                                    const std::vector<std::string>& output_fields, int64_t limit,
                                    Consistency consistency) {
  pb::QueryRequest req;
  req.set_collection_name(name);
  req.set_expr(expr);
  req.add_output_fields(kIdField);
  for (const auto& f : output_fields) req.add_output_fields(f);
  if (limit > 0) add_kv(req.mutable_query_params(), "limit", std::to_string(limit));
  impl_->set_consistency(consistency, req);
  auto r = impl_->call<pb::QueryRequest, pb::QueryResults>("Query", &pb::MilvusService::Stub::Query, req);
  impl_->check("Query", name, r.status());
  size_t n = 0;
  for (const auto& c : r.fields_data())
    if (c.field_name() == kIdField) n = static_cast<size_t>(c.scalars().long_data().data_size());
  std::vector<PhotoRow> rows(n);
  columns_to_rows(r.fields_data(), rows);
  return rows;
}

std::vector<PhotoRow> Client::read_id_range(const std::string& name, int64_t lo, int64_t hi, bool with_vectors,
                                            int batch_rows, Consistency consistency) {
  std::vector<std::string> fields = scalar_field_names();
  if (with_vectors) fields.push_back(kVectorField);
  std::vector<PhotoRow> out;
  // Milvus 2.3 returns a limited query's rows in no defined order, so paging by "largest id
  // read" could skip rows. Instead a range whose count exceeds a batch is halved until each
  // part fits in one query.
  std::vector<std::pair<int64_t, int64_t>> todo = {{lo, hi}};
  while (!todo.empty()) {
    auto [a, b] = todo.back();
    todo.pop_back();
    if (a >= b) continue;
    const std::string expr = std::string(kIdField) + " >= " + std::to_string(a) + " && " + kIdField + " < " +
                             std::to_string(b);
    const int64_t n = count_where(name, expr, consistency);
    if (n == 0) continue;
    if (n > batch_rows && b - a > 1) {
      const int64_t mid = a + (b - a) / 2;
      todo.push_back({mid, b});
      todo.push_back({a, mid});
      continue;
    }
    for (auto& r : query(name, expr, fields, n, consistency)) out.push_back(std::move(r));
  }
  std::sort(out.begin(), out.end(), [](const PhotoRow& x, const PhotoRow& y) { return x.id < y.id; });
  return out;
}

int64_t Client::count(const std::string& name, Consistency consistency) { return count_where(name, "", consistency); }

int64_t Client::count_where(const std::string& name, const std::string& expr, Consistency consistency) {
  pb::QueryRequest req;
  req.set_collection_name(name);
  req.set_expr(expr);
  req.add_output_fields("count(*)");
  impl_->set_consistency(consistency, req);
  auto r = impl_->call<pb::QueryRequest, pb::QueryResults>("Query count(*)", &pb::MilvusService::Stub::Query, req);
  impl_->check("Query count(*)", name, r.status());
  for (const auto& c : r.fields_data())
    if (c.scalars().long_data().data_size() > 0) return c.scalars().long_data().data(0);
  throw Error("Milvus at " + address() + ": count(*) on " + name + " returned no value");
}

}  // namespace vf::milvus
