#pragma once
// JobStore: the durable record of every job this node accepted, and its result. The seam between
// the worker and its disk (STYLE: interfaces at seams); SqliteJobStore is the production one.
// Thread-safe; blocking (call from the blocking pool, not the network thread).

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "storage/database.h"
#include "utils/result.h"

namespace ciro::storage {

enum class JobState { queued, running, succeeded, failed, cancelled };
const char* job_state_name(JobState s) noexcept;
std::optional<JobState> job_state_from_name(std::string_view name) noexcept;
inline bool is_terminal(JobState s) {
  return s == JobState::succeeded || s == JobState::failed || s == JobState::cancelled;
}

struct JobRecord {
  std::string id;
  std::int64_t seq = 0;  ///< insertion order; the paging cursor
  JobState state = JobState::queued;
  std::string spec_json;  ///< the validated spec, canonical JSON
  std::string spec_sha256;
  std::string source = "api";  ///< api | p2p | chain
  std::int64_t submitted_at_ms = 0;
  std::int64_t started_at_ms = 0;   ///< 0 = not started
  std::int64_t finished_at_ms = 0;  ///< 0 = not finished
  std::string container_id;
  std::string gpu_ids;  ///< comma-separated device ids given to the container
  std::string reason;   ///< exited | timeout | out_of_memory | cancelled | engine_error | node_restarted
  int exit_code = -1;
  std::string detail;
  std::string manifest_json;  ///< canonical manifest ("" until finished)
  std::string manifest_sha256;
  std::string signature_json;  ///< manifest.sig.json contents
  bool cancel_requested = false;
};

struct JobPage {
  std::vector<JobRecord> jobs;
  std::optional<std::int64_t> next_cursor;  ///< pass as `after` for the next page
};

class JobStore {
 public:
  virtual ~JobStore() = default;
  /// Stores a new job durably (fsync'd) before returning. already_exists if the id is taken.
  virtual Result<void> insert(const JobRecord& job) = 0;
  virtual Result<std::optional<JobRecord>> get(const std::string& id) = 0;
  /// Newest first; `after` is the cursor of the previous page.
  virtual Result<JobPage> list(std::optional<JobState> state, std::size_t limit, std::optional<std::int64_t> after) = 0;
  /// Oldest first: jobs in any of these states (start-up reconciliation, queue rebuild).
  virtual Result<std::vector<JobRecord>> in_states(const std::vector<JobState>& states) = 0;
  virtual Result<void> mark_running(const std::string& id, const std::string& container_id, std::int64_t started_at_ms,
                                    const std::string& gpu_ids) = 0;
  /// Final state with outcome and (optionally) the signed manifest; one transaction.
  virtual Result<void> finish(const JobRecord& finished) = 0;
  virtual Result<void> request_cancel(const std::string& id) = 0;
  virtual Result<std::map<JobState, std::int64_t>> counts() = 0;
  /// Terminal jobs finished before the given time (retention).
  virtual Result<std::vector<std::string>> finished_before(std::int64_t ms, std::size_t limit) = 0;
  virtual Result<void> remove(const std::string& id) = 0;
};

class SqliteJobStore final : public JobStore {
 public:
  /// Opens data_dir/ciro.db (creating and migrating it).
  static Result<std::unique_ptr<SqliteJobStore>> open(const std::filesystem::path& file);

  Result<void> insert(const JobRecord& job) override;
  Result<std::optional<JobRecord>> get(const std::string& id) override;
  Result<JobPage> list(std::optional<JobState> state, std::size_t limit, std::optional<std::int64_t> after) override;
  Result<std::vector<JobRecord>> in_states(const std::vector<JobState>& states) override;
  Result<void> mark_running(const std::string& id, const std::string& container_id, std::int64_t started_at_ms,
                            const std::string& gpu_ids) override;
  Result<void> finish(const JobRecord& finished) override;
  Result<void> request_cancel(const std::string& id) override;
  Result<std::map<JobState, std::int64_t>> counts() override;
  Result<std::vector<std::string>> finished_before(std::int64_t ms, std::size_t limit) override;
  Result<void> remove(const std::string& id) override;

  Database& database() { return *m_db; }

 private:
  explicit SqliteJobStore(std::unique_ptr<Database> db) : m_db(std::move(db)) {}
  std::unique_ptr<Database> m_db;
};

/// The migrations of the node database, in order (also used by later subsystems' tables).
const std::vector<Migration>& node_migrations();

}  // namespace ciro::storage
