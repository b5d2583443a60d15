#include "utils/identity.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace ciro::utils {

namespace fs = std::filesystem;

namespace {
// On-disk format: one line "ed25519:<64 hex of seed>\n". Text keeps it inspectable and lets a
// future format carry a different prefix.
constexpr std::string_view KEY_PREFIX = "ed25519:";

struct SodiumInit {
  SodiumInit() {
    if (sodium_init() < 0) std::abort();  // libsodium cannot run without a working RNG
  }
};
void ensure_sodium() { static SodiumInit once; }
}  // namespace

NodeKey::~NodeKey() { sodium_memzero(m_secret.data(), m_secret.size()); }

NodeKey NodeKey::generate() {
  ensure_sodium();
  NodeKey key;
  crypto_sign_keypair(key.m_public.data(), key.m_secret.data());
  return key;
}

NodeKey NodeKey::from_seed(std::span<const std::uint8_t, 32> seed) {
  ensure_sodium();
  NodeKey key;
  crypto_sign_seed_keypair(key.m_public.data(), key.m_secret.data(), seed.data());
  return key;
}

Result<NodeKey> NodeKey::load(const fs::path& key_file) {
  struct stat st {};
  if (::stat(key_file.c_str(), &st) != 0) {
    return Error(Errc::not_found, "node key " + key_file.string() + ": " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    return Error(Errc::invalid_argument, "node key " + key_file.string() + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    return Error(Errc::permission_denied, "node key " + key_file.string() + " has mode " + mode +
                                              " and is readable by group or others; fix it with: chmod 600 " +
                                              key_file.string());
  }
  std::ifstream in(key_file);
  std::string line;
  std::getline(in, line);
  if (line.rfind(KEY_PREFIX, 0) != 0) {
    return Error(Errc::invalid_argument,
                 "node key " + key_file.string() + ": expected a line 'ed25519:<64 hex digits>'");
  }
  auto seed = from_hex(std::string_view(line).substr(KEY_PREFIX.size()));
  if (!seed || seed->size() != 32) {
    return Error(Errc::invalid_argument, "node key " + key_file.string() + ": the seed must be 64 hex digits");
  }
  NodeKey key = from_seed(std::span<const std::uint8_t, 32>(seed->data(), 32));
  sodium_memzero(seed->data(), seed->size());
  return key;
}

Result<NodeKey> NodeKey::load_or_create(const fs::path& data_dir, bool* created) {
  if (created) *created = false;
  std::error_code ec;
  if (!fs::exists(data_dir, ec)) {
    fs::create_directories(data_dir, ec);
    if (ec) return Error(Errc::io, "cannot create data_dir " + data_dir.string() + ": " + ec.message());
    ::chmod(data_dir.c_str(), 0700);
  }
  const fs::path file = data_dir / FILE_NAME;
  if (fs::exists(file, ec)) return load(file);

  NodeKey key = generate();
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return load(file);  // another process won the race; never overwrite
    return Error(Errc::io, "cannot create node key " + file.string() + ": " + std::strerror(errno));
  }
  std::string text = std::string(KEY_PREFIX) + to_hex(key.seed()) + "\n";
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  sodium_memzero(text.data(), text.size());
  if (!ok) {
    ::unlink(file.c_str());
    return Error(Errc::io, "cannot write node key " + file.string());
  }
  if (created) *created = true;
  return key;
}

Ed25519Signature NodeKey::sign(std::span<const std::uint8_t> message) const {
  Ed25519Signature sig{};
  crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(), m_secret.data());
  return sig;
}

std::string NodeKey::peer_id() const { return peer_id_string(m_public); }

bool ed25519_verify(const Ed25519PublicKey& public_key, std::span<const std::uint8_t> message,
                    std::span<const std::uint8_t> signature) {
  ensure_sodium();
  if (signature.size() != crypto_sign_BYTES) return false;
  return crypto_sign_verify_detached(signature.data(), message.data(), message.size(), public_key.data()) == 0;
}

Bytes libp2p_public_key_protobuf(const Ed25519PublicKey& public_key) {
  Bytes out = {0x08, 0x01, 0x12, 0x20};
  out.insert(out.end(), public_key.begin(), public_key.end());
  return out;
}

Bytes peer_id_bytes(const Ed25519PublicKey& public_key) {
  Bytes proto = libp2p_public_key_protobuf(public_key);
  Bytes out = {0x00, static_cast<std::uint8_t>(proto.size())};
  out.insert(out.end(), proto.begin(), proto.end());
  return out;
}

std::string peer_id_string(const Ed25519PublicKey& public_key) { return base58_encode(peer_id_bytes(public_key)); }

Result<Ed25519PublicKey> ed25519_from_peer_id(std::string_view peer_id) {
  auto bytes = base58_decode(peer_id);
  if (!bytes || bytes->size() != 38 || (*bytes)[0] != 0x00 || (*bytes)[1] != 36 || (*bytes)[2] != 0x08 ||
      (*bytes)[3] != 0x01 || (*bytes)[4] != 0x12 || (*bytes)[5] != 0x20) {
    return Error(Errc::invalid_argument, "not an Ed25519 identity peer id: " + std::string(peer_id));
  }
  Ed25519PublicKey key{};
  std::copy(bytes->begin() + 6, bytes->end(), key.begin());
  return key;
}

}  // namespace ciro::utils
