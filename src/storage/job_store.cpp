#include "storage/job_store.h"

namespace ciro::storage {

const char* job_state_name(JobState s) noexcept {
  switch (s) {
    case JobState::queued:
      return "queued";
    case JobState::running:
      return "running";
    case JobState::succeeded:
      return "succeeded";
    case JobState::failed:
      return "failed";
    case JobState::cancelled:
      return "cancelled";
  }
  return "unknown";
}

std::optional<JobState> job_state_from_name(std::string_view name) noexcept {
  for (auto s : {JobState::queued, JobState::running, JobState::succeeded, JobState::failed, JobState::cancelled}) {
    if (name == job_state_name(s)) return s;
  }
  return std::nullopt;
}

const std::vector<Migration>& node_migrations() {
  static const std::vector<Migration> migrations = {
      {1, "jobs",
       "CREATE TABLE jobs ("
       " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
       " id TEXT NOT NULL UNIQUE,"
       " state TEXT NOT NULL,"
       " spec_json TEXT NOT NULL,"
       " spec_sha256 TEXT NOT NULL,"
       " source TEXT NOT NULL DEFAULT 'api',"
       " submitted_at_ms INTEGER NOT NULL,"
       " started_at_ms INTEGER NOT NULL DEFAULT 0,"
       " finished_at_ms INTEGER NOT NULL DEFAULT 0,"
       " container_id TEXT NOT NULL DEFAULT '',"
       " gpu_ids TEXT NOT NULL DEFAULT '',"
       " reason TEXT NOT NULL DEFAULT '',"
       " exit_code INTEGER NOT NULL DEFAULT -1,"
       " detail TEXT NOT NULL DEFAULT '',"
       " manifest_json TEXT NOT NULL DEFAULT '',"
       " manifest_sha256 TEXT NOT NULL DEFAULT '',"
       " signature_json TEXT NOT NULL DEFAULT '',"
       " cancel_requested INTEGER NOT NULL DEFAULT 0);"
       "CREATE INDEX jobs_state ON jobs(state, seq);"
       "CREATE INDEX jobs_finished ON jobs(finished_at_ms);"},
      {2, "chain results",
       // Results owed to the chain: a job submitted with a chain_job_id, once it succeeded, has
       // its output hash sent with JobManager.submit_job_result after the chain assigned it to us.
       "CREATE TABLE chain_results ("
       " job_id TEXT PRIMARY KEY,"
       " chain_job_id TEXT NOT NULL,"
       " output_hash TEXT NOT NULL,"
       " state TEXT NOT NULL DEFAULT 'ready',"
       " attempts INTEGER NOT NULL DEFAULT 0,"
       " tx_hash TEXT NOT NULL DEFAULT '',"
       " error TEXT NOT NULL DEFAULT '',"
       " updated_at_ms INTEGER NOT NULL DEFAULT 0);"
       "CREATE TABLE chain_assignments (chain_job_id TEXT PRIMARY KEY, seen_at_ms INTEGER NOT NULL);"},
  };
  return migrations;
}

namespace {
constexpr const char* COLUMNS =
    "seq, id, state, spec_json, spec_sha256, source, submitted_at_ms, started_at_ms, finished_at_ms, container_id, "
    "gpu_ids, reason, exit_code, detail, manifest_json, manifest_sha256, signature_json, cancel_requested";

JobRecord from_row(const Row& r) {
  JobRecord j;
  j.seq = r.integer(0);
  j.id = r.text(1);
  j.state = job_state_from_name(r.text(2)).value_or(JobState::failed);
  j.spec_json = r.text(3);
  j.spec_sha256 = r.text(4);
  j.source = r.text(5);
  j.submitted_at_ms = r.integer(6);
  j.started_at_ms = r.integer(7);
  j.finished_at_ms = r.integer(8);
  j.container_id = r.text(9);
  j.gpu_ids = r.text(10);
  j.reason = r.text(11);
  j.exit_code = static_cast<int>(r.integer(12));
  j.detail = r.text(13);
  j.manifest_json = r.text(14);
  j.manifest_sha256 = r.text(15);
  j.signature_json = r.text(16);
  j.cancel_requested = r.integer(17) != 0;
  return j;
}
}  // namespace

Result<std::unique_ptr<SqliteJobStore>> SqliteJobStore::open(const std::filesystem::path& file) {
  CIRO_TRY(auto db, Database::open(file, node_migrations()));
  return std::unique_ptr<SqliteJobStore>(new SqliteJobStore(std::move(db)));
}

Result<void> SqliteJobStore::insert(const JobRecord& j) {
  auto r = m_db->exec(
      "INSERT INTO jobs(id, state, spec_json, spec_sha256, source, submitted_at_ms) VALUES (?, ?, ?, ?, ?, ?)",
      {j.id, job_state_name(j.state), j.spec_json, j.spec_sha256, j.source, j.submitted_at_ms});
  if (!r.ok()) {
    if (r.error().code == Errc::conflict) return Error(Errc::already_exists, "job " + j.id + " already exists");
    return std::move(r).error();
  }
  return {};
}

Result<std::optional<JobRecord>> SqliteJobStore::get(const std::string& id) {
  CIRO_TRY(auto rows, m_db->query(std::string("SELECT ") + COLUMNS + " FROM jobs WHERE id = ?", {id}));
  if (rows.empty()) return std::optional<JobRecord>();
  return std::optional<JobRecord>(from_row(rows[0]));
}

Result<JobPage> SqliteJobStore::list(std::optional<JobState> state, std::size_t limit,
                                     std::optional<std::int64_t> after) {
  std::string sql = std::string("SELECT ") + COLUMNS + " FROM jobs WHERE seq < ?";
  std::vector<SqlValue> params = {after.value_or(INT64_MAX)};
  if (state) {
    sql += " AND state = ?";
    params.emplace_back(job_state_name(*state));
  }
  sql += " ORDER BY seq DESC LIMIT ?";
  params.emplace_back(static_cast<std::int64_t>(limit + 1));
  CIRO_TRY(auto rows, m_db->query(sql, params));
  JobPage page;
  for (std::size_t i = 0; i < rows.size() && i < limit; ++i) page.jobs.push_back(from_row(rows[i]));
  if (rows.size() > limit && !page.jobs.empty()) page.next_cursor = page.jobs.back().seq;
  return page;
}

Result<std::vector<JobRecord>> SqliteJobStore::in_states(const std::vector<JobState>& states) {
  std::string sql = std::string("SELECT ") + COLUMNS + " FROM jobs WHERE state IN (";
  std::vector<SqlValue> params;
  for (std::size_t i = 0; i < states.size(); ++i) {
    sql += i ? ",?" : "?";
    params.emplace_back(job_state_name(states[i]));
  }
  sql += ") ORDER BY seq ASC";
  CIRO_TRY(auto rows, m_db->query(sql, params));
  std::vector<JobRecord> out;
  out.reserve(rows.size());
  for (const auto& r : rows) out.push_back(from_row(r));
  return out;
}

Result<void> SqliteJobStore::mark_running(const std::string& id, const std::string& container_id,
                                          std::int64_t started_at_ms, const std::string& gpu_ids) {
  CIRO_TRY(auto n, m_db->exec("UPDATE jobs SET state = 'running', container_id = ?, started_at_ms = ?, gpu_ids = ? "
                              "WHERE id = ? AND state IN ('queued', 'running')",
                              {container_id, started_at_ms, gpu_ids, id}));
  if (n == 0) return Error(Errc::conflict, "job " + id + " is not queued or running");
  return {};
}

Result<void> SqliteJobStore::finish(const JobRecord& j) {
  CIRO_TRY(auto n,
           m_db->exec("UPDATE jobs SET state = ?, finished_at_ms = ?, started_at_ms = ?, container_id = ?, reason = ?, "
                      "exit_code = ?, detail = ?, manifest_json = ?, manifest_sha256 = ?, signature_json = ? "
                      "WHERE id = ? AND state IN ('queued', 'running')",
                      {job_state_name(j.state), j.finished_at_ms, j.started_at_ms, j.container_id, j.reason,
                       j.exit_code, j.detail, j.manifest_json, j.manifest_sha256, j.signature_json, j.id}));
  if (n == 0) return Error(Errc::conflict, "job " + j.id + " is already finished");
  return {};
}

Result<void> SqliteJobStore::request_cancel(const std::string& id) {
  CIRO_TRY_VOID(m_db->exec("UPDATE jobs SET cancel_requested = 1 WHERE id = ?", {id}));
  return {};
}

Result<std::map<JobState, std::int64_t>> SqliteJobStore::counts() {
  CIRO_TRY(auto rows, m_db->query("SELECT state, COUNT(*) FROM jobs GROUP BY state"));
  std::map<JobState, std::int64_t> out;
  for (const auto& r : rows) {
    if (auto s = job_state_from_name(r.text(0))) out[*s] = r.integer(1);
  }
  return out;
}

Result<std::vector<std::string>> SqliteJobStore::finished_before(std::int64_t ms, std::size_t limit) {
  CIRO_TRY(auto rows, m_db->query("SELECT id FROM jobs WHERE state IN ('succeeded','failed','cancelled') AND "
                                  "finished_at_ms > 0 AND finished_at_ms < ? ORDER BY finished_at_ms LIMIT ?",
                                  {ms, static_cast<std::int64_t>(limit)}));
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r.text(0));
  return out;
}

Result<void> SqliteJobStore::remove(const std::string& id) {
  CIRO_TRY_VOID(m_db->exec("DELETE FROM jobs WHERE id = ?", {id}));
  return {};
}

}  // namespace ciro::storage
