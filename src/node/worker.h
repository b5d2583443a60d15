#pragma once
// Worker: the composition root of ciro-worker. Builds every part from the Config in dependency
// order (logging, identity, token, database, engine, GPUs, jobs, HTTP), runs the single network
// io_context on the calling thread, and stops everything in reverse order on SIGTERM/SIGINT or
// request_stop(). One per process.

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>

#include "utils/config.h"
#include "utils/result.h"

namespace ciro::node {

class Worker {
 public:
  explicit Worker(utils::Config config);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  /// Opens the key, token and database and binds the HTTP address; fails with a message an
  /// operator can act on. Does not block.
  Result<void> open();
  /// Runs until stopped (signal or request_stop()); returns the process exit code.
  int run();
  /// Thread-safe: asks run() to return after a clean shutdown.
  void request_stop();

  /// The HTTP address bound (after open()), e.g. "127.0.0.1:41234".
  std::string http_address() const;
  std::string peer_id() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

/// Reads (or creates, 0600, on first start) the API bearer token. A token file readable by group
/// or others is refused with the chmod that fixes it.
Result<std::string> load_or_create_token(const std::filesystem::path& file);

}  // namespace ciro::node
