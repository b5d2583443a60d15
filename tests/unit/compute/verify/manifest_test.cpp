#include "compute/manifest.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "compute/hash.h"
#include "test_util.h"

namespace ciro::compute {
namespace {

using testing::sample_manifest;
using testing::TempDir;

// Replaces one top-level (or dotted nested) field of the sample's JSON and parses the result.
Result<ResultManifest> parse_with(const std::string& field, const nlohmann::json& value) {
  auto j = nlohmann::json::parse(canonical_json(sample_manifest()));
  j[nlohmann::json::json_pointer(field)] = value;
  return parse_manifest(j.dump());
}

std::string parse_error(const std::string& field, const nlohmann::json& value) {
  auto r = parse_with(field, value);
  return r.ok() ? std::string("<parsed>") : r.error().message;
}

TEST(CanonicalJson, SortedCompactAndStable) {
  // given the sample manifest / when serialised twice / then the same compact bytes with sorted keys
  std::string a = canonical_json(sample_manifest());
  EXPECT_EQ(a, canonical_json(sample_manifest()));
  EXPECT_EQ(a.find(' '), std::string::npos);
  EXPECT_EQ(a.find('\n'), std::string::npos);
  EXPECT_EQ(a.rfind("{\"detail\":\"\",\"duration_ms\":5333,\"exit_code\":0,\"finished_at\":", 0), 0u) << a;
  EXPECT_NE(a.find("\"outputs\":[{\"path\":\"a.txt\",\"sha256\":\"111"), std::string::npos) << a;
  EXPECT_NE(a.find("\"stdout_log\":{\"path\":\"stdout\",\"sha256\":\"333"), std::string::npos) << a;
  EXPECT_EQ(a.substr(a.size() - 12), "\"version\":1}");
  // keys strictly increasing at the top level
  auto j = nlohmann::json::parse(a);
  std::string prev;
  for (auto it = j.begin(); it != j.end(); ++it) {
    EXPECT_LT(prev, it.key());
    prev = it.key();
  }
}

TEST(CanonicalJson, EscapesAndUtf8) {
  // given a detail with quotes, control characters, '/' and non-ASCII / when serialised / then only the JSON-required escapes
  ResultManifest m = sample_manifest();
  m.detail = "a\"b\\c\n\x01/é";
  std::string s = canonical_json(m);
  EXPECT_NE(s.find(R"("detail":"a\"b\\c\n\u0001/é")"), std::string::npos) << s;
  m.detail = "bad \xff byte";
  std::string r = canonical_json(m);  // must not throw
  EXPECT_NE(r.find("bad \xEF\xBF\xBD byte"), std::string::npos);
}

TEST(ParseManifest, RoundTrips) {
  // given a canonical manifest / when parsed and re-serialised / then the same value and bytes
  ResultManifest m = sample_manifest();
  m.exit_code = -9;
  m.reason = "timeout";
  m.logs_truncated = true;
  auto parsed = parse_manifest(canonical_json(m));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(*parsed, m);
  EXPECT_EQ(canonical_json(*parsed), canonical_json(m));
}

TEST(ParseManifest, RejectsWrongTypesNamingTheField) {
  // given fields of the wrong type / when parsed / then the error names the field
  EXPECT_EQ(parse_error("/exit_code", "0"), "manifest.exit_code: expected an integer");
  EXPECT_EQ(parse_error("/exit_code", 1.5), "manifest.exit_code: expected an integer");
  EXPECT_EQ(parse_error("/duration_ms", -1), "manifest.duration_ms: expected an unsigned integer");
  EXPECT_EQ(parse_error("/duration_ms", 1.0), "manifest.duration_ms: expected an unsigned integer");
  EXPECT_EQ(parse_error("/job_id", 7), "manifest.job_id: expected a string");
  EXPECT_EQ(parse_error("/logs_truncated", 0), "manifest.logs_truncated: expected true or false");
  EXPECT_EQ(parse_error("/outputs", nlohmann::json::object()), "manifest.outputs: expected an array");
  EXPECT_EQ(parse_error("/outputs/1/size", "10"), "manifest.outputs[1].size: expected an unsigned integer");
  EXPECT_EQ(parse_error("/stdout_log/sha256", "XYZ"), "manifest.stdout_log.sha256: expected 64 lowercase hex digits");
  EXPECT_EQ(parse_error("/stderr_log", nullptr), "manifest.stderr_log: expected an object");
}

TEST(ParseManifest, RejectsMissingUnknownAndBadValues) {
  // given a missing field, an unknown one, a bad reason, version, timestamp or path / when parsed / then each is named
  auto j = nlohmann::json::parse(canonical_json(sample_manifest()));
  j.erase("image");
  EXPECT_EQ(parse_manifest(j.dump()).error().message, "manifest.image: missing");
  j = nlohmann::json::parse(canonical_json(sample_manifest()));
  j["extra"] = 1;
  EXPECT_EQ(parse_manifest(j.dump()).error().message, "manifest.extra: unknown field");
  EXPECT_NE(parse_error("/reason", "exploded").find("manifest.reason"), std::string::npos);
  EXPECT_NE(parse_error("/version", 2).find("manifest.version: unsupported version 2"), std::string::npos);
  EXPECT_NE(parse_error("/started_at", "2024-05-01 12:00:00").find("manifest.started_at"), std::string::npos);
  EXPECT_NE(parse_error("/outputs/0/path", "../etc/passwd").find("manifest.outputs[0].path"), std::string::npos);
  EXPECT_NE(parse_error("/outputs/0/path", "/abs").find("manifest.outputs[0].path"), std::string::npos);
  EXPECT_NE(parse_error("/outputs/1/path", "a.txt").find("out of order or repeated"), std::string::npos);
  EXPECT_NE(parse_error("/stdout_log/path", "stderr").find("manifest.stdout_log.path"), std::string::npos);
  EXPECT_EQ(parse_manifest("{not json").error().message, "manifest: not valid JSON");
  EXPECT_EQ(parse_manifest("[]").error().message, "manifest: expected an object");
}

TEST(HashOutputTree, RecursiveSortedRegularFilesOnly) {
  // given nested files, an empty folder and a symlink / when hashed / then sorted relative paths, symlink skipped and listed
  TempDir tmp;
  testing::write(tmp.path() / "z.txt", "zz");
  testing::write(tmp.path() / "a" / "b" / "c.bin", "abc");
  testing::write(tmp.path() / "a.txt", "");
  std::filesystem::create_directories(tmp.path() / "empty");
  std::filesystem::create_symlink("/etc/passwd", tmp.path() / "link");
  std::vector<std::string> skipped;
  auto r = hash_output_tree(tmp.path(), &skipped);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0], (FileDigest{"a.txt", 0, sha256_hex(std::string_view(""))}));
  EXPECT_EQ((*r)[1], (FileDigest{"a/b/c.bin", 3, sha256_hex(std::string_view("abc"))}));
  EXPECT_EQ((*r)[2].path, "z.txt");
  EXPECT_EQ(skipped, std::vector<std::string>{"link"});
  EXPECT_FALSE(hash_output_tree(tmp.path() / "missing").ok());
}

TEST(SignatureFile, RoundTripsAndRejectsBadFields) {
  // given a signature file / when parsed back / then the same fields; a short signature is named
  SignedManifest s{"", std::string(64, 'a'), std::string(128, 'b'), std::string(64, 'c'), "12D3KooWX"};
  auto p = parse_signature_file(signature_file_json(s));
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->manifest_sha256, s.manifest_sha256);
  EXPECT_EQ(p->signature_hex, s.signature_hex);
  EXPECT_EQ(p->public_key_hex, s.public_key_hex);
  EXPECT_EQ(p->peer_id, s.peer_id);
  EXPECT_EQ(signature_file_json(s).rfind("{\"manifest_sha256\":", 0), 0u);
  s.signature_hex = "abcd";
  EXPECT_EQ(parse_signature_file(signature_file_json(s)).error().message,
            "manifest.sig.json.signature: expected 128 lowercase hex digits");
}

TEST(Rfc3339, UtcWithMilliseconds) {
  // given a time point / when formatted / then RFC 3339 UTC with milliseconds
  std::chrono::system_clock::time_point t{std::chrono::milliseconds(1714564800123)};
  EXPECT_EQ(rfc3339_utc_ms(t), "2024-05-01T12:00:00.123Z");
}

TEST(Utf8, Validation) {
  // given valid and invalid byte strings / when checked / then overlongs, surrogates and truncations fail
  EXPECT_TRUE(is_valid_utf8("plain é ✓ 😀"));
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("\xE2\x9C"));          // truncated
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // > U+10FFFF
}

}  // namespace
}  // namespace ciro::compute
