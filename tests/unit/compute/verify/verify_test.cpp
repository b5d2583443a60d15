#include "compute/verify.h"

#include <gtest/gtest.h>

#include <array>

#include "compute/hash.h"
#include "test_util.h"
#include "utils/encoding.h"
#include "utils/identity.h"

namespace ciro::compute {
namespace {

namespace fs = std::filesystem;
using testing::read;
using testing::TempDir;
using testing::write;

utils::NodeKey key_from(std::uint8_t fill) {
  std::array<std::uint8_t, 32> seed{};
  seed.fill(fill);
  return utils::NodeKey::from_seed(seed);
}

// A worker's finished job: outputs, logs, and the signed result folder at result().
class VerifyResultDir : public ::testing::Test {
 protected:
  void SetUp() override {
    write(src() / "a.txt", "abc");
    write(src() / "sub" / "b.bin", std::string(1000, '\x07'));
    write(tmp.path() / "out.log", "hello\n");
    write(tmp.path() / "err.log", "");
    manifest = testing::sample_manifest();
    manifest.peer_id = key.peer_id();
    auto outputs = hash_output_tree(src());
    ASSERT_TRUE(outputs.ok()) << outputs.error().message;
    manifest.outputs = *outputs;
    manifest.stdout_log = digest("stdout", tmp.path() / "out.log");
    manifest.stderr_log = digest("stderr", tmp.path() / "err.log");
    write_signed(manifest, key);
  }

  FileDigest digest(const std::string& name, const fs::path& p) {
    std::uint64_t size = 0;
    auto sha = sha256_file(p, &size);
    return FileDigest{name, size, sha.ok() ? *sha : ""};
  }

  void write_signed(const ResultManifest& m, const utils::NodeKey& k) {
    fs::remove_all(result());
    auto w = write_result_dir(result(), sign_manifest(m, k), src(), tmp.path() / "out.log", tmp.path() / "err.log");
    ASSERT_TRUE(w.ok()) << w.error().message;
  }

  // Verifies and returns the error message ("" when it verified).
  std::string failure(std::optional<std::string> expected = std::nullopt) {
    auto r = verify_result_dir(result(), expected);
    return r.ok() ? "" : r.error().message;
  }

  fs::path src() const { return tmp.path() / "src"; }
  fs::path result() const { return tmp.path() / "result"; }

