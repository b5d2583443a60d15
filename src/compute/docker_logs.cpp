#include "compute/docker_logs.h"

#include <algorithm>

namespace ciro::compute {

Result<void> LogDemuxer::feed(std::string_view chunk, const Sink& sink) {
  if (m_failed) return make_error(Errc::protocol, "log stream: not in Docker's multiplexed format");
  while (!chunk.empty()) {
    if (m_left == 0) {
      std::size_t take = std::min(sizeof m_header - m_header_len, chunk.size());
      std::copy_n(chunk.data(), take, m_header + m_header_len);
      m_header_len += take;
      chunk.remove_prefix(take);
      if (m_header_len < sizeof m_header) break;
      m_header_len = 0;
      if (m_header[0] > 2 || m_header[1] != 0 || m_header[2] != 0 || m_header[3] != 0) {
        m_failed = true;
        return make_error(Errc::protocol, "log stream: frame header with unknown stream id " +
                                              std::to_string(static_cast<int>(m_header[0])));
      }
      m_stream = m_header[0] == 2 ? STDERR : STDOUT;
      m_left = (std::uint64_t{m_header[4]} << 24) | (std::uint64_t{m_header[5]} << 16) |
               (std::uint64_t{m_header[6]} << 8) | std::uint64_t{m_header[7]};
      continue;
    }
    std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(m_left, chunk.size()));
    std::string_view payload = chunk.substr(0, take);
    chunk.remove_prefix(take);
    m_left -= take;
    std::uint64_t used = m_stdout + m_stderr;
    std::uint64_t room = used < m_max ? m_max - used : 0;
    if (payload.size() > room) {
      m_truncated = true;
      payload = payload.substr(0, static_cast<std::size_t>(room));
    }
    if (payload.empty()) continue;
    (m_stream == STDERR ? m_stderr : m_stdout) += payload.size();
    sink(m_stream, payload);
  }
  return {};
}

}  // namespace ciro::compute
