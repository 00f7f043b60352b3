// Small RAII helpers for the read-side SQL that src/search runs on the catalog.
#pragma once

#include <sqlite3.h>

#include <string>
#include <vector>

#include "search/search_internal.h"
#include "viewfinder/error.h"

namespace vf::search {

class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr) != SQLITE_OK)
      throw Error(std::string("catalog query failed: ") + sqlite3_errmsg(db) + " in: " + sql,
                  ErrorCode::Corrupt);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  void bind(int index, const SqlValue& v) {
    if (auto* i = std::get_if<int64_t>(&v))
      sqlite3_bind_int64(stmt_, index, *i);
    else if (auto* d = std::get_if<double>(&v))
      sqlite3_bind_double(stmt_, index, *d);
    else
      sqlite3_bind_text(stmt_, index, std::get<std::string>(v).c_str(), -1, SQLITE_TRANSIENT);
  }
  // Binds `values` from parameter `first` on; returns the next free index.
  int bind_all(const std::vector<SqlValue>& values, int first = 1) {
    for (const auto& v : values) bind(first++, v);
    return first;
  }
  bool step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw Error(std::string("catalog query failed: ") + sqlite3_errmsg(db_), ErrorCode::Corrupt);
  }
  int64_t int64(int col) const { return sqlite3_column_int64(stmt_, col); }
  double real(int col) const { return sqlite3_column_double(stmt_, col); }
  bool null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string text(int col) const {
    auto* t = sqlite3_column_text(stmt_, col);
    return t ? reinterpret_cast<const char*>(t) : "";
  }
  sqlite3_stmt* get() { return stmt_; }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

inline void exec_sql(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw Error("catalog write failed: " + msg, ErrorCode::Io);
  }
}

}  // namespace vf::search
