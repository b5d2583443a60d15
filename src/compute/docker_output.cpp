#include "compute/docker_output.h"

#include <system_error>

namespace ciro::compute {

OutputExtractor::OutputExtractor(std::filesystem::path dest, std::uint64_t max_bytes, std::size_t max_entries)
    : m_dest(std::move(dest)), m_max(max_bytes), m_max_entries(max_entries) {}

std::optional<std::filesystem::path> OutputExtractor::safe_relative(std::string_view name,
                                                                    std::string_view root_prefix, std::string& why) {
  std::string_view rest = name;
  if (!root_prefix.empty()) {
    std::string_view bare = root_prefix.substr(0, root_prefix.size() - 1);
    if (rest == bare) return std::filesystem::path{};
    if (rest.substr(0, root_prefix.size()) != root_prefix) {
      why = "outside the archive root";
      return std::nullopt;
    }
    rest.remove_prefix(root_prefix.size());
  }
  if (!rest.empty() && rest.front() == '/') {
    why = "absolute path refused";
    return std::nullopt;
  }
  std::filesystem::path out;
  while (!rest.empty()) {
    std::size_t slash = rest.find('/');
    std::string_view part = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      why = "'..' component refused";
      return std::nullopt;
    }
    if (part.find('\0') != std::string_view::npos) {
      why = "NUL in name refused";
      return std::nullopt;
    }
    out /= std::string(part);
  }
  return out;
}

void OutputExtractor::skip(const std::string& name, const std::string& why) {
  if (m_errors.size() < 1000) m_errors.push_back(name + ": " + why);
}

Result<void> OutputExtractor::on_entry(const TarEntry& e) {
  if (++m_entries > m_max_entries) {
    m_truncated = true;
    return make_error(Errc::limit_exceeded, "output has more than " + std::to_string(m_max_entries) + " entries");
  }
  if (!m_root_known) {
    m_root_known = true;
    if (e.type == TarEntryType::directory) {
      m_root_prefix = e.path;
      if (m_root_prefix.empty() || m_root_prefix.back() != '/') m_root_prefix.push_back('/');
      std::error_code ec;
      std::filesystem::create_directories(m_dest, ec);
      if (ec) return make_error(Errc::io, "cannot create " + m_dest.string() + ": " + ec.message());
      return {};
    }
  }
  std::string why;
  auto rel = safe_relative(e.path, m_root_prefix, why);
  if (!rel) {
    skip(e.path, why);
    return {};
  }
  switch (e.type) {
    case TarEntryType::symlink: skip(e.path, "symlink refused"); return {};
    case TarEntryType::hardlink: skip(e.path, "hardlink refused"); return {};
    case TarEntryType::other: skip(e.path, std::string("special file (type '") + e.typeflag + "') refused"); return {};
    default: break;
  }
  std::filesystem::path target = m_dest / *rel;
  std::error_code ec;
  if (e.type == TarEntryType::directory) {
    std::filesystem::create_directories(target, ec);
    if (ec) skip(e.path, "cannot create directory: " + ec.message());
    return {};
  }
  if (rel->empty()) {
    skip(e.path, "file at the archive root refused");
    return {};
  }
  std::filesystem::create_directories(target.parent_path(), ec);
  if (ec) {
    skip(e.path, "cannot create parent directory: " + ec.message());
    return {};
  }
  // A previous entry of the same name may have left a symlink (never, as we refuse them) or a
  // directory: do not follow or replace anything but a regular file.
  auto st = std::filesystem::symlink_status(target, ec);
  if (!ec && std::filesystem::exists(st) && !std::filesystem::is_regular_file(st)) {
    skip(e.path, "exists on the host and is not a regular file");
    return {};
  }
  m_file.open(target, std::ios::binary | std::ios::trunc);
  if (!m_file) {
    skip(e.path, "cannot open for writing");
    return {};
  }
  m_file_path = target;
  m_writing = true;
  if (e.size == 0) ++m_files;
  return {};
}

Result<void> OutputExtractor::on_data(std::string_view data) {
  if (!m_writing) return {};
  if (m_written + data.size() > m_max) {
    m_file.close();
    std::error_code ec;
    std::filesystem::remove(m_file_path, ec);
    m_writing = false;
    m_truncated = true;
    skip(m_file_path.lexically_relative(m_dest).string(), "removed: output cap of " + std::to_string(m_max) + " bytes reached");
    return make_error(Errc::limit_exceeded, "output larger than " + std::to_string(m_max) + " bytes");
  }
  m_file.write(data.data(), static_cast<std::streamsize>(data.size()));
  m_written += data.size();
  if (!m_file) return make_error(Errc::io, "cannot write " + m_file_path.string());
  return {};
}

Result<void> OutputExtractor::on_entry_end() {
  if (m_writing) {
    bool had_data = m_file.tellp() > 0;
    m_file.close();
    m_writing = false;
    if (had_data) ++m_files;
    if (!m_file) return make_error(Errc::io, "cannot close " + m_file_path.string());
  }
  return {};
}

}  // namespace ciro::compute
