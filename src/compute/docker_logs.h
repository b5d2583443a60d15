#pragma once
// LogDemuxer: splits Docker's multiplexed log stream (8-byte frame header: stream id, 3 zero
// bytes, big-endian payload size; then the payload) into stdout and stderr, keeping at most
// max_bytes in total. Pure and incremental: frames may be split anywhere across chunks.
// Not thread-safe; one per followed log.

#include <cstdint>
#include <functional>
#include <string_view>

#include "utils/result.h"

namespace ciro::compute {

class LogDemuxer {
 public:
  enum Stream : int { STDOUT = 1, STDERR = 2 };
  /// Receives kept bytes only (after the cap); stream 0 (stdin echo) is reported as STDOUT.
  using Sink = std::function<void(Stream stream, std::string_view data)>;

  explicit LogDemuxer(std::uint64_t max_bytes) : m_max(max_bytes) {}

  /// Consumes a chunk of the stream. An error (Errc::protocol) when a header names an unknown
  /// stream (the container was started with a TTY, or the reply is not a log stream); the
  /// demuxer then ignores further input.
  Result<void> feed(std::string_view chunk, const Sink& sink);

  std::uint64_t stdout_bytes() const noexcept { return m_stdout; }
  std::uint64_t stderr_bytes() const noexcept { return m_stderr; }
  /// True once some payload byte was dropped because of the cap.
  bool truncated() const noexcept { return m_truncated; }
  /// True when a frame was cut short by the end of the input (call at the end of the stream).
  bool mid_frame() const noexcept { return m_header_len > 0 || m_left > 0; }

 private:
  std::uint64_t m_max;
  std::uint64_t m_stdout = 0;
  std::uint64_t m_stderr = 0;
  bool m_truncated = false;
  bool m_failed = false;
  unsigned char m_header[8] = {};
  std::size_t m_header_len = 0;
  std::uint64_t m_left = 0;  // payload bytes left in the current frame
  Stream m_stream = STDOUT;
};

}  // namespace ciro::compute
