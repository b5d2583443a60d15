#pragma once
// Node identity: one Ed25519 key pair kept in data_dir/node.key. It signs result manifests and is
// the libp2p identity (peer id 12D3KooW...). Thread-safe after construction (read-only).

#include <array>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

#include "utils/encoding.h"
#include "utils/result.h"

namespace ciro::utils {

using Ed25519PublicKey = std::array<std::uint8_t, 32>;
using Ed25519Signature = std::array<std::uint8_t, 64>;

class NodeKey {
 public:
  /// File name of the key inside data_dir.
  static constexpr const char* FILE_NAME = "node.key";

  /// Loads data_dir/node.key, or creates it (folder 0700, file 0600, O_EXCL) when absent.
  /// Fails when the file is readable by group or others (says how to fix it), when it is
  /// malformed, or when the folder cannot be created. `created` is set when a new key was made.
  static Result<NodeKey> load_or_create(const std::filesystem::path& data_dir, bool* created = nullptr);
  /// Loads an existing key file with the same permission checks; never creates.
  static Result<NodeKey> load(const std::filesystem::path& key_file);
  static NodeKey generate();
  static NodeKey from_seed(std::span<const std::uint8_t, 32> seed);

  NodeKey(const NodeKey&) = default;
  NodeKey& operator=(const NodeKey&) = default;
  ~NodeKey();

  const Ed25519PublicKey& public_key() const { return m_public; }
  Ed25519Signature sign(std::span<const std::uint8_t> message) const;
  /// libp2p peer id: base58btc of the identity multihash of the protobuf-encoded public key.
  std::string peer_id() const;
  /// The 32-byte seed (private). Callers must not log it.
  std::span<const std::uint8_t, 32> seed() const { return std::span<const std::uint8_t, 32>(m_secret.data(), 32); }

 private:
  NodeKey() = default;
  std::array<std::uint8_t, 64> m_secret{};  // libsodium layout: seed || public key
  Ed25519PublicKey m_public{};
};

bool ed25519_verify(const Ed25519PublicKey& public_key, std::span<const std::uint8_t> message,
                    std::span<const std::uint8_t> signature);

/// libp2p PublicKey protobuf: {Type: Ed25519 (1), Data: 32 bytes} = 08 01 12 20 <key>.
Bytes libp2p_public_key_protobuf(const Ed25519PublicKey& public_key);
/// Peer id bytes: identity multihash (0x00, length) of the protobuf public key.
Bytes peer_id_bytes(const Ed25519PublicKey& public_key);
std::string peer_id_string(const Ed25519PublicKey& public_key);
/// Recovers the Ed25519 key from a peer id string (base58btc identity multihash); fails for other
/// key types or hashed ids.
Result<Ed25519PublicKey> ed25519_from_peer_id(std::string_view peer_id);

}  // namespace ciro::utils
