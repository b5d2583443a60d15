#pragma once
// JobService: accepts, queues, runs and finishes jobs on this node. It owns the queue and the
// set of running jobs, drives the Executor, writes each result (manifest, signature) and keeps the
// JobStore the single source of truth: a job is on disk before submit() returns, and a result is
// on disk before its container is removed, so a crash at any point loses nothing (start() then
// reconciles the database with the engine).
//
// Thread: lives on the network io_context; every method must be called there. Disk and database
// work goes to the blocking pool. Lifecycle: construct → start() → ... → begin_shutdown() → stop.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "compute/executor.h"
#include "compute/gpu.h"
#include "compute/job_spec.h"
#include "storage/job_store.h"
#include "utils/identity.h"
#include "utils/result.h"

namespace spdlog {
class logger;
}

namespace ciro::node {

class WorkerMetrics;

struct JobServiceOptions {
  std::string node_id;                        ///< labels containers
  std::filesystem::path jobs_dir;             ///< data_dir/jobs: one folder per job
  compute::JobLimits limits;                  ///< validation limits and defaults
  std::uint32_t max_concurrent = 2;           ///< containers at once
  std::uint32_t max_queued = 1000;            ///< accepted, waiting
  std::uint64_t max_log_bytes = 16ull << 20;  ///< per job
  std::uint64_t tmpfs_bytes = 64ull << 20;
  std::chrono::milliseconds retention{std::chrono::hours(24 * 7)};
};

/// What submit() answers: the stored record, or why not (HTTP status chosen by the caller).
struct SubmitOutcome {
  std::optional<storage::JobRecord> job;
  int status = 201;          ///< 201, or 400/422/429/503 with the error below
  std::string code;          ///< machine-readable error code
  compute::SpecError error;  ///< field + message
};

class JobService {
 public:
  JobService(boost::asio::any_io_executor io, boost::asio::thread_pool& pool, JobServiceOptions options,
             storage::JobStore& store, compute::Executor& executor, compute::GpuManager& gpus,
             const utils::NodeKey& key, WorkerMetrics& metrics);
  ~JobService();

  /// Reconciles the database with the engine (finished → result, running → reattached,
  /// gone → failed "node restarted", orphans removed), rebuilds the queue, starts scheduling.
  boost::asio::awaitable<Result<void>> start();
  /// No new jobs are accepted or started; running containers are left to run (the next start
  /// reattaches them).
  void begin_shutdown();
  bool shutting_down() const { return m_shutting_down; }

  boost::asio::awaitable<SubmitOutcome> submit(std::string body, std::string source);
  boost::asio::awaitable<Result<std::optional<storage::JobRecord>>> get(std::string id);
  boost::asio::awaitable<Result<storage::JobPage>> list(std::optional<storage::JobState> state, std::size_t limit,
                                                        std::optional<std::int64_t> after);
  /// Cancels a queued or running job. not_found, or conflict when it already finished.
  boost::asio::awaitable<Result<storage::JobRecord>> cancel(std::string id);
  /// Called (on the network thread) once a job's result is durable, with its record and spec.
  void on_finished(std::function<void(const storage::JobRecord&, const compute::JobSpec&)> hook) {
    m_on_finished = std::move(hook);
  }
  /// Removes finished jobs older than the retention (database rows and files).
  boost::asio::awaitable<void> prune();

  std::filesystem::path job_dir(const std::string& id) const { return m_options.jobs_dir / id; }
  /// True while the job is queued or running in this process (log followers poll it).
  bool is_active(const std::string& id) const { return m_active.count(id) != 0; }
  std::size_t running_count() const { return m_running.size(); }
  std::size_t queued_count() const { return m_queue.size(); }
  const JobServiceOptions& options() const { return m_options; }
  /// Busy GPU ids (held by running jobs).
  std::set<std::string> busy_gpus() const;
  /// Completes when no job is running (used by tests and the benchmark).
  std::size_t active_count() const { return m_active.size(); }

 private:
  void pump();
  boost::asio::awaitable<void> run_job(std::string id, std::optional<std::string> resume_container);
  boost::asio::awaitable<void> finish_job(storage::JobRecord record, compute::JobSpec spec,
                                          compute::RunOutcome outcome);
  boost::asio::awaitable<void> remove_container(std::string job_id, std::string container_id);
  compute::ContainerSpec container_spec(const std::string& id, const compute::JobSpec& spec,
                                        const std::vector<std::string>& gpu_ids) const;
  std::string new_job_id();
  void update_gauges();

  boost::asio::any_io_executor m_io;
  boost::asio::thread_pool& m_pool;
  JobServiceOptions m_options;
  storage::JobStore& m_store;
  compute::Executor& m_executor;
  compute::GpuManager& m_gpus;
  const utils::NodeKey& m_key;
  WorkerMetrics& m_metrics;
  std::shared_ptr<spdlog::logger> m_log;

  std::deque<std::string> m_queue;                            ///< job ids in start order
  std::map<std::string, std::vector<std::string>> m_running;  ///< job id -> GPU ids held
  std::set<std::string> m_active;                             ///< queued or running here
  std::set<std::string> m_cancelled;                          ///< cancel asked while running
  std::map<std::string, unsigned> m_gpu_needs;                ///< GPUs each active job needs
  std::function<void(const storage::JobRecord&, const compute::JobSpec&)> m_on_finished;
  bool m_shutting_down = false;
  bool m_started = false;
  std::uint64_t m_id_counter = 0;
};

}  // namespace ciro::node
