#pragma once
// A ciro-worker child process for functional tests: its own data dir, port 0 (the bound address
// is read from data_dir/api.addr), the test engine socket. Stopped by its own PID.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "api/http_client.h"
#include "utils/result.h"

namespace ciro::test {

/// The engine socket for tests; fails the test when CIRO_TEST_ENGINE_SOCKET is unset.
std::string engine_socket();

/// A fresh empty folder under the temp dir, unique to this process and test.
std::filesystem::path fresh_dir(const std::string& tag);

class WorkerProcess {
 public:
  /// data_dir is created if missing; extra args are appended (e.g. "--set", "k=v").
  explicit WorkerProcess(std::filesystem::path data_dir, std::vector<std::string> extra_args = {});
  ~WorkerProcess();

  /// Starts and waits until /health/ready answers 200 (or the process dies / times out).
  Result<void> start(std::chrono::seconds timeout = std::chrono::seconds(30));
  /// SIGTERM and wait; returns the exit status (or -1 on timeout, after which it is killed).
  int terminate(std::chrono::seconds timeout = std::chrono::seconds(30));
  /// SIGKILL and reap.
  void kill9();
  bool running();
  /// The exit status once running() has seen the process end by itself (-1 before).
  int exit_status() const { return m_exit_status; }

  const std::string& url() const { return m_url; }
  const std::string& token() const { return m_token; }
  const std::filesystem::path& data_dir() const { return m_data_dir; }
  std::string log_text() const;
  pid_t pid() const { return m_pid; }
  /// The node id it runs as (one per test folder).
  std::string node_id() const;

  /// HTTP helpers with the bearer token.
  Result<api::ClientResponse> get(const std::string& target, bool auth = true) const;
  Result<api::ClientResponse> post(const std::string& target, const std::string& body, bool auth = true) const;
  Result<api::ClientResponse> del(const std::string& target) const;
  /// Submits and returns the job id ("" when refused; the status is in *status).
  std::string submit(const std::string& spec_json, int* status = nullptr) const;
  /// Polls until the job is terminal; returns its JSON ("" on timeout).
  std::string wait_job(const std::string& id, std::chrono::seconds timeout = std::chrono::seconds(60)) const;

 private:
  std::filesystem::path m_data_dir;      ///< absolute, for the harness's own file accesses
  std::filesystem::path m_data_dir_arg;  ///< as given to the constructor, passed to --data-dir
  std::vector<std::string> m_args;
  pid_t m_pid = -1;
  int m_exit_status = -1;
  std::string m_url;
  std::string m_token;
};

/// Containers on the test engine labelled ciro.node=node_id (via the engine API).
std::vector<std::string> engine_containers(const std::string& node_id);
/// Removes them (with their volumes): for suites whose worker stops with jobs still running.
void remove_engine_containers(const std::string& node_id);
/// Runs a command, returns {exit status, stdout}.
std::pair<int, std::string> run_command(const std::string& command);

}  // namespace ciro::test
