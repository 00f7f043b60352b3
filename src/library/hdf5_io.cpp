// HDF5 export/import in the spec's layout (2.2), with the HDF5 C API.
//
//   /features        float32 [N, D]   L2-normalised embeddings, row i <-> paths[i]
//   /paths           UTF-8 variable-length strings [N], absolute paths
//   /ids             int64 [N]        catalog ids
//   /capture_unix    int64 [N]        capture time (0 when unknown)
//   /capture_time    UTF-8 strings    ISO-8601 local time ("" when unknown)
//   /make /model /lens /format /content_hash   UTF-8 strings [N]
//   /width /height   int32 [N]        after orientation
//   /gps_lat /gps_lon  float64 [N]    NaN when unknown
//   /<name>_bytes    vlen uint8 [N]   exact bytes of a text column with a value that is not
//                                    UTF-8 (a Latin-1 file name); <name> then holds U+FFFD forms
//   root attributes: model_id, model_dir, pooling, dim, generator
// Every dataset but /features and /ids is a catalog column marked for HDF5 in
// src/catalog/photo_row.cpp (its Hdf5Kind gives the type and the NULL rule above).
#include <hdf5.h>

#include <cmath>
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <limits>

#include "catalog/photo_row.h"
#include "library/library_impl.h"
#include "viewfinder/text.h"

namespace vf::detail {
namespace fs = std::filesystem;

namespace {

// Owns one hid_t and closes it with the matching H5*close.
class H5 {
 public:
  H5() = default;
  H5(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~H5() {
    if (id_ >= 0 && close_) close_(id_);
  }
  H5(const H5&) = delete;
  H5& operator=(const H5&) = delete;
  H5(H5&& o) noexcept : id_(o.id_), close_(o.close_) { o.id_ = -1; }
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }

