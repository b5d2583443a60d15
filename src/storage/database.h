#pragma once
// Database: one SQLite connection in WAL mode with versioned migrations. Owned by the composition
// root; used from the blocking pool (never the network thread). All methods are serialised by an
// internal mutex, so any thread may call them.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "utils/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace ciro::storage {

/// One migration: applied once, in version order, inside a transaction.
struct Migration {
  int version;
  std::string name;
  std::string sql;
};

/// A bound value for a statement parameter.
struct SqlValue {
  enum class Kind { null, integer, real, text } kind = Kind::null;
  std::int64_t i = 0;
  double d = 0;
  std::string s;
  static SqlValue null() { return {}; }
  SqlValue() = default;
  SqlValue(std::int64_t v) : kind(Kind::integer), i(v) {}         // NOLINT
  SqlValue(int v) : kind(Kind::integer), i(v) {}                  // NOLINT
  SqlValue(double v) : kind(Kind::real), d(v) {}                  // NOLINT
  SqlValue(std::string v) : kind(Kind::text), s(std::move(v)) {}  // NOLINT
  SqlValue(const char* v) : kind(Kind::text), s(v) {}             // NOLINT
  SqlValue(std::string_view v) : kind(Kind::text), s(v) {}        // NOLINT
};

/// A row read back: columns by index; text columns that were NULL read as "".
class Row {
 public:
  std::int64_t integer(int col) const;
  double real(int col) const;
  std::string text(int col) const;
  bool is_null(int col) const;

 private:
  friend class Database;
  std::vector<SqlValue> m_values;
};

class Database {
 public:
  /// Opens (creating) the file, sets WAL + synchronous=FULL + foreign keys + busy timeout, and
  /// applies the migrations not yet applied. Errors name the file and the failing step.
  static Result<std::unique_ptr<Database>> open(const std::filesystem::path& file,
                                                const std::vector<Migration>& migrations);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  /// Runs one statement with parameters; returns rows changed.
  Result<std::int64_t> exec(std::string_view sql, const std::vector<SqlValue>& params = {});
  /// Runs a query and returns every row.
  Result<std::vector<Row>> query(std::string_view sql, const std::vector<SqlValue>& params = {});
  /// Runs fn inside BEGIN IMMEDIATE ... COMMIT; rolls back when fn returns an error.
  Result<void> transaction(const std::function<Result<void>()>& fn);
  /// The highest migration version applied.
  int schema_version() const { return m_version; }
  const std::filesystem::path& file() const { return m_file; }

 private:
  Database() = default;
  Result<void> exec_plain(const std::string& sql);
  Result<std::vector<Row>> run(std::string_view sql, const std::vector<SqlValue>& params, std::int64_t* changes);

  sqlite3* m_db = nullptr;
  std::filesystem::path m_file;
  int m_version = 0;
  std::recursive_mutex m_mutex;  // recursive: transaction() callbacks call exec()/query()
};

}  // namespace ciro::storage
