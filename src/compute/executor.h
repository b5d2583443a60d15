#pragma once
// Executor: the seam between the worker and a container engine. One job = one container.
// Implementations live on the node's single io_context thread; every method must be called there.
// Production: DockerExecutor (Docker Engine API v1.41 over a Unix socket; Podman or Docker).

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "utils/result.h"

namespace ciro::compute {

/// Labels put on every container so a restarted node can find what it owns.
inline constexpr const char* LABEL_NODE = "ciro.node";
inline constexpr const char* LABEL_JOB = "ciro.job";

/// Everything the engine needs to run one job. Built by the worker from a validated job spec.
struct ContainerSpec {
  std::string job_id;                          ///< also names the container "ciro-<job_id>"
  std::string node_id;                         ///< value of the ciro.node label
  std::string image;
  std::vector<std::string> entrypoint;         ///< empty = image default
  std::vector<std::string> command;            ///< empty = image default
  std::map<std::string, std::string> env;
  std::string workdir;                         ///< empty = image default
  std::filesystem::path input_dir;             ///< host folder bound read-only at /input; empty = none
  bool network = false;                        ///< false = NetworkMode none
  std::uint64_t memory_bytes = 512ull << 20;   ///< hard memory limit (also memory+swap)
  double cpus = 1.0;                           ///< NanoCpus = cpus * 1e9
  std::int64_t pids_limit = 256;
  std::uint64_t tmpfs_bytes = 64ull << 20;     ///< size of the tmpfs at /tmp
  std::vector<std::string> gpu_device_ids;     ///< NVIDIA device request with these ids; empty = no GPU
  std::chrono::milliseconds timeout{std::chrono::minutes(10)};
  std::uint64_t max_output_bytes = 256ull << 20;  ///< cap on the /output tar collected
  std::uint64_t max_log_bytes = 16ull << 20;      ///< cap on stdout+stderr kept
  std::filesystem::path output_dir;            ///< host folder where /output's files are extracted
  std::filesystem::path stdout_file;           ///< host file receiving stdout (capped)
  std::filesystem::path stderr_file;           ///< host file receiving stderr (capped)
};

/// Why a job's container stopped.
enum class EndReason { exited, timeout, out_of_memory, cancelled, engine_error, node_restarted, disk_limit };
const char* end_reason_name(EndReason reason) noexcept;
std::optional<EndReason> end_reason_from_name(std::string_view name) noexcept;

struct RunOutcome {
  EndReason reason = EndReason::engine_error;
  int exit_code = -1;                ///< container exit code; -1 when it never ran
  std::string detail;                ///< human-readable: engine error text, which limit, ...
  std::string container_id;          ///< still present after run(): the caller removes it
  std::chrono::system_clock::time_point started_at{};
  std::chrono::system_clock::time_point finished_at{};
  std::uint64_t stdout_bytes = 0;    ///< bytes kept in stdout_file
  std::uint64_t stderr_bytes = 0;
  bool logs_truncated = false;       ///< max_log_bytes reached
  bool output_truncated = false;     ///< max_output_bytes reached: output collection stopped
  std::vector<std::string> output_errors;  ///< entries skipped (absolute, "..", links, devices)
};

/// A container found on the engine carrying this node's label.
struct OwnedContainer {
  std::string container_id;
  std::string job_id;   ///< from the ciro.job label ("" when missing)
  bool running = false;
};

struct EngineInfo {
  std::string version;      ///< engine version string
  std::string api_version;
  std::string os;
};

class Executor {
 public:
  virtual ~Executor() = default;

  /// Creates, starts and waits for the job's container, enforcing spec.timeout and cancel();
  /// streams logs to the spec's files and collects /output into spec.output_dir. The container is
  /// NOT removed: the caller persists the outcome first, then calls remove(). Engine failures are
  /// reported as an outcome with reason engine_error (create failed, image missing, ...); an Error
  /// is returned only when nothing could be attempted (engine unreachable before create).
  virtual boost::asio::awaitable<Result<RunOutcome>> run(ContainerSpec spec) = 0;

  /// Same as run() for a container that already exists (found after a restart): waits for it if
  /// still running (time left = spec.timeout minus time already run), then collects.
  virtual boost::asio::awaitable<Result<RunOutcome>> resume(ContainerSpec spec, std::string container_id) = 0;

  /// Kills the job's container if it runs; its run()/resume() then ends with reason cancelled.
  /// Returns false when no container of that job is known to this executor.
  virtual bool cancel(const std::string& job_id) = 0;

  /// Containers on the engine labelled ciro.node=node_id (running or not).
  virtual boost::asio::awaitable<Result<std::vector<OwnedContainer>>> list_owned(std::string node_id) = 0;

  /// Force-removes a container (and its anonymous volumes). Not found counts as success.
  virtual boost::asio::awaitable<Result<void>> remove(std::string container_id) = 0;

  /// Engine version; an error when the engine does not answer.
  virtual boost::asio::awaitable<Result<EngineInfo>> info() = 0;

  /// True when the image exists locally on the engine.
  virtual boost::asio::awaitable<Result<bool>> image_exists(std::string image) = 0;
};

}  // namespace ciro::compute
