#pragma once
// A recording Unix-socket proxy in front of the test engine: the worker talks to the proxy,
// which forwards every byte to the real engine and keeps a copy of what the worker sent, so a
// test can check the exact requests (e.g. the GPU device request in a container create).
// Runs its own thread; stopped by its destructor.

#include <atomic>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ciro::test {

class EngineProxy {
 public:
  EngineProxy(std::filesystem::path listen_path, std::string upstream_path);
  ~EngineProxy();
  const std::filesystem::path& path() const { return m_path; }
  /// Everything clients sent so far, one string per connection.
  std::vector<std::string> requests() const;

 private:
  void serve();
  void pump(int client);
  std::filesystem::path m_path;
  std::string m_upstream;
  int m_listen = -1;
  std::atomic<bool> m_stop{false};
  std::thread m_thread;
  std::vector<std::thread> m_workers;
  mutable std::mutex m_mutex;
  std::vector<std::string> m_requests;
};

}  // namespace ciro::test
