// Conversions between PhotoRow and Milvus's column-wise protobuf messages (internal to the
// Milvus client).
#pragma once

#include <string>
#include <vector>

#include "milvus.pb.h"
#include "schema.pb.h"
#include "store/milvus/milvus_schema.h"

namespace vf::milvus {

// The collection schema: id (Int64 primary key, not auto), vector (FloatVector dim), and
// the scalar fields of PhotoFields. `description` ("" = a generic one) records the model.
::milvus::proto::schema::CollectionSchema photo_schema(const std::string& name, int dim,
                                                      const std::string& description = "");

// Columns for rows[begin, end), appended to `out` (an Upsert request's fields_data).
// Throws vf::Error(InvalidArgument) for a vector of the wrong size or an over-long text.
void rows_to_columns(const std::vector<PhotoRow>& rows, size_t begin, size_t end, int dim,
                     google::protobuf::RepeatedPtrField<::milvus::proto::schema::FieldData>* out);

// Fills rows[i] (already sized; ids set or not) from the returned columns; fields not
// returned stay default. Also sets ids when an "id" column is present.
void columns_to_rows(const google::protobuf::RepeatedPtrField<::milvus::proto::schema::FieldData>& columns,
                     std::vector<PhotoRow>& rows, size_t first = 0);

}  // namespace vf::milvus
