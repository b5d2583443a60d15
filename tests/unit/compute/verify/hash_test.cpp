#include "compute/hash.h"

#include <gtest/gtest.h>

#include <vector>

#include "test_util.h"

namespace ciro::compute {
namespace {

using testing::TempDir;

TEST(Sha256, KnownAnswers) {
  // given the FIPS 180-2 test messages / when hashed / then the published digests come out
  EXPECT_EQ(sha256_hex(std::string_view("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex(std::string_view("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex(std::string_view("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, MillionAsFromAFile) {
  // given a file of one million 'a' / when hashed in streaming reads / then the FIPS digest and size come out
  TempDir tmp;
  testing::write(tmp.path() / "a", std::string(1'000'000, 'a'));
  std::uint64_t size = 0;
  auto r = sha256_file(tmp.path() / "a", &size);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  EXPECT_EQ(size, 1'000'000u);
}

TEST(Sha256, OneMebibyteFileMatchesInMemoryHash) {
  // given a 1 MiB + 3 byte file crossing read boundaries / when hashed from disk / then it equals the in-memory hash
  TempDir tmp;
  std::vector<std::uint8_t> data((1u << 20) + 3);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>((i * 131) ^ (i >> 9));
  testing::write(tmp.path() / "m", std::string(data.begin(), data.end()));
  std::uint64_t size = 0;
  auto r = sha256_file(tmp.path() / "m", &size);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, sha256_hex(data));
  EXPECT_EQ(size, data.size());
}

TEST(Sha256, MissingFileAndDirectoryAreErrors) {
  // given a missing path and a directory / when hashed / then not_found and invalid_argument naming the path
  TempDir tmp;
  auto missing = sha256_file(tmp.path() / "nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::not_found);
  EXPECT_NE(missing.error().message.find("nope"), std::string::npos);
  auto dir = sha256_file(tmp.path());
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.error().code, Errc::invalid_argument);
}

}  // namespace
}  // namespace ciro::compute
