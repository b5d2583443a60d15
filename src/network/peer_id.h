#pragma once
// PeerId: the libp2p identity of a node, kept as its multihash bytes. Ed25519 keys use the
// identity multihash (the key is inlined, 12D3KooW...); other key types use sha2-256 (Qm...).
// Plain value type, no I/O.

#include <compare>
#include <optional>
#include <string>
#include <string_view>

#include "utils/encoding.h"
#include "utils/identity.h"
#include "utils/result.h"

namespace ciro::network {

using utils::Bytes;

class PeerId {
 public:
  PeerId() = default;

  static PeerId from_public_key(const utils::Ed25519PublicKey& key);
  /// Parses a multihash: identity (code 0x00, at most 128 bytes) or sha2-256 (0x12, 32 bytes).
  static Result<PeerId> from_bytes(std::span<const std::uint8_t> multihash);
  /// Accepts base58btc ("12D3KooW…", "Qm…") and CIDv1 base32 with the libp2p-key codec ("bafz…").
  static Result<PeerId> parse(std::string_view text);

  const Bytes& bytes() const { return m_bytes; }
  bool empty() const { return m_bytes.empty(); }
  /// base58btc text, the usual form.
  std::string to_string() const;
  /// CIDv1, libp2p-key codec (0x72), multibase base32 ("b…").
  std::string to_cid_string() const;
  /// The Ed25519 key inlined in an identity multihash; nullopt for other ids.
  std::optional<utils::Ed25519PublicKey> ed25519_key() const;

  auto operator<=>(const PeerId&) const = default;

 private:
  Bytes m_bytes;
};

/// RFC 4648 base32, lowercase, no padding (the multibase "b" alphabet).
std::string base32_encode(std::span<const std::uint8_t> data);
std::optional<Bytes> base32_decode(std::string_view text);

}  // namespace ciro::network

template <>
struct std::hash<ciro::network::PeerId> {
  std::size_t operator()(const ciro::network::PeerId& p) const noexcept {
    return std::hash<std::string_view>()(
        std::string_view(reinterpret_cast<const char*>(p.bytes().data()), p.bytes().size()));
  }
};
