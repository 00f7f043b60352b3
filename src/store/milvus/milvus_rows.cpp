#include "store/milvus/milvus_rows.h"

#include <algorithm>
#include <cctype>

#include "viewfinder/error.h"

namespace vf::milvus {
namespace schema = ::milvus::proto::schema;
namespace {

std::string ascii_lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// One table per column type: name and how to read/write it on PhotoFields. The *_lc text
// columns are derived (lower-cased copies) and never read back.
struct Int64Column { const char* name; int64_t PhotoFields::*member; };
struct BoolColumn { const char* name; bool PhotoFields::*member; };
struct DoubleColumn { const char* name; double PhotoFields::*member; };
struct TextColumn { const char* name; std::string PhotoFields::*member; int max_len; bool lower; };

const Int64Column kInt64Columns[] = {{"capture_unix", &PhotoFields::capture_unix},
                                     {"file_time_unix", &PhotoFields::file_time_unix},
                                     {"width", &PhotoFields::width},
                                     {"height", &PhotoFields::height},
                                     {"rating", &PhotoFields::rating},
                                     {"file_size", &PhotoFields::file_size},
                                     {"mtime_ns", &PhotoFields::mtime_ns}};
const BoolColumn kBoolColumns[] = {{"has_capture", &PhotoFields::has_capture},
                                   {"has_file_time", &PhotoFields::has_file_time},
                                   {"has_rating", &PhotoFields::has_rating},
                                   {"has_gps", &PhotoFields::has_gps}};
const DoubleColumn kDoubleColumns[] = {{"gps_lat", &PhotoFields::gps_lat},
                                       {"gps_lon", &PhotoFields::gps_lon}};
const TextColumn kTextColumns[] = {
    {"make", &PhotoFields::make, kMaxTextBytes, false},
    {"model", &PhotoFields::model, kMaxTextBytes, false},
    {"lens", &PhotoFields::lens, kMaxTextBytes, false},
    {"make_lc", &PhotoFields::make, kMaxTextBytes, true},
    {"model_lc", &PhotoFields::model, kMaxTextBytes, true},
    {"lens_lc", &PhotoFields::lens, kMaxTextBytes, true},
    {"path", &PhotoFields::path, kMaxPathBytes, false},
    {"folder", &PhotoFields::folder, kMaxPathBytes, false},
    {"format", &PhotoFields::format, kMaxTextBytes, false},
    {"content_hash", &PhotoFields::content_hash, kMaxHashBytes, false}};

schema::FieldSchema* add_field(schema::CollectionSchema& s, const char* name, schema::DataType type) {
  auto* f = s.add_fields();
  f->set_name(name);
  f->set_data_type(type);
  return f;
}

void add_param(schema::FieldSchema* f, const char* key, const std::string& value) {
  auto* kv = f->add_type_params();
  kv->set_key(key);
  kv->set_value(value);
}

schema::FieldData* add_column(google::protobuf::RepeatedPtrField<schema::FieldData>* out,
                              const char* name, schema::DataType type) {
  auto* c = out->Add();
  c->set_field_name(name);
  c->set_type(type);
  return c;
}

}  // namespace

const std::vector<std::string>& scalar_field_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const auto& c : kInt64Columns) n.push_back(c.name);
    for (const auto& c : kBoolColumns) n.push_back(c.name);
    for (const auto& c : kDoubleColumns) n.push_back(c.name);
    for (const auto& c : kTextColumns)
      if (!c.lower) n.push_back(c.name);
    return n;
  }();
  return names;
}

schema::CollectionSchema photo_schema(const std::string& name, int dim, const std::string& description) {
  schema::CollectionSchema s;
  s.set_name(name);
  s.set_description(description.empty() ? "Viewfinder photo embeddings and filterable metadata" : description);
  auto* id = add_field(s, kIdField, schema::DataType::Int64);
  id->set_is_primary_key(true);
  id->set_autoid(false);
  add_param(add_field(s, kVectorField, schema::DataType::FloatVector), "dim", std::to_string(dim));
  for (const auto& c : kInt64Columns) add_field(s, c.name, schema::DataType::Int64);
  for (const auto& c : kBoolColumns) add_field(s, c.name, schema::DataType::Bool);
  for (const auto& c : kDoubleColumns) add_field(s, c.name, schema::DataType::Double);
  for (const auto& c : kTextColumns)
    add_param(add_field(s, c.name, schema::DataType::VarChar), "max_length", std::to_string(c.max_len));
  return s;
}

