#include "catalog/sqlite.h"

namespace vf::detail {

Db::Db(const std::string& path, bool read_only) : path_(path) {
  int flags = read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  flags |= SQLITE_OPEN_NOMUTEX;  // every connection is used under its owner's mutex
  if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    if (db_) sqlite3_close(db_);
    db_ = nullptr;
    throw Error(path + ": cannot open catalog: " + msg,
                read_only ? ErrorCode::NotFound : ErrorCode::Io);
  }
  // A writer holds the lock for one batch commit; readers and other writers wait for it
  // rather than failing with SQLITE_BUSY.
  sqlite3_busy_timeout(db_, 30'000);
}

Db::~Db() {
  if (db_) sqlite3_close_v2(db_);
}

Db& Db::operator=(Db&& o) noexcept {
  if (this != &o) {
    if (db_) sqlite3_close_v2(db_);
    db_ = o.db_;
    path_ = std::move(o.path_);
    o.db_ = nullptr;
  }
  return *this;
}

void Db::fail(const std::string& what) const {
  int code = sqlite3_errcode(db_);
  throw Error(path_ + ": " + what + ": " + sqlite3_errmsg(db_),
              code == SQLITE_CORRUPT || code == SQLITE_NOTADB ? ErrorCode::Corrupt : ErrorCode::Io);
}

void Db::exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    int code = sqlite3_errcode(db_);
    throw Error(path_ + ": " + msg + " (in: " + sql.substr(0, 60) + ")",
                code == SQLITE_CORRUPT || code == SQLITE_NOTADB ? ErrorCode::Corrupt : ErrorCode::Io);
  }
}

[[noreturn]] static void throw_db(sqlite3* db, const std::string& what) {
  const char* file = sqlite3_db_filename(db, "main");
  int code = sqlite3_errcode(db);
  throw Error(std::string(file ? file : "catalog") + ": " + what + ": " + sqlite3_errmsg(db),
              code == SQLITE_CORRUPT || code == SQLITE_NOTADB ? ErrorCode::Corrupt : ErrorCode::Io);
}

Stmt::Stmt(sqlite3* db, const std::string& sql) : db_(db) {
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr) != SQLITE_OK)
    throw_db(db, "cannot prepare '" + sql.substr(0, 80) + "'");
}

Stmt::~Stmt() { sqlite3_finalize(stmt_); }

Stmt& Stmt::bind(int i, int64_t v) {
  sqlite3_bind_int64(stmt_, i, v);
  return *this;
}
Stmt& Stmt::bind(int i, double v) {
  sqlite3_bind_double(stmt_, i, v);
  return *this;
}
Stmt& Stmt::bind(int i, const std::string& v) {
  sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
Stmt& Stmt::bind_blob(int i, const void* data, size_t bytes) {
  sqlite3_bind_blob(stmt_, i, data, static_cast<int>(bytes), SQLITE_TRANSIENT);
  return *this;
}
Stmt& Stmt::bind_null(int i) {
  sqlite3_bind_null(stmt_, i);
  return *this;
}

Stmt& Stmt::bind(int i, const SqlValue& v) {
  if (auto* n = std::get_if<int64_t>(&v)) return bind(i, *n);
  if (auto* d = std::get_if<double>(&v)) return bind(i, *d);
  return bind(i, std::get<std::string>(v));
}

int Stmt::bind_all(const std::vector<SqlValue>& values, int first) {
  for (const auto& v : values) bind(first++, v);
  return first;
}

bool Stmt::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  std::string sql = sqlite3_sql(stmt_) ? sqlite3_sql(stmt_) : "";
  sqlite3_reset(stmt_);
  throw_db(db_, "query failed '" + sql.substr(0, 60) + "'");
}

void Stmt::run() {
  while (step()) {
  }
  reset();
}

void Stmt::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::string Stmt::col_text(int c) const {
  const unsigned char* t = sqlite3_column_text(stmt_, c);
  return t ? std::string(reinterpret_cast<const char*>(t), sqlite3_column_bytes(stmt_, c)) : std::string();
}

Transaction::Transaction(sqlite3* db, bool immediate) : db_(db) {
  char* err = nullptr;
  if (sqlite3_exec(db, immediate ? "BEGIN IMMEDIATE" : "BEGIN", nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "";
    sqlite3_free(err);
    throw_db(db, "cannot begin transaction " + msg);
  }
  open_ = true;
}

Transaction::~Transaction() {
  if (open_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit() {
  if (!open_) return;
  char* err = nullptr;
  if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "";
    sqlite3_free(err);
    throw_db(db_, "commit failed " + msg);
  }
  open_ = false;
}

int64_t query_int(sqlite3* db, const std::string& sql, int64_t fallback) {
  Stmt s(db, sql);
  if (!s.step() || s.is_null(0)) return fallback;
  return s.col_int64(0);
}

void exec_sql(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw Error("catalog write failed: " + msg, ErrorCode::Io);
  }
}

}  // namespace vf::detail
