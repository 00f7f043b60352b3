// The project's one SQLite wrapper: RAII connection, prepared statement, transaction.
// Everything that talks SQL (src/catalog, src/library) uses these; nothing else holds a sqlite3*.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "viewfinder/error.h"

namespace vf::detail {

// A value bound to a '?' of a generated query (filters).
using SqlValue = std::variant<int64_t, double, std::string>;

// An open database connection; closes on destruction.
class Db {
 public:
  Db() = default;
  Db(const std::string& path, bool read_only);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  Db(Db&& o) noexcept : db_(o.db_), path_(std::move(o.path_)) { o.db_ = nullptr; }
  Db& operator=(Db&& o) noexcept;

  sqlite3* get() const { return db_; }
  const std::string& path() const { return path_; }
  void exec(const std::string& sql);
  [[noreturn]] void fail(const std::string& what) const;

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

// A prepared statement. bind() is 1-based like SQLite; col_*() are 0-based.
class Stmt {
 public:
  Stmt(sqlite3* db, const std::string& sql);
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& bind(int i, int64_t v);
  Stmt& bind(int i, int v) { return bind(i, static_cast<int64_t>(v)); }
  Stmt& bind(int i, double v);
  Stmt& bind(int i, const std::string& v);
  Stmt& bind(int i, const char* v) { return bind(i, std::string(v)); }
  Stmt& bind_blob(int i, const void* data, size_t bytes);
  Stmt& bind_null(int i);
  template <class T>
  Stmt& bind(int i, const std::optional<T>& v) {
    return v ? bind(i, *v) : bind_null(i);
  }
  // Binds NULL for an empty string (optional text columns).
  Stmt& bind_text_or_null(int i, const std::string& v) { return v.empty() ? bind_null(i) : bind(i, v); }
  Stmt& bind(int i, const SqlValue& v);
  // Binds `values` from parameter `first` on; returns the next free index.
  int bind_all(const std::vector<SqlValue>& values, int first = 1);

  bool step();  // true while a row is available
  void run();   // step to completion, then reset
  void reset();

  int col_type(int c) const { return sqlite3_column_type(stmt_, c); }
  bool is_null(int c) const { return sqlite3_column_type(stmt_, c) == SQLITE_NULL; }
  int64_t col_int64(int c) const { return sqlite3_column_int64(stmt_, c); }
  int col_int(int c) const { return sqlite3_column_int(stmt_, c); }
  double col_double(int c) const { return sqlite3_column_double(stmt_, c); }
  std::string col_text(int c) const;
  const void* col_blob(int c) const { return sqlite3_column_blob(stmt_, c); }
  int col_bytes(int c) const { return sqlite3_column_bytes(stmt_, c); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// BEGIN IMMEDIATE ... COMMIT, rolled back if not committed (exception paths).
class Transaction {
 public:
  explicit Transaction(sqlite3* db, bool immediate = true);
  ~Transaction();
  void commit();

 private:
  sqlite3* db_;
  bool open_ = false;
};

// Runs `sql` (several statements allowed) on a connection without a Db (in-memory copies).
void exec_sql(sqlite3* db, const std::string& sql);

// One value from a query returning a single integer (or `fallback` for no row / NULL).
int64_t query_int(sqlite3* db, const std::string& sql, int64_t fallback = 0);

}  // namespace vf::detail
