#include <gtest/gtest.h>

#include "compute/docker_json.h"

namespace ciro::compute {
namespace {

// Given Podman's inspect reply, when parsed, then state, exit code and nanosecond timestamps come out.
TEST(DockerJson, InspectParsed) {
  auto s = parse_inspect(R"({"State":{"Status":"exited","Running":false,"OOMKilled":false,"ExitCode":3,
    "StartedAt":"2026-12-03T13:00:01.393595033Z","FinishedAt":"0001-01-01T00:00:00Z"}})");
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  EXPECT_EQ(s->status, "exited");
  EXPECT_EQ(s->exit_code, 3);
  ASSERT_TRUE(s->started_at.has_value());
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(s->started_at->time_since_epoch()).count();
  EXPECT_EQ(ns % 1000000000, 393595033);  // libstdc++'s system_clock counts nanoseconds
  EXPECT_FALSE(s->finished_at.has_value());  // year 1 means never
}

// Given malformed or mistyped replies, when parsed, then errors say what was wrong and nothing throws.
TEST(DockerJson, MalformedRepliesAreErrors) {
  for (const char* body : {"", "not json", "[]", "{}", R"({"State":1})", R"({"State":{"Status":"x","Running":"no","ExitCode":0}})",
                           R"({"State":{"Status":"x","Running":false,"ExitCode":"0"}})"}) {
    auto s = parse_inspect(body);
    ASSERT_FALSE(s.ok()) << body;
    EXPECT_EQ(s.error().code, Errc::protocol);
    EXPECT_FALSE(s.error().message.empty());
  }
  EXPECT_FALSE(parse_create_reply(R"({"Id":5})").ok());
  EXPECT_FALSE(parse_wait_reply(R"({"StatusCode":null})").ok());
  EXPECT_FALSE(parse_container_list(R"({"a":1})").ok());
  EXPECT_FALSE(parse_container_list(R"([{"Names":[]}])").ok());
  EXPECT_FALSE(parse_version(R"({"Version":1})").ok());
}

// Given a container list with labels, when parsed, then ids, job ids and running flags come out.
TEST(DockerJson, ContainerList) {
  auto l = parse_container_list(R"([{"Id":"abc","State":"running","Labels":{"ciro.job":"j1"}},{"Id":"def","State":"exited","Labels":null}])");
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->size(), 2u);
  EXPECT_EQ((*l)[0].job_id, "j1");
  EXPECT_TRUE((*l)[0].running);
  EXPECT_EQ((*l)[1].job_id, "");
  EXPECT_FALSE((*l)[1].running);
}

// Given RFC 3339 strings with offsets and fractions, when parsed, then they map to the same instant; junk is refused.
TEST(DockerJson, Rfc3339) {
  auto a = parse_rfc3339("2024-02-29T12:00:00Z");
  auto b = parse_rfc3339("2024-02-29T14:30:00.000+02:30");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::seconds>(a->time_since_epoch()).count(), 1709208000);
  for (const char* bad : {"", "2024-02-30T00:00:00Z", "2024-02-29 12:00:00Z", "2024-02-29T12:00:00", "2024-02-29T12:00:00.Z", "2024-02-29T12:00:00Zx"}) {
    EXPECT_FALSE(parse_rfc3339(bad).has_value()) << bad;
  }
}

// Given an engine error body, when summarised, then the message field is used, else the raw text.
TEST(DockerJson, EngineMessage) {
  EXPECT_EQ(engine_message(R"({"cause":"x","message":"no such image","response":404})"), "no such image");
  EXPECT_EQ(engine_message("plain failure\n"), "plain failure");
}

// Given names and query values, when checked or encoded, then only safe names pass and values are percent-encoded.
TEST(DockerJson, NamesAndEncoding) {
  EXPECT_TRUE(valid_name_part("job-1.a_b"));
  EXPECT_FALSE(valid_name_part("../x"));
  EXPECT_FALSE(valid_name_part("a/b"));
  EXPECT_FALSE(valid_name_part(""));
  EXPECT_EQ(url_encode(R"({"label":["a=b"]})"), "%7B%22label%22%3A%5B%22a%3Db%22%5D%7D");
}

}  // namespace
}  // namespace ciro::compute
