#include "storage/database.h"

#include <sqlite3.h>

namespace ciro::storage {

std::int64_t Row::integer(int col) const {
  return m_values.at(col).kind == SqlValue::Kind::integer ? m_values[col].i : 0;
}
double Row::real(int col) const {
  const auto& v = m_values.at(col);
  return v.kind == SqlValue::Kind::real ? v.d : v.kind == SqlValue::Kind::integer ? static_cast<double>(v.i) : 0.0;
}
std::string Row::text(int col) const {
  return m_values.at(col).kind == SqlValue::Kind::text ? m_values[col].s : std::string();
}
bool Row::is_null(int col) const { return m_values.at(col).kind == SqlValue::Kind::null; }

Database::~Database() {
  if (m_db != nullptr) sqlite3_close_v2(m_db);
}

Result<void> Database::exec_plain(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(m_db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return Error(Errc::io, m_file.string() + ": " + msg);
  }
  return {};
}

Result<std::unique_ptr<Database>> Database::open(const std::filesystem::path& file,
                                                 const std::vector<Migration>& migrations) {
  std::unique_ptr<Database> db(new Database());
  db->m_file = file;
  int rc = sqlite3_open_v2(file.c_str(), &db->m_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    return Error(Errc::io, "cannot open database " + file.string() + ": " + sqlite3_errstr(rc));
  }
  sqlite3_busy_timeout(db->m_db, 5000);
  // WAL: readers never block the writer. synchronous=FULL: a commit is on disk (fsync) before it
  // returns, which is what a 2xx on submit promises.
  for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON"}) {
    CIRO_TRY_VOID(db->exec_plain(pragma));
  }
  CIRO_TRY_VOID(
      db->exec_plain("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                     "applied_at INTEGER NOT NULL)"));
  CIRO_TRY(auto rows, db->query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
  db->m_version = static_cast<int>(rows.at(0).integer(0));
  for (const auto& m : migrations) {
    if (m.version <= db->m_version) continue;
    auto r = db->transaction([&]() -> Result<void> {
      CIRO_TRY_VOID(db->exec_plain(m.sql));
      auto recorded =
          db->exec("INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, strftime('%s','now'))",
                   {m.version, m.name});
      if (!recorded.ok()) return std::move(recorded).error();
      return {};
    });
    if (!r.ok()) {
      return Error(Errc::io,
                   "migration " + std::to_string(m.version) + " (" + m.name + ") failed: " + r.error().message);
    }
    db->m_version = m.version;
  }
  return db;
}

Result<std::vector<Row>> Database::run(std::string_view sql, const std::vector<SqlValue>& params,
                                       std::int64_t* changes) {
  std::lock_guard lock(m_mutex);
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(m_db, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) return Error(Errc::internal, "SQL prepare failed: " + std::string(sqlite3_errmsg(m_db)));
  for (std::size_t i = 0; i < params.size(); ++i) {
    const auto& p = params[i];
    int idx = static_cast<int>(i + 1);
    switch (p.kind) {
      case SqlValue::Kind::null:
        sqlite3_bind_null(stmt, idx);
        break;
      case SqlValue::Kind::integer:
        sqlite3_bind_int64(stmt, idx, p.i);
        break;
      case SqlValue::Kind::real:
        sqlite3_bind_double(stmt, idx, p.d);
        break;
      case SqlValue::Kind::text:
        sqlite3_bind_text(stmt, idx, p.s.data(), static_cast<int>(p.s.size()), SQLITE_TRANSIENT);
        break;
    }
  }
  std::vector<Row> rows;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    Row row;
    int n = sqlite3_column_count(stmt);
    row.m_values.resize(n);
    for (int c = 0; c < n; ++c) {
      switch (sqlite3_column_type(stmt, c)) {
        case SQLITE_INTEGER:
          row.m_values[c] = SqlValue(static_cast<std::int64_t>(sqlite3_column_int64(stmt, c)));
          break;
        case SQLITE_FLOAT:
          row.m_values[c] = SqlValue(sqlite3_column_double(stmt, c));
          break;
        case SQLITE_TEXT:
        case SQLITE_BLOB: {
          const auto* txt = static_cast<const char*>(sqlite3_column_blob(stmt, c));
          row.m_values[c] =
              SqlValue(std::string(txt ? txt : "", static_cast<std::size_t>(sqlite3_column_bytes(stmt, c))));
          break;
        }
        default:
          break;
      }
    }
    rows.push_back(std::move(row));
  }
  if (rc != SQLITE_DONE) {
    std::string msg = sqlite3_errmsg(m_db);
    sqlite3_finalize(stmt);
    return Error(rc == SQLITE_CONSTRAINT ? Errc::conflict : Errc::io, m_file.string() + ": " + msg);
  }
  if (changes) *changes = sqlite3_changes64(m_db);
  sqlite3_finalize(stmt);
  return rows;
}

Result<std::int64_t> Database::exec(std::string_view sql, const std::vector<SqlValue>& params) {
  std::int64_t changes = 0;
  CIRO_TRY_VOID(run(sql, params, &changes));
  return changes;
}

Result<std::vector<Row>> Database::query(std::string_view sql, const std::vector<SqlValue>& params) {
  return run(sql, params, nullptr);
}

Result<void> Database::transaction(const std::function<Result<void>()>& fn) {
  std::lock_guard lock(m_mutex);
  CIRO_TRY_VOID(exec_plain("BEGIN IMMEDIATE"));
  auto r = fn();
  if (!r.ok()) {
    (void)exec_plain("ROLLBACK");
    return r;
  }
  auto c = exec_plain("COMMIT");
  if (!c.ok()) {
    (void)exec_plain("ROLLBACK");
    return c;
  }
  return {};
}

}  // namespace ciro::storage
