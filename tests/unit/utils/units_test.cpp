#include <gtest/gtest.h>

#include "utils/units.h"

using namespace ciro::utils;
using namespace std::chrono_literals;

// Given sizes with decimal, binary and Docker-style units, when parsed, then bytes are exact.
TEST(Units, ParsesSizesWithEveryUnit) {
  EXPECT_EQ(*parse_size("512MiB"), 512ull << 20);
  EXPECT_EQ(*parse_size("8GB"), 8'000'000'000ull);
  EXPECT_EQ(*parse_size("1.5GiB"), 3ull << 29);
  EXPECT_EQ(*parse_size("1024"), 1024u);
  EXPECT_EQ(*parse_size("64m"), 64ull << 20);
  EXPECT_EQ(*parse_size(" 2 kib "), 2048u);
}

// Given malformed sizes, when parsed, then an error says what a size looks like.
TEST(Units, RejectsMalformedSizes) {
  for (const char* bad : {"", "lots", "-5MB", "5XB", "MB", "1e3", "99999999999999999999TB"}) {
    auto r = parse_size(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message.find(bad[0] ? bad : "''"), std::string::npos) << r.error().message;
  }
}

// Given durations in several units and combinations, when parsed, then milliseconds are exact.
TEST(Units, ParsesDurations) {
  EXPECT_EQ(*parse_duration("30s"), 30s);
  EXPECT_EQ(*parse_duration("5m"), 5min);
  EXPECT_EQ(*parse_duration("250ms"), 250ms);
  EXPECT_EQ(*parse_duration("1m30s"), 90s);
  EXPECT_EQ(*parse_duration("2h"), 2h);
  EXPECT_EQ(*parse_duration("45"), 45s);
  EXPECT_FALSE(parse_duration("soon").ok());
  EXPECT_FALSE(parse_duration("5 parsecs").ok());
  EXPECT_FALSE(parse_duration("").ok());
}

// Given byte counts and durations, when formatted, then they read back to the same value.
TEST(Units, FormatRoundTrips) {
  for (std::uint64_t b : {0ull, 1ull, 1024ull, 512ull << 20, 3ull << 29}) EXPECT_EQ(*parse_size(format_size(b)), b);
  for (auto d : {0ms, 250ms, 30000ms, 5400000ms}) EXPECT_EQ(*parse_duration(format_duration(d)), d);
}
