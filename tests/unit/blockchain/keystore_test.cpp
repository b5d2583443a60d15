// Keystore (Argon2id + XChaCha20-Poly1305) and the `keys` CLI.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "blockchain/ecdsa.h"
#include "blockchain/keystore.h"

using namespace ciro;
using namespace ciro::blockchain;

namespace {
std::filesystem::path tmp(const std::string& n) {
  auto p = std::filesystem::temp_directory_path() / ("ciro_ks_" + n + "_" + std::to_string(::getpid()) + ".json");
  std::filesystem::remove(p);
  return p;
}
const char* KEY_HEX = "0x139fe4d6f02e666e86a6f58e65060f115cd3c185bd9e98bd829636931458f79";
}  // namespace

// Given a key, when written and read back, then the right password opens it, a wrong one is
// permission_denied, the file is 0600 and holds no plaintext key.
TEST(Keystore, RoundTripWrongPasswordAndMode) {
  const auto f = tmp("rt");
  const U256 key = *parse_hex_u256(KEY_HEX);
  ASSERT_TRUE(keystore_write(f, key, "correct horse", "0xabc", KdfLimits::interactive()).ok());
  struct stat st {};
  ASSERT_EQ(::stat(f.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  std::ifstream in(f);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str().find("139fe4d6"), std::string::npos);
  EXPECT_NE(ss.str().find("argon2id13"), std::string::npos);
  auto back = keystore_read(f, "correct horse");
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(*back, key);
  auto wrong = keystore_read(f, "wrong");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, Errc::permission_denied);
  EXPECT_EQ(wrong.error().message.find("139fe4"), std::string::npos);
  auto info = keystore_info(f);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->public_key, get_public_key(key)->to_hex());
  EXPECT_EQ(info->address, "0xabc");
}

// Given the CLI, when new/import/show run, then show prints address and public key only and the
// private key is never printed (also not on errors).
TEST(Keystore, CliNewImportShow) {
  ::setenv("CIRO_TEST_KS_PW", "pw-123", 1);
  const auto f1 = tmp("new"), f2 = tmp("import");
  std::ostringstream out, err;
  EXPECT_EQ(keys_cli_main({"new", "--keystore", f1.string(), "--address", "0x0abc", "--password-env", "CIRO_TEST_KS_PW",
                           "--fast-kdf"},
                          out, err),
            0)
      << err.str();
  EXPECT_NE(out.str().find("address: 0xabc"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("public_key: 0x"), std::string::npos);
  // Refuses to overwrite.
  EXPECT_EQ(keys_cli_main({"new", "--keystore", f1.string(), "--password-env", "CIRO_TEST_KS_PW"}, out, err), 1);
  ::setenv("CIRO_TEST_KS_KEY", KEY_HEX, 1);
  std::ostringstream out2, err2;
  EXPECT_EQ(keys_cli_main({"import", "--keystore", f2.string(), "--key-env", "CIRO_TEST_KS_KEY", "--password-env",
                           "CIRO_TEST_KS_PW", "--fast-kdf"},
                          out2, err2),
            0)
      << err2.str();
  std::ostringstream out3, err3;
  EXPECT_EQ(
      keys_cli_main({"show", "--keystore", f2.string(), "--decrypt", "--password-env", "CIRO_TEST_KS_PW"}, out3, err3),
      0)
      << err3.str();
  EXPECT_NE(out3.str().find(get_public_key(*parse_hex_u256(KEY_HEX))->to_hex()), std::string::npos);
  for (const auto& s : {out2.str(), err2.str(), out3.str(), err3.str()})
    EXPECT_EQ(s.find("139fe4d6"), std::string::npos);
  ::setenv("CIRO_TEST_KS_PW", "not-it", 1);
  std::ostringstream out4, err4;
  EXPECT_EQ(
      keys_cli_main({"show", "--keystore", f2.string(), "--decrypt", "--password-env", "CIRO_TEST_KS_PW"}, out4, err4),
      1);
  EXPECT_NE(err4.str().find("wrong password"), std::string::npos);
  ::setenv("CIRO_TEST_KS_KEY", "0xnot-a-key-139fe4d6", 1);
  std::ostringstream out5, err5;
  EXPECT_EQ(keys_cli_main({"import", "--keystore", tmp("bad").string(), "--key-env", "CIRO_TEST_KS_KEY",
                           "--password-env", "CIRO_TEST_KS_PW"},
                          out5, err5),
            1);
  EXPECT_EQ(err5.str().find("139fe4d6"), std::string::npos);
  std::ostringstream o6, e6;
  EXPECT_EQ(keys_cli_main({}, o6, e6), 2);
}
