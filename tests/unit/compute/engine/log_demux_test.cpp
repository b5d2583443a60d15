#include <gtest/gtest.h>

#include "compute/docker_logs.h"

namespace ciro::compute {
namespace {

std::string frame(int stream, const std::string& payload) {
  std::string h(8, '\0');
  h[0] = static_cast<char>(stream);
  auto n = static_cast<std::uint32_t>(payload.size());
  h[4] = static_cast<char>(n >> 24);
  h[5] = static_cast<char>(n >> 16);
  h[6] = static_cast<char>(n >> 8);
  h[7] = static_cast<char>(n);
  return h + payload;
}

struct Collected {
  std::string out, err;
  LogDemuxer::Sink sink() {
    return [this](LogDemuxer::Stream s, std::string_view d) { (s == LogDemuxer::STDERR ? err : out).append(d); };
  }
};

// Given frames of both streams split at every possible byte boundary, when fed, then each stream is reassembled exactly.
TEST(LogDemuxer, FramesSplitAcrossChunks) {
  std::string data = frame(1, "hello ") + frame(2, "oops\n") + frame(1, "world\n") + frame(1, "");
  for (std::size_t step = 1; step <= data.size(); ++step) {
    LogDemuxer d(1 << 20);
    Collected c;
    for (std::size_t i = 0; i < data.size(); i += step) ASSERT_TRUE(d.feed(data.substr(i, step), c.sink()).ok());
    EXPECT_EQ(c.out, "hello world\n") << step;
    EXPECT_EQ(c.err, "oops\n");
    EXPECT_EQ(d.stdout_bytes(), 12u);
    EXPECT_EQ(d.stderr_bytes(), 5u);
    EXPECT_FALSE(d.truncated());
    EXPECT_FALSE(d.mid_frame());
  }
}

// Given more output than the cap, when fed, then exactly cap bytes are kept in total and truncated is set.
TEST(LogDemuxer, CapCountsBothStreams) {
  LogDemuxer d(10);
  Collected c;
  ASSERT_TRUE(d.feed(frame(1, "123456") + frame(2, "abcdef") + frame(1, "zzz"), c.sink()).ok());
  EXPECT_EQ(c.out, "123456");
  EXPECT_EQ(c.err, "abcd");
  EXPECT_EQ(d.stdout_bytes() + d.stderr_bytes(), 10u);
  EXPECT_TRUE(d.truncated());
}

// Given a stream that is not multiplexed (TTY output), when fed, then a protocol error is returned and nothing crashes.
TEST(LogDemuxer, UnknownStreamIdIsAnError) {
  LogDemuxer d(100);
  Collected c;
  auto r = d.feed("plain text output\n", c.sink());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::protocol);
  EXPECT_FALSE(d.feed(frame(1, "x"), c.sink()).ok());
}

// Given input that stops inside a frame, when checked, then mid_frame() reports it.
TEST(LogDemuxer, MidFrameDetected) {
  LogDemuxer d(100);
  Collected c;
  ASSERT_TRUE(d.feed(frame(1, "abcdef").substr(0, 10), c.sink()).ok());
  EXPECT_TRUE(d.mid_frame());
  EXPECT_EQ(c.out, "ab");
}

}  // namespace
}  // namespace ciro::compute
