#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "utils/identity.h"

using namespace ciro::utils;
namespace fs = std::filesystem;

namespace {
fs::path temp_dir() {
  auto d = fs::temp_directory_path() / ("ciro-id-" + std::to_string(::getpid()) + "-" +
                                        std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
  fs::remove_all(d);
  return d;
}
mode_t mode_of(const fs::path& p) {
  struct stat st {};
  ::stat(p.c_str(), &st);
  return st.st_mode & 07777;
}
}  // namespace

// Given an empty data_dir, when the key is loaded twice, then it is created 0600 in a 0700 folder
// once and the same peer id comes back.
TEST(Identity, CreatesKeyOnceWithPrivatePermissions) {
  auto dir = temp_dir() / "data";
  bool created = false;
  auto k1 = NodeKey::load_or_create(dir, &created);
  ASSERT_TRUE(k1.ok()) << k1.error().to_string();
  EXPECT_TRUE(created);
  EXPECT_EQ(mode_of(dir / NodeKey::FILE_NAME), 0600u);
  EXPECT_EQ(mode_of(dir), 0700u);
  auto k2 = NodeKey::load_or_create(dir, &created);
  ASSERT_TRUE(k2.ok());
  EXPECT_FALSE(created);
  EXPECT_EQ(k1->peer_id(), k2->peer_id());
  EXPECT_EQ(k1->peer_id().rfind("12D3KooW", 0), 0u) << k1->peer_id();
  fs::remove_all(dir.parent_path());
}

// Given a key file readable by others, when loaded, then it is refused with the chmod fix; 0400 works.
TEST(Identity, RefusesGroupReadableKeyAccepts0400) {
  auto dir = temp_dir();
  ASSERT_TRUE(NodeKey::load_or_create(dir).ok());
  auto file = dir / NodeKey::FILE_NAME;
  ::chmod(file.c_str(), 0644);
  auto r = NodeKey::load_or_create(dir);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("chmod 600"), std::string::npos) << r.error().message;
  ::chmod(file.c_str(), 0400);
  EXPECT_TRUE(NodeKey::load_or_create(dir).ok());
  fs::remove_all(dir);
}

// Given a garbled key file, when loaded, then a clear error, and the file is not overwritten.
TEST(Identity, MalformedKeyIsAnErrorAndNotOverwritten) {
  auto dir = temp_dir();
  fs::create_directories(dir);
  auto file = dir / NodeKey::FILE_NAME;
  { std::ofstream(file) << "garbage\n"; }
  ::chmod(file.c_str(), 0600);
  auto r = NodeKey::load_or_create(dir);
  ASSERT_FALSE(r.ok());
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "garbage");
  fs::remove_all(dir);
}

// Given a folder where the key file should be (mode 0700, so the permission check alone would
// pass it), when loaded, then the error says it is not a regular file.
TEST(Identity, FolderInPlaceOfTheKeyIsNamed) {
  auto dir = temp_dir();
  fs::create_directories(dir / NodeKey::FILE_NAME);
  ::chmod((dir / NodeKey::FILE_NAME).c_str(), 0700);
  auto r = NodeKey::load_or_create(dir);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("not a regular file"), std::string::npos) << r.error().message;
  fs::remove_all(dir);
}

// Given the peer-id spec's Ed25519 example key, when the peer id is computed, then it matches the
// spec, and decoding it gives the key back.
TEST(Identity, PeerIdMatchesSpecExample) {
  // peer-ids spec, "Ed25519" test vector: public key protobuf
  // 080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e
  auto key = from_hex("1ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e");
  Ed25519PublicKey pk{};
  std::copy(key->begin(), key->end(), pk.begin());
  EXPECT_EQ(to_hex(libp2p_public_key_protobuf(pk)),
            "080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e");
  std::string id = peer_id_string(pk);
  EXPECT_EQ(id.rfind("12D3KooW", 0), 0u);
  EXPECT_EQ(*ed25519_from_peer_id(id), pk);
  EXPECT_FALSE(ed25519_from_peer_id("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N").ok());
}

// Given a message signed by the node key, when verified, then it passes; a flipped bit fails.
TEST(Identity, SignAndVerify) {
  auto key = NodeKey::generate();
  std::string msg = "result manifest";
  auto sig = key.sign({reinterpret_cast<const std::uint8_t*>(msg.data()), msg.size()});
  std::span<const std::uint8_t> m(reinterpret_cast<const std::uint8_t*>(msg.data()), msg.size());
  EXPECT_TRUE(ed25519_verify(key.public_key(), m, sig));
  sig[5] ^= 1;
  EXPECT_FALSE(ed25519_verify(key.public_key(), m, sig));
}