 private:
  hid_t id_ = -1;
  herr_t (*close_)(hid_t) = nullptr;
};

// HDF5 prints an error stack to stderr by default; we report our own one-line errors.
struct SilenceHdf5 {
  H5E_auto2_t func = nullptr;
  void* data = nullptr;
  SilenceHdf5() {
    H5Eget_auto2(H5E_DEFAULT, &func, &data);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~SilenceHdf5() { H5Eset_auto2(H5E_DEFAULT, func, data); }
};

H5 utf8_vlen_type() {
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  return H5(t, H5Tclose);
}

void check(herr_t rc, const std::string& file, const std::string& what) {
  if (rc < 0) throw Error(file + ": HDF5 " + what + " failed", ErrorCode::Io);
}

void write_dataset(hid_t file, const std::string& fname, const char* name, hid_t mem_type, hid_t file_type,
                   const std::vector<hsize_t>& dims, const void* data) {
  H5 space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
  H5 plist(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  // Chunked + deflate for big numeric datasets; h5py/numpy read them transparently.
  if (dims[0] > 0 && file_type != H5T_NATIVE_INT32 && H5Tget_class(file_type) != H5T_STRING) {
    std::vector<hsize_t> chunk = dims;
    chunk[0] = std::min<hsize_t>(dims[0], dims.size() == 2 ? std::max<hsize_t>(1, (1 << 20) / (dims[1] * 4)) : 65536);
    H5Pset_chunk(plist.get(), static_cast<int>(chunk.size()), chunk.data());
    if (std::strcmp(name, "features") != 0) H5Pset_deflate(plist.get(), 4);
  }
  H5 ds(H5Dcreate2(file, name, file_type, space.get(), H5P_DEFAULT, plist.get(), H5P_DEFAULT), H5Dclose);
  if (!ds.ok()) throw Error(fname + ": cannot create dataset '" + name + "'", ErrorCode::Io);
  if (dims[0] > 0) check(H5Dwrite(ds.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), fname, std::string("write of ") + name);
}

// A UTF-8 dataset must hold UTF-8: a value that is not (a Latin-1 file name) is written in
// its display form (U+FFFD for each bad byte), and the whole column's exact bytes go to
// "<name>_bytes", variable-length uint8 [N] (h5py: bytes(arr)), which import prefers.
void write_strings(hid_t file, const std::string& fname, const char* name, const std::vector<std::string>& v) {
  bool all_utf8 = std::all_of(v.begin(), v.end(), [](const std::string& x) { return is_valid_utf8(x); });
  std::vector<std::string> shown;
  if (!all_utf8)
    for (auto& x : v) shown.push_back(utf8_lossy(x));
  const auto& text = all_utf8 ? v : shown;
  std::vector<const char*> ptrs(text.size());
  for (size_t i = 0; i < text.size(); ++i) ptrs[i] = text[i].c_str();
  H5 t = utf8_vlen_type();
  write_dataset(file, fname, name, t.get(), t.get(), {v.size()}, ptrs.data());
  if (all_utf8) return;
  std::vector<hvl_t> raw(v.size());
  for (size_t i = 0; i < v.size(); ++i) raw[i] = {v[i].size(), const_cast<char*>(v[i].data())};
  H5 bt(H5Tvlen_create(H5T_NATIVE_UINT8), H5Tclose);
  write_dataset(file, fname, (std::string(name) + "_bytes").c_str(), bt.get(), bt.get(), {v.size()}, raw.data());
}

// "<name>_bytes" (see write_strings), or empty when the file has none or it does not fit.
std::vector<std::string> read_raw_strings(hid_t file, const std::string& name, hsize_t expect) {
  std::vector<std::string> out;
  std::string raw_name = name + "_bytes";
  if (H5Lexists(file, raw_name.c_str(), H5P_DEFAULT) <= 0) return out;
  H5 ds(H5Dopen2(file, raw_name.c_str(), H5P_DEFAULT), H5Dclose);
  H5 ft(H5Dget_type(ds.get()), H5Tclose);
  H5 space(H5Dget_space(ds.get()), H5Sclose);
  hsize_t n = 0;
  if (!ds.ok() || H5Tget_class(ft.get()) != H5T_VLEN || H5Sget_simple_extent_ndims(space.get()) != 1) return out;
  H5Sget_simple_extent_dims(space.get(), &n, nullptr);
  if (n != expect || n == 0) return out;
  H5 t(H5Tvlen_create(H5T_NATIVE_UINT8), H5Tclose);
  std::vector<hvl_t> raw(n);
  if (H5Dread(ds.get(), t.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, raw.data()) < 0) return out;
  for (auto& r : raw) out.emplace_back(static_cast<const char*>(r.p), r.p ? r.len : 0);
  H5Dvlen_reclaim(t.get(), space.get(), H5P_DEFAULT, raw.data());
  return out;
}

void write_attr(hid_t obj, const char* name, const std::string& value) {
  H5 t = utf8_vlen_type();
  H5 space(H5Screate(H5S_SCALAR), H5Sclose);
  H5 a(H5Acreate2(obj, name, t.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  const char* p = value.c_str();
  H5Awrite(a.get(), t.get(), &p);
}

std::string read_attr(hid_t obj, const char* name) {
  if (H5Aexists(obj, name) <= 0) return "";
  H5 a(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose);
  H5 ft(H5Aget_type(a.get()), H5Tclose);
  if (H5Tget_class(ft.get()) != H5T_STRING) return "";
  if (H5Tis_variable_str(ft.get()) > 0) {
    H5 t = utf8_vlen_type();
    char* p = nullptr;
    if (H5Aread(a.get(), t.get(), &p) < 0 || !p) return "";
    std::string s = p;
    H5free_memory(p);
    return s;
  }
  size_t n = H5Tget_size(ft.get());
  std::string s(n, '\0');
  H5 t(H5Tcopy(ft.get()), H5Tclose);
  if (H5Aread(a.get(), t.get(), s.data()) < 0) return "";
  s.resize(std::strlen(s.c_str()));
  return s;
}

bool has_dataset(hid_t file, const char* name) { return H5Lexists(file, name, H5P_DEFAULT) > 0; }

// Reads a 1-D string dataset (variable or fixed length).
std::vector<std::string> read_strings(hid_t file, const std::string& fname, const char* name, hsize_t expect) {
  H5 ds(H5Dopen2(file, name, H5P_DEFAULT), H5Dclose);
  if (!ds.ok()) throw Error(fname + ": no dataset '" + name + "'", ErrorCode::Corrupt);
  H5 ft(H5Dget_type(ds.get()), H5Tclose);
  H5 space(H5Dget_space(ds.get()), H5Sclose);
  hsize_t n = 0;
  if (H5Sget_simple_extent_ndims(space.get()) != 1 || H5Tget_class(ft.get()) != H5T_STRING)
    throw Error(fname + ": dataset '" + name + "' is not a 1-D string array", ErrorCode::Corrupt);
  H5Sget_simple_extent_dims(space.get(), &n, nullptr);
  if (n != expect)
    throw Error(fname + ": '" + name + "' has " + std::to_string(n) + " entries, features has " + std::to_string(expect),
                ErrorCode::Corrupt);
  std::vector<std::string> out(n);
  if (n == 0) return out;
  if (H5Tis_variable_str(ft.get()) > 0) {
    H5 t = utf8_vlen_type();
    std::vector<char*> ptrs(n, nullptr);
    check(H5Dread(ds.get(), t.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()), fname, std::string("read of ") + name);
    for (hsize_t i = 0; i < n; ++i) out[i] = ptrs[i] ? ptrs[i] : "";
    H5Dvlen_reclaim(t.get(), space.get(), H5P_DEFAULT, ptrs.data());
  } else {
    size_t len = H5Tget_size(ft.get());
    std::vector<char> buf(n * len);
    H5 t(H5Tcopy(ft.get()), H5Tclose);
    check(H5Dread(ds.get(), t.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()), fname, std::string("read of ") + name);
    for (hsize_t i = 0; i < n; ++i) {
      const char* p = buf.data() + i * len;
      out[i] = std::string(p, strnlen(p, len));
    }
  }
  return out;
}

template <class T>
std::vector<T> read_numbers(hid_t file, const char* name, hid_t mem_type, hsize_t expect) {
  std::vector<T> out;
  if (!has_dataset(file, name)) return out;
  H5 ds(H5Dopen2(file, name, H5P_DEFAULT), H5Dclose);
  H5 space(H5Dget_space(ds.get()), H5Sclose);
  hsize_t n = 0;
  if (H5Sget_simple_extent_ndims(space.get()) != 1) return out;
  H5Sget_simple_extent_dims(space.get(), &n, nullptr);
  if (n != expect) return out;
  out.resize(n);
  if (n && H5Dread(ds.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0) out.clear();
  return out;
}

// The values of one exported column for all N photos (the vector its Hdf5Kind uses).
struct ColumnValues {
  const catalog::PhotoColumn* column;
  std::vector<std::string> text;
  std::vector<int64_t> i64;
  std::vector<int32_t> i32;
  std::vector<double> real;

  // From a SELECT of the export (column `c` of `s`): NULL becomes "", 0 or NaN.
  void append(const Stmt& s, int c) {
    switch (column->hdf5) {
      case catalog::Hdf5Kind::Text: text.push_back(s.col_text(c)); break;
      case catalog::Hdf5Kind::Int64: i64.push_back(s.col_int64(c)); break;
      case catalog::Hdf5Kind::Int32: i32.push_back(s.col_int(c)); break;
      case catalog::Hdf5Kind::Real:
        real.push_back(s.is_null(c) ? std::numeric_limits<double>::quiet_NaN() : s.col_double(c));
        break;
      case catalog::Hdf5Kind::None: break;
    }
  }
  void write(hid_t h, const std::string& file, hsize_t n) const {
    const std::string name = catalog::hdf5_dataset_name(*column);
    switch (column->hdf5) {
      case catalog::Hdf5Kind::Text: write_strings(h, file, name.c_str(), text); break;
      case catalog::Hdf5Kind::Int64: write_dataset(h, file, name.c_str(), H5T_NATIVE_INT64, H5T_STD_I64LE, {n}, i64.data()); break;
      case catalog::Hdf5Kind::Int32: write_dataset(h, file, name.c_str(), H5T_NATIVE_INT32, H5T_STD_I32LE, {n}, i32.data()); break;
      case catalog::Hdf5Kind::Real: write_dataset(h, file, name.c_str(), H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, {n}, real.data()); break;
      case catalog::Hdf5Kind::None: break;
    }
  }
  // From an imported file; a missing optional dataset gives empty strings / no numbers.
  void read(hid_t h, const std::string& file, hsize_t n) {
    const std::string name = catalog::hdf5_dataset_name(*column);
    switch (column->hdf5) {
      case catalog::Hdf5Kind::Text:
        text = has_dataset(h, name.c_str()) ? read_strings(h, file, name.c_str(), n) : std::vector<std::string>(n);
        if (auto raw = read_raw_strings(h, name, n); !raw.empty()) text = std::move(raw);  // exact bytes
        break;
      case catalog::Hdf5Kind::Int64: i64 = read_numbers<int64_t>(h, name.c_str(), H5T_NATIVE_INT64, n); break;
      case catalog::Hdf5Kind::Int32: i32 = read_numbers<int32_t>(h, name.c_str(), H5T_NATIVE_INT32, n); break;
      case catalog::Hdf5Kind::Real: real = read_numbers<double>(h, name.c_str(), H5T_NATIVE_DOUBLE, n); break;
      case catalog::Hdf5Kind::None: break;
    }
  }
  // Row i into parameter `p` of the import's INSERT: unknown values become NULL.
  void bind(Stmt& s, int p, size_t i) const {
    switch (column->hdf5) {
      case catalog::Hdf5Kind::Text: s.bind_text_or_null(p, text[i]); break;
      case catalog::Hdf5Kind::Int64:
        if (!i64.empty() && i64[i] != 0) s.bind(p, i64[i]); else s.bind_null(p);
        break;
      case catalog::Hdf5Kind::Int32:
        if (!i32.empty()) s.bind(p, static_cast<int>(i32[i])); else s.bind_null(p);
        break;
      case catalog::Hdf5Kind::Real:
        if (!real.empty() && std::isfinite(real[i])) s.bind(p, real[i]); else s.bind_null(p);
        break;
      case catalog::Hdf5Kind::None: break;
    }
  }
};

std::vector<ColumnValues> exported_columns() {
  std::vector<ColumnValues> out;
  for (const auto* c : catalog::hdf5_columns()) out.push_back({c, {}, {}, {}, {}});
  return out;
}

}  // namespace

int64_t LibraryImpl::export_hdf5(const std::string& file) const {
  SilenceHdf5 quiet;
  std::vector<int64_t> ids;
  std::vector<ColumnValues> columns = exported_columns();
  std::vector<float> features;
  std::string model_id, exported_model_dir, pooling;
  int dim = 0;
  {
    auto lk = lock();
    sqlite3* db = rdb_.get();
    Transaction snapshot(db, false);
    model_id = meta_get(db, "model_id");
    exported_model_dir = meta_get(db, "model_dir");
    pooling = meta_get(db, "pooling");
    dim = std::stoi(meta_get(db, "dim", "0"));
    std::string select = "SELECT id, embedding";
    for (const auto& c : columns) select += std::string(", ") + c.column->name;
    Stmt s(db, select + " FROM photos WHERE " + kIndexableWhere + " ORDER BY id");
    std::vector<float> row(std::max(dim, 1));
    while (s.step()) {
      ids.push_back(s.col_int64(0));
      decode_embedding(s.col_blob(1), s.col_bytes(1), row.data(), dim);
      features.insert(features.end(), row.begin(), row.begin() + dim);
      for (size_t c = 0; c < columns.size(); ++c) columns[c].append(s, static_cast<int>(c) + 2);
    }
    snapshot.commit();
  }
  if (dim <= 0) throw Error(dir_ + ": library has no embeddings to export", ErrorCode::NotFound);
  hsize_t n = ids.size();
  // Written to a temporary name first so that a failed export never leaves a half file.
  std::string tmp = file + ".tmp";
  {
    H5 f(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
    if (!f.ok()) throw Error(file + ": cannot create HDF5 file", ErrorCode::Io);
    hid_t h = f.get();
    write_dataset(h, file, "features", H5T_NATIVE_FLOAT, H5T_IEEE_F32LE, {n, static_cast<hsize_t>(dim)}, features.data());
    write_dataset(h, file, "ids", H5T_NATIVE_INT64, H5T_STD_I64LE, {n}, ids.data());
    for (const auto& c : columns) c.write(h, file, n);
    write_attr(h, "model_id", model_id);
    write_attr(h, "model_dir", exported_model_dir);
    write_attr(h, "pooling", pooling);
    write_attr(h, "dim", std::to_string(dim));
    write_attr(h, "generator", "viewfinder");
    check(H5Fflush(h, H5F_SCOPE_GLOBAL), file, "flush");
  }
  std::error_code ec;
  fs::rename(tmp, file, ec);
  if (ec) throw Error(file + ": cannot write: " + ec.message(), ErrorCode::Io);
  return static_cast<int64_t>(n);
}

int64_t LibraryImpl::import_hdf5(const std::string& file) {
  if (read_only_) throw Error(dir_ + ": library opened read-only", ErrorCode::InvalidArgument);
  if (is_reader(wdb_.get()))
    throw Error(dir_ + " is a reader: its catalog mirrors a Milvus collection; import into a library of its own",
                ErrorCode::InvalidArgument);
  SilenceHdf5 quiet;
  std::error_code ec;
  if (!fs::exists(file, ec)) throw Error(file + ": no such file", ErrorCode::NotFound);
  if (H5Fis_hdf5(file.c_str()) <= 0) throw Error(file + ": not an HDF5 file", ErrorCode::InvalidArgument);
  H5 f(H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!f.ok()) throw Error(file + ": cannot open HDF5 file", ErrorCode::Io);
  hid_t h = f.get();
  if (!has_dataset(h, "features")) throw Error(file + ": no 'features' dataset", ErrorCode::InvalidArgument);
  if (!has_dataset(h, "paths")) throw Error(file + ": no 'paths' dataset", ErrorCode::InvalidArgument);
  H5 ds(H5Dopen2(h, "features", H5P_DEFAULT), H5Dclose);
  H5 space(H5Dget_space(ds.get()), H5Sclose);
  H5 ft(H5Dget_type(ds.get()), H5Tclose);
  if (H5Sget_simple_extent_ndims(space.get()) != 2 || H5Tget_class(ft.get()) != H5T_FLOAT)
    throw Error(file + ": 'features' must be a 2-D float array [N, D]", ErrorCode::InvalidArgument);
  hsize_t dims[2];
  H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  const hsize_t n = dims[0];
  const int dim = static_cast<int>(dims[1]);
  if (dim <= 0) throw Error(file + ": 'features' has no columns", ErrorCode::InvalidArgument);
  std::vector<float> features(n * dim);
  if (n) check(H5Dread(ds.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, features.data()), file, "read of features");
  std::vector<ColumnValues> columns = exported_columns();
  for (auto& c : columns) c.read(h, file, n);
  const std::vector<std::string>& paths =
      std::find_if(columns.begin(), columns.end(), [](const ColumnValues& c) { return std::string(c.column->name) == "path"; })->text;
  std::string model_id = read_attr(h, "model_id"), pooling = read_attr(h, "pooling");
  if (model_id.empty()) model_id = "hdf5:" + fs::path(file).filename().string();
  if (pooling.empty()) pooling = "unknown";
  // The model directory the exporter used, when this machine has it too: searching by image
  // then needs no --model (a file from elsewhere records only the model's name).
  std::string recorded_dir = read_attr(h, "model_dir");
  if (!recorded_dir.empty() && !fs::is_directory(recorded_dir, ec)) recorded_dir.clear();

  std::lock_guard<std::mutex> lk(wmu_);
  WriterLock writer_lock = acquire_writer_lock();
  sqlite3* db = wdb_.get();
  {
    Transaction t(db);
    std::string cur_model = meta_get(db, "model_id");
    int cur_dim = std::stoi(meta_get(db, "dim", "0"));
    int64_t embedded = query_int(db, std::string("SELECT count(*) FROM photos WHERE ") + kIndexableWhere);
    if (embedded > 0 && cur_dim != dim)
      throw Error(file + ": features have " + std::to_string(dim) + " dimensions, this library's have " +
                      std::to_string(cur_dim), ErrorCode::InvalidArgument);
    if (embedded > 0 && cur_model != model_id)
      throw Error(file + ": features come from model '" + model_id + "', this library uses '" + cur_model +
                      "' (import into an empty library instead)", ErrorCode::InvalidArgument);
    if (embedded == 0) {
      meta_set(db, "model_id", model_id);
      meta_set(db, "pooling", pooling);
      meta_set(db, "dim", std::to_string(dim));
      if (!recorded_dir.empty()) meta_set(db, "model_dir", recorded_dir);
    } else {
      pooling = meta_get(db, "pooling");
    }
    // The exported columns plus folder and the embedding's stamp; a path already in the
    // catalog keeps its metadata and takes the new embedding.
    std::string names, marks;
    for (const auto& c : columns) names += std::string(c.column->name) + ", ";
    names += "folder, embedding, model_id, pooling, precision, indexed_at";
    for (size_t i = 0; i < columns.size() + 6; ++i) marks += i ? ",?" : "?";
    Stmt up(db, "INSERT INTO photos (" + names + ") VALUES (" + marks +
                    ") ON CONFLICT(path) DO UPDATE SET embedding = excluded.embedding,"
                    " model_id = excluded.model_id, pooling = excluded.pooling, indexed_at = excluded.indexed_at");
    std::string now = now_iso_utc();
    std::vector<float> v(dim);
    for (hsize_t i = 0; i < n; ++i) {
      if (paths[i].empty()) throw Error(file + ": paths[" + std::to_string(i) + "] is empty", ErrorCode::InvalidArgument);
      // The spec's vectors are L2-normalised for cosine search; normalise whatever came in.
      double norm = 0;
      for (int j = 0; j < dim; ++j) norm += double(features[i * dim + j]) * features[i * dim + j];
      norm = std::sqrt(norm);
      if (!(norm > 0) || !std::isfinite(norm))
        throw Error(file + ": features row " + std::to_string(i) + " is zero or not finite", ErrorCode::InvalidArgument);
      for (int j = 0; j < dim; ++j) v[j] = static_cast<float>(features[i * dim + j] / norm);
      auto half = encode_embedding(v.data(), dim);
      const std::string& p = paths[i];
      std::string folder = fs::path(p).parent_path().string();
      int c = 1;
      for (const auto& col : columns) col.bind(up, c++, i);
      up.bind(c++, folder.empty() ? std::string("/") : folder);
      up.bind_blob(c++, half.data(), half.size() * 2);
      up.bind(c++, model_id);
      up.bind(c++, pooling);
      up.bind(c++, std::string("imported"));
      up.bind(c++, now);
      up.run();
    }
    bump_generation(db);
    t.commit();
  }
  load_indexes(true);
  return static_cast<int64_t>(n);
}

}  // namespace vf::detail
