#pragma once
// OutputExtractor: writes the regular files and directories of a container's /output archive
// into a host folder, and nothing else. Fed by TarReader; blocking file writes (small, on the
// caller's thread). One per collection.
//
// Archive names differ between engines: Docker names entries "output/a", Podman 4.3 "/a" (with a
// first entry "/") or "output/a" (for a non-volume folder). The first entry, when it is a
// directory, is taken as the archive root and stripped from every name; what remains must be a
// relative path without ".." (an absolute remainder such as Podman's "//etc/x" is refused).

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "compute/tar_reader.h"

namespace ciro::compute {

class OutputExtractor final : public TarVisitor {
 public:
  /// dest must exist or be creatable; max_bytes caps the file content written in total.
  OutputExtractor(std::filesystem::path dest, std::uint64_t max_bytes, std::size_t max_entries = 100000);

  Result<void> on_entry(const TarEntry& entry) override;
  Result<void> on_data(std::string_view data) override;
  Result<void> on_entry_end() override;

  /// Entries skipped, one line each ("<name>: symlink refused", ...).
  const std::vector<std::string>& errors() const noexcept { return m_errors; }
  /// The cap was reached: the file being written was removed and extraction stopped (on_data
  /// returned Errc::limit_exceeded).
  bool truncated() const noexcept { return m_truncated; }
  std::uint64_t bytes_written() const noexcept { return m_written; }
  std::size_t files_written() const noexcept { return m_files; }

  /// Maps an archive name to a safe relative path under the root, or an error text. Exposed for
  /// tests; root_prefix is "" or ends with '/'.
  static std::optional<std::filesystem::path> safe_relative(std::string_view name, std::string_view root_prefix,
                                                            std::string& why);

 private:
  void skip(const std::string& name, const std::string& why);

  std::filesystem::path m_dest;
  std::uint64_t m_max;
  std::size_t m_max_entries;
  std::size_t m_entries = 0;
  bool m_root_known = false;
  std::string m_root_prefix;
  std::ofstream m_file;
  std::filesystem::path m_file_path;
  bool m_writing = false;
  std::uint64_t m_written = 0;
  std::size_t m_files = 0;
  bool m_truncated = false;
  std::vector<std::string> m_errors;
};

}  // namespace ciro::compute