void rows_to_columns(const std::vector<PhotoRow>& rows, size_t begin, size_t end, int dim,
                     google::protobuf::RepeatedPtrField<schema::FieldData>* out) {
  auto* ids = add_column(out, kIdField, schema::DataType::Int64)->mutable_scalars()->mutable_long_data();
  auto* vec_field = add_column(out, kVectorField, schema::DataType::FloatVector)->mutable_vectors();
  vec_field->set_dim(dim);
  auto* vec = vec_field->mutable_float_vector()->mutable_data();
  vec->Reserve(static_cast<int>((end - begin) * dim));
  for (size_t i = begin; i < end; ++i) {
    const PhotoRow& r = rows[i];
    if (r.vector.size() != static_cast<size_t>(dim))
      throw Error("photo " + std::to_string(r.id) + ": vector has " + std::to_string(r.vector.size()) +
                      " floats, the Milvus collection expects " + std::to_string(dim),
                  ErrorCode::InvalidArgument);
    ids->add_data(r.id);
    vec->Add(r.vector.begin(), r.vector.end());
  }
  for (const auto& c : kInt64Columns) {
    auto* d = add_column(out, c.name, schema::DataType::Int64)->mutable_scalars()->mutable_long_data();
    for (size_t i = begin; i < end; ++i) d->add_data(rows[i].fields.*c.member);
  }
  for (const auto& c : kBoolColumns) {
    auto* d = add_column(out, c.name, schema::DataType::Bool)->mutable_scalars()->mutable_bool_data();
    for (size_t i = begin; i < end; ++i) d->add_data(rows[i].fields.*c.member);
  }
  for (const auto& c : kDoubleColumns) {
    auto* d = add_column(out, c.name, schema::DataType::Double)->mutable_scalars()->mutable_double_data();
    for (size_t i = begin; i < end; ++i) d->add_data(rows[i].fields.*c.member);
  }
  for (const auto& c : kTextColumns) {
    auto* d = add_column(out, c.name, schema::DataType::VarChar)->mutable_scalars()->mutable_string_data();
    for (size_t i = begin; i < end; ++i) {
      const std::string& v = rows[i].fields.*c.member;
      if (v.size() > static_cast<size_t>(c.max_len))
        throw Error("photo " + std::to_string(rows[i].id) + ": " + c.name + " is " + std::to_string(v.size()) +
                        " bytes, over Milvus's limit of " + std::to_string(c.max_len),
                    ErrorCode::InvalidArgument);
      d->add_data(c.lower ? ascii_lower(v) : v);
    }
  }
}

void columns_to_rows(const google::protobuf::RepeatedPtrField<schema::FieldData>& columns,
                     std::vector<PhotoRow>& rows, size_t first) {
  for (const auto& col : columns) {
    const std::string& name = col.field_name();
    if (name == kIdField) {
      const auto& d = col.scalars().long_data().data();
      for (int i = 0; i < d.size() && first + i < rows.size(); ++i) rows[first + i].id = d[i];
    } else if (name == kVectorField) {
      const auto& d = col.vectors().float_vector().data();
      const int64_t dim = col.vectors().dim();
      for (size_t i = 0; dim > 0 && first + i < rows.size() && static_cast<int64_t>((i + 1) * dim) <= d.size(); ++i)
        rows[first + i].vector.assign(d.begin() + i * dim, d.begin() + (i + 1) * dim);
    }
    for (const auto& c : kInt64Columns)
      if (name == c.name)
        for (int i = 0; i < col.scalars().long_data().data_size() && first + i < rows.size(); ++i)
          rows[first + i].fields.*c.member = col.scalars().long_data().data(i);
    for (const auto& c : kBoolColumns)
      if (name == c.name)
        for (int i = 0; i < col.scalars().bool_data().data_size() && first + i < rows.size(); ++i)
          rows[first + i].fields.*c.member = col.scalars().bool_data().data(i);
    for (const auto& c : kDoubleColumns)
      if (name == c.name)
        for (int i = 0; i < col.scalars().double_data().data_size() && first + i < rows.size(); ++i)
          rows[first + i].fields.*c.member = col.scalars().double_data().data(i);
    for (const auto& c : kTextColumns)
      if (name == c.name && !c.lower)
        for (int i = 0; i < col.scalars().string_data().data_size() && first + i < rows.size(); ++i)
          rows[first + i].fields.*c.member = col.scalars().string_data().data(i);
  }
}

}  // namespace vf::milvus