  TempDir tmp;
  utils::NodeKey key = key_from(1);
  ResultManifest manifest;
};

TEST_F(VerifyResultDir, SignedResultVerifies) {
  // given a freshly written result folder / when verified with and without the expected signer / then it passes
  auto r = verify_result_dir(result(), std::nullopt);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->manifest, manifest);
  EXPECT_EQ(r->files_checked, 4u);
  EXPECT_EQ(r->bytes_hashed, 3u + 1000u + 6u);
  EXPECT_EQ(r->signature.peer_id, key.peer_id());
  EXPECT_EQ(failure(key.peer_id()), "");
  EXPECT_EQ(failure(utils::to_hex(key.public_key())), "");
  EXPECT_TRUE(fs::is_regular_file(result() / "outputs" / "sub" / "b.bin"));
  EXPECT_FALSE(fs::exists(tmp.path() / "result.partial"));
}

TEST_F(VerifyResultDir, OneByteChangedInAnOutput) {
  // given one byte of an output changed / when verified / then the file and both hashes are named
  write(result() / "outputs" / "a.txt", "abd");
  std::string e = failure();
  EXPECT_NE(e.find("outputs/a.txt: sha256 expected " + sha256_hex(std::string_view("abc")) + ", actual " +
                   sha256_hex(std::string_view("abd"))),
            std::string::npos)
      << e;
}

TEST_F(VerifyResultDir, OutputSizeChanged) {
  // given an output grown by a byte / when verified / then the size difference is named
  write(result() / "outputs" / "a.txt", "abcd");
  EXPECT_NE(failure().find("outputs/a.txt: size expected 3, actual 4"), std::string::npos) << failure();
}

TEST_F(VerifyResultDir, ExtraFileInOutputs) {
  // given a file added under outputs/ / when verified / then it is named as extra
  write(result() / "outputs" / "sub" / "evil.sh", "rm -rf /");
  EXPECT_NE(failure().find("outputs/sub/evil.sh: extra file not in the manifest"), std::string::npos) << failure();
}

TEST_F(VerifyResultDir, SymlinkInOutputs) {
  // given a symlink added under outputs/ / when verified / then it is refused by name
  fs::create_symlink("/etc/passwd", result() / "outputs" / "link");
  EXPECT_NE(failure().find("outputs/link: not a regular file"), std::string::npos) << failure();
}

TEST_F(VerifyResultDir, MissingOutputFile) {
  // given an output removed / when verified / then it is named as missing with what was expected
  fs::remove(result() / "outputs" / "sub" / "b.bin");
  EXPECT_NE(failure().find("outputs/sub/b.bin: missing (expected 1000 bytes sha256"), std::string::npos) << failure();
}

TEST_F(VerifyResultDir, ManifestFieldEdited) {
  // given exit_code edited in manifest.json (still canonical) / when verified / then the manifest hash mismatch is named
  std::string m = read(result() / "manifest.json");
  auto pos = m.find("\"exit_code\":0");
  ASSERT_NE(pos, std::string::npos);
  m.replace(pos, 13, "\"exit_code\":1");
  write(result() / "manifest.json", m);
  std::string e = failure();
  EXPECT_NE(e.find("manifest.json: sha256 expected "), std::string::npos) << e;
}

TEST_F(VerifyResultDir, ManifestEditedAndRehashed) {
  // given a field edited and manifest_sha256 updated to match / when verified / then the signature check fails
  std::string m = read(result() / "manifest.json");
  m.replace(m.find("\"exit_code\":0"), 13, "\"exit_code\":1");
  write(result() / "manifest.json", m);
  auto sig = parse_signature_file(read(result() / "manifest.sig.json"));
  ASSERT_TRUE(sig.ok());
  sig->manifest_sha256 = sha256_hex(std::string_view(m));
  write(result() / "manifest.sig.json", signature_file_json(*sig));
  EXPECT_NE(failure().find("signature does not verify"), std::string::npos) << failure();
}

TEST_F(VerifyResultDir, NonCanonicalManifest) {
  // given manifest.json with a space added / when verified / then it is refused as not canonical
  std::string m = read(result() / "manifest.json");
  write(result() / "manifest.json", m.substr(0, 1) + " " + m.substr(1));
  EXPECT_NE(failure().find("manifest.json: not in canonical form (first difference at byte 1)"), std::string::npos)
      << failure();
}

TEST_F(VerifyResultDir, SignatureBitFlipped) {
  // given one bit of the signature flipped / when verified / then the signature is named
  auto sig = parse_signature_file(read(result() / "manifest.sig.json"));
  ASSERT_TRUE(sig.ok());
  char& c = sig->signature_hex[10];
  c = c == '0' ? '1' : '0';
  write(result() / "manifest.sig.json", signature_file_json(*sig));
  EXPECT_NE(failure().find("manifest.sig.json: signature does not verify for public_key"), std::string::npos)
      << failure();
}

TEST_F(VerifyResultDir, SignedByAnotherNode) {
  // given a result signed by another node's key / when verified expecting ours / then the signer and expectation are named
  utils::NodeKey other = key_from(2);
  ResultManifest m = manifest;
  m.peer_id = other.peer_id();
  write_signed(m, other);
  EXPECT_EQ(failure(), "");  // valid on its own
  std::string e = failure(key.peer_id());
  EXPECT_NE(e.find("signed by peer " + other.peer_id()), std::string::npos) << e;
  EXPECT_NE(e.find("expected " + key.peer_id()), std::string::npos) << e;
  EXPECT_NE(failure(utils::to_hex(key.public_key())).find("expected"), std::string::npos);
}

TEST_F(VerifyResultDir, KeySwappedUnderTheSamePeerId) {
  // given another key's public key placed in the signature file / when verified / then key and peer id mismatch is named
  auto sig = parse_signature_file(read(result() / "manifest.sig.json"));
  ASSERT_TRUE(sig.ok());
  sig->public_key_hex = utils::to_hex(key_from(3).public_key());
  write(result() / "manifest.sig.json", signature_file_json(*sig));
  EXPECT_NE(failure().find("is peer"), std::string::npos) << failure();
}

TEST_F(VerifyResultDir, ManifestPeerIdDiffersFromSigner) {
  // given a manifest claiming another peer id but signed by our key / when verified / then the mismatch is named
  ResultManifest m = manifest;
  m.peer_id = key_from(4).peer_id();
  write_signed(m, key);
  EXPECT_NE(failure().find("manifest.peer_id " + m.peer_id + " differs from the signer's peer id"), std::string::npos)
      << failure();
}

TEST_F(VerifyResultDir, StdoutChanged) {
  // given stdout.log altered / when verified / then stdout.log is named with both hashes
  write(result() / "stdout.log", "hellO\n");
  EXPECT_NE(failure().find("stdout.log: sha256 expected " + manifest.stdout_log.sha256), std::string::npos)
      << failure();
}

TEST_F(VerifyResultDir, StderrMissingAndSignatureFileMissing) {
  // given stderr.log removed, then manifest.sig.json removed / when verified / then each is named
  fs::remove(result() / "stderr.log");
  EXPECT_NE(failure().find("stderr.log: missing"), std::string::npos) << failure();
  fs::remove(result() / "manifest.sig.json");
  EXPECT_EQ(failure(), "manifest.sig.json: missing");
}

TEST_F(VerifyResultDir, WriteRefusesExistingFolderAndMissingSource) {
  // given an existing result folder or a missing source output / when writing / then already_exists or not_found
  auto again = write_result_dir(result(), sign_manifest(manifest, key), src(), {}, {});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, Errc::already_exists);
  fs::remove(src() / "a.txt");
  auto missing = write_result_dir(tmp.path() / "r2", sign_manifest(manifest, key), src(), {}, {});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::not_found);
  EXPECT_FALSE(fs::exists(tmp.path() / "r2"));
  EXPECT_FALSE(fs::exists(tmp.path() / "r2.partial"));
}

}  // namespace
}  // namespace ciro::compute
