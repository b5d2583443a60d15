#pragma once
// Noise_XX_25519_ChaChaPoly_SHA256 (the Noise Protocol Framework, rev 34) as a pure state machine
// with no I/O, plus the libp2p handshake payload (identity key, signature over the static key,
// early muxer negotiation). The network code drives it over a socket; tests drive it in memory.
// Not thread-safe; one object per handshake.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "network/peer_id.h"
#include "utils/identity.h"
#include "utils/result.h"

namespace ciro::network::noise {

inline constexpr const char* PROTOCOL_NAME = "Noise_XX_25519_ChaChaPoly_SHA256";
inline constexpr const char* LIBP2P_PROTOCOL = "/noise";
inline constexpr const char* STATIC_KEY_PREFIX = "noise-libp2p-static-key:";
/// A Noise message, ciphertext and tag included, is at most this long (2-byte length prefix).
inline constexpr std::size_t MAX_MESSAGE = 65535;
inline constexpr std::size_t TAG = 16;
inline constexpr std::size_t MAX_PLAINTEXT = MAX_MESSAGE - TAG;

using Key = std::array<std::uint8_t, 32>;

/// ChaCha20-Poly1305 IETF with the Noise nonce layout (32 zero bits || 64-bit little-endian n).
class CipherState {
 public:
  void initialize(const Key& k) { m_key = k; m_has_key = true; m_nonce = 0; }
  bool has_key() const { return m_has_key; }
  /// Appends ciphertext||tag to out. Plaintext passes through when no key is set.
  Result<void> encrypt(std::span<const std::uint8_t> ad, std::span<const std::uint8_t> plaintext, Bytes& out);
  /// Appends the plaintext to out; fails when the tag does not verify (the nonce is not advanced).
  Result<void> decrypt(std::span<const std::uint8_t> ad, std::span<const std::uint8_t> ciphertext, Bytes& out);
  /// In-place variants for the transport: buf holds plaintext (len) and gets len+TAG bytes back.
  Result<void> encrypt_in_place(std::uint8_t* buf, std::size_t len);
  /// buf holds len bytes of ciphertext+tag; on success the first len-TAG bytes are plaintext.
  Result<void> decrypt_in_place(std::uint8_t* buf, std::size_t len);

 private:
  Key m_key{};
  bool m_has_key = false;
  std::uint64_t m_nonce = 0;
};

/// libp2p NoiseHandshakePayload.
struct Payload {
  Bytes identity_key;  ///< libp2p PublicKey protobuf
  Bytes identity_sig;
  std::vector<std::string> stream_muxers;
};
Bytes encode_payload(const Payload& p);
/// Fails on malformed protobuf or more than 16 muxers.
Result<Payload> decode_payload(std::span<const std::uint8_t> data);
/// Builds our payload: identity key, signature over prefix||static_public, and muxers.
Payload make_payload(const utils::NodeKey& identity, const Key& static_public, std::vector<std::string> muxers);
/// Checks the payload against the remote static key; returns the remote peer id. Fails when the
/// key is not Ed25519 or the signature does not verify.
Result<PeerId> verify_payload(const Payload& p, const Key& remote_static);

/// XX handshake. Initiator: write_message(1) → read_message(2) → write_message(3).
/// Responder: read_message(1) → write_message(2) → read_message(3). Then split().
class Handshake {
 public:
  /// `static_secret` is the X25519 static key (fresh per node start); nullopt makes a new one.
  Handshake(bool initiator, std::optional<Key> static_secret = std::nullopt);
  ~Handshake();
  Handshake(const Handshake&) = delete;
  Handshake& operator=(const Handshake&) = delete;

  /// Produces the next handshake message carrying `payload`.
  Result<Bytes> write_message(std::span<const std::uint8_t> payload);
  /// Consumes the next handshake message; returns its decrypted payload.
  Result<Bytes> read_message(std::span<const std::uint8_t> message);
  bool complete() const { return m_step == 3; }
  const Key& local_static_public() const { return m_s_pub; }
  const Key& remote_static_public() const { return m_rs; }
  /// After completion: {send, receive} cipher states for this side.
  std::pair<CipherState, CipherState> split();
  /// The handshake hash (channel binding), for tests.
  const Key& handshake_hash() const { return m_h; }

 private:
  void mix_hash(std::span<const std::uint8_t> data);
  void mix_key(std::span<const std::uint8_t> ikm);
  Result<void> encrypt_and_hash(std::span<const std::uint8_t> plaintext, Bytes& out);
  Result<void> decrypt_and_hash(std::span<const std::uint8_t> ciphertext, Bytes& out);
  Result<void> mix_dh(const Key& secret, const Key& pub);

  bool m_initiator;
  int m_step = 0;  // messages processed
  Key m_h{}, m_ck{};
  CipherState m_cipher;
  Key m_s_priv{}, m_s_pub{}, m_e_priv{}, m_e_pub{};
  Key m_rs{}, m_re{};
};

}  // namespace ciro::network::noise
