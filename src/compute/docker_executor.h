#pragma once
// DockerExecutor: the production Executor. Speaks the Docker Engine API (v1.41) over a Unix
// socket to Docker or Podman; one container per job, created with every isolation flag (see
// build_create_body), supervised with its logs followed, its timeout enforced and cancel()
// honoured, /output collected through the archive API.
//
// Thread: lives on the node's io_context (the executor passed in); every method must be called
// there. Lifecycle: run()/resume() own the helper coroutines they spawn (log follower, wait) and
// return only after those have ended or been closed; the helpers hold only a shared_ptr to their
// job's state, never `this`. Destroy the executor after every run()/resume() has returned.
//
// Driving a lifecycle directly (bench/engine_direct): co_await run(spec) then remove(id), or
// run_and_remove(spec) which does both.

#include <boost/asio/any_io_executor.hpp>
#include <nlohmann/json_fwd.hpp>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "compute/executor.h"
#include "compute/unix_http.h"

namespace ciro::compute {

struct DockerOptions {
  std::filesystem::path socket;                            ///< the engine's Unix socket
  std::string api_version = "v1.41";                       ///< API path prefix of every request
  std::chrono::milliseconds request_timeout{30000};        ///< bound on each plain API request
  std::chrono::milliseconds kill_grace{10000};             ///< after kill: wait this long for the stop
  std::chrono::milliseconds log_drain{500};               ///< after exit: let the log stream end this long, then re-read the logs whole
  std::chrono::milliseconds disk_check{1000};             ///< how often a running job's /output volume is measured
};

/// The JSON body of POST /containers/create for this spec (the name goes in the query string).
/// Pure; exposed so tests can check every isolation flag sent.
nlohmann::json build_create_body(const ContainerSpec& spec);

class DockerExecutor final : public Executor {
 public:
  DockerExecutor(boost::asio::any_io_executor ex, DockerOptions options);
  ~DockerExecutor() override;

  boost::asio::awaitable<Result<RunOutcome>> run(ContainerSpec spec) override;
  boost::asio::awaitable<Result<RunOutcome>> resume(ContainerSpec spec, std::string container_id) override;
  bool cancel(const std::string& job_id) override;
  boost::asio::awaitable<Result<std::vector<OwnedContainer>>> list_owned(std::string node_id) override;
  boost::asio::awaitable<Result<void>> remove(std::string container_id) override;
  boost::asio::awaitable<Result<EngineInfo>> info() override;
  boost::asio::awaitable<Result<bool>> image_exists(std::string image) override;

  /// run() then remove() of its container (whatever the outcome); the outcome of run(), or the
  /// removal's error when the run succeeded but the removal failed.
  boost::asio::awaitable<Result<RunOutcome>> run_and_remove(ContainerSpec spec);

  const DockerOptions& options() const noexcept { return m_options; }

  struct Job;  // per-job supervision state, shared with the job's helper coroutines

 private:
  std::string api(std::string_view path) const;
  boost::asio::awaitable<Result<RunOutcome>> run_job(std::shared_ptr<Job> job, ContainerSpec spec);
  boost::asio::awaitable<Result<RunOutcome>> resume_job(std::shared_ptr<Job> job, ContainerSpec spec,
                                                        std::string id);
  boost::asio::awaitable<void> supervise(std::shared_ptr<Job> job, ContainerSpec spec, std::string id,
                                         std::chrono::steady_clock::time_point deadline, bool append,
                                         std::string since, RunOutcome* out);
  boost::asio::awaitable<void> finish(std::shared_ptr<Job> job, ContainerSpec spec, std::string id,
                                      std::chrono::system_clock::time_point local_start, RunOutcome* out);
  boost::asio::awaitable<void> refetch_logs(std::shared_ptr<Job> job, ContainerSpec spec, std::string id, bool append,
                                            std::string since);
  boost::asio::awaitable<void> collect_output(ContainerSpec spec, std::string id, RunOutcome* out);
  std::shared_ptr<Job> register_job(const std::string& job_id);
  void unregister_job(const std::string& job_id, const std::shared_ptr<Job>& job);

  boost::asio::any_io_executor m_ex;
  DockerOptions m_options;
  UnixHttpClient m_http;
  std::map<std::string, std::shared_ptr<Job>> m_jobs;
};

}  // namespace ciro::compute
