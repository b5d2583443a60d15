#pragma once
// Helpers for the verification tests: a fresh folder per test, file I/O, a sample manifest.

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>

#include "compute/manifest.h"

namespace ciro::compute::testing {

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    m_path = std::filesystem::temp_directory_path() /
             ("ciro-verify-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(m_path);
    std::filesystem::create_directories(m_path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  const std::filesystem::path& path() const { return m_path; }

 private:
  std::filesystem::path m_path;
};

inline void write(const std::filesystem::path& p, const std::string& data) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary | std::ios::trunc) << data;
}

inline std::string read(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline ResultManifest sample_manifest() {
  ResultManifest m;
  m.job_id = "job-0001";
  m.node_id = "worker-001";
  m.peer_id = "12D3KooWExample";
  m.image = "docker.io/library/alpine:3.19";
  m.spec_sha256 = std::string(64, 'a');
  m.exit_code = 0;
  m.reason = "exited";
  m.detail = "";
  m.started_at = "2024-05-01T12:00:00.123Z";
  m.finished_at = "2024-05-01T12:00:05.456Z";
  m.duration_ms = 5333;
  m.outputs = {{"a.txt", 3, std::string(64, '1')}, {"sub/b.bin", 10, std::string(64, '2')}};
  m.stdout_log = {"stdout", 5, std::string(64, '3')};
  m.stderr_log = {"stderr", 0, std::string(64, '4')};
  return m;
}

}  // namespace ciro::compute::testing
