#include "network/noise.h"

#include <sodium.h>

#include <cstring>

#include "network/protobuf.h"

namespace ciro::network::noise {
namespace {

using HashOut = std::array<std::uint8_t, crypto_hash_sha256_BYTES>;

void hmac(std::span<const std::uint8_t> key, std::span<const std::uint8_t> a, std::span<const std::uint8_t> b,
          HashOut& out) {
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, key.data(), key.size());
  crypto_auth_hmacsha256_update(&st, a.data(), a.size());
  crypto_auth_hmacsha256_update(&st, b.data(), b.size());
  crypto_auth_hmacsha256_final(&st, out.data());
  sodium_memzero(&st, sizeof st);
}

// Noise HKDF with two outputs.
void hkdf2(const Key& ck, std::span<const std::uint8_t> ikm, Key& out1, Key& out2) {
  HashOut temp, o1, o2;
  hmac(ck, ikm, {}, temp);
  const std::uint8_t one = 1, two = 2;
  hmac(temp, {&one, 1}, {}, o1);
  std::array<std::uint8_t, 33> in2;
  std::memcpy(in2.data(), o1.data(), 32);
  in2[32] = two;
  hmac(temp, in2, {}, o2);
  std::memcpy(out1.data(), o1.data(), 32);
  std::memcpy(out2.data(), o2.data(), 32);
  sodium_memzero(temp.data(), temp.size());
}

void nonce_bytes(std::uint64_t n, std::uint8_t out[12]) {
  std::memset(out, 0, 12);
  for (int i = 0; i < 8; ++i) out[4 + i] = static_cast<std::uint8_t>(n >> (8 * i));
}

}  // namespace

Result<void> CipherState::encrypt(std::span<const std::uint8_t> ad, std::span<const std::uint8_t> pt, Bytes& out) {
  if (!m_has_key) {
    out.insert(out.end(), pt.begin(), pt.end());
    return {};
  }
  if (m_nonce == UINT64_MAX) return Error(Errc::protocol, "noise: nonce exhausted");
  std::uint8_t n[12];
  nonce_bytes(m_nonce, n);
  std::size_t off = out.size();
  out.resize(off + pt.size() + TAG);
  unsigned long long clen = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt(out.data() + off, &clen, pt.data(), pt.size(), ad.data(), ad.size(),
                                            nullptr, n, m_key.data());
  ++m_nonce;
  return {};
}

Result<void> CipherState::decrypt(std::span<const std::uint8_t> ad, std::span<const std::uint8_t> ct, Bytes& out) {
  if (!m_has_key) {
    out.insert(out.end(), ct.begin(), ct.end());
    return {};
  }
  if (ct.size() < TAG) return Error(Errc::protocol, "noise: ciphertext shorter than its tag");
  if (m_nonce == UINT64_MAX) return Error(Errc::protocol, "noise: nonce exhausted");
  std::uint8_t n[12];
  nonce_bytes(m_nonce, n);
  std::size_t off = out.size();
  out.resize(off + ct.size() - TAG);
  unsigned long long plen = 0;
  if (crypto_aead_chacha20poly1305_ietf_decrypt(out.data() + off, &plen, nullptr, ct.data(), ct.size(), ad.data(),
                                                ad.size(), n, m_key.data()) != 0) {
    out.resize(off);
    return Error(Errc::protocol, "noise: message authentication failed");
  }
  ++m_nonce;
  return {};
}

Result<void> CipherState::encrypt_in_place(std::uint8_t* buf, std::size_t len) {
  if (m_nonce == UINT64_MAX) return Error(Errc::protocol, "noise: nonce exhausted");
  std::uint8_t n[12];
  nonce_bytes(m_nonce, n);
  unsigned long long maclen = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt_detached(buf, buf + len, &maclen, buf, len, nullptr, 0, nullptr, n,
                                                     m_key.data());
  ++m_nonce;
  return {};
}

Result<void> CipherState::decrypt_in_place(std::uint8_t* buf, std::size_t len) {
  if (len < TAG) return Error(Errc::protocol, "noise: ciphertext shorter than its tag");
  if (m_nonce == UINT64_MAX) return Error(Errc::protocol, "noise: nonce exhausted");
  std::uint8_t n[12];
  nonce_bytes(m_nonce, n);
  if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(buf, nullptr, buf, len - TAG, buf + len - TAG, nullptr, 0, n,
                                                         m_key.data()) != 0)
    return Error(Errc::protocol, "noise: message authentication failed");
  ++m_nonce;
  return {};
}

Bytes encode_payload(const Payload& p) {
  pb::Writer w;
  if (!p.identity_key.empty()) w.bytes_field(1, p.identity_key);
  if (!p.identity_sig.empty()) w.bytes_field(2, p.identity_sig);
  if (!p.stream_muxers.empty()) {
    pb::Writer ext;
    for (const auto& m : p.stream_muxers) ext.string_field(2, m);
    w.bytes_field(4, ext.bytes());
  }
  return w.take();
}

Result<Payload> decode_payload(std::span<const std::uint8_t> data) {
  Payload p;
  pb::Reader r(data);
  while (!r.done()) {
    CIRO_TRY(auto f, r.next());
    if (f.number == 1 && f.wire_type == 2) {
      p.identity_key.assign(f.data.begin(), f.data.end());
    } else if (f.number == 2 && f.wire_type == 2) {
      p.identity_sig.assign(f.data.begin(), f.data.end());
    } else if (f.number == 4 && f.wire_type == 2) {
      pb::Reader er(f.data);
      while (!er.done()) {
        CIRO_TRY(auto ef, er.next());
        if (ef.number == 2 && ef.wire_type == 2) {
          if (p.stream_muxers.size() >= 16) return Error(Errc::protocol, "noise payload: too many stream muxers");
          p.stream_muxers.emplace_back(ef.text());
        }
      }
    }
  }
  return p;
}

Payload make_payload(const utils::NodeKey& identity, const Key& static_public, std::vector<std::string> muxers) {
  Payload p;
  p.identity_key = utils::libp2p_public_key_protobuf(identity.public_key());
  Bytes msg(STATIC_KEY_PREFIX, STATIC_KEY_PREFIX + std::strlen(STATIC_KEY_PREFIX));
  msg.insert(msg.end(), static_public.begin(), static_public.end());
  auto sig = identity.sign(msg);
  p.identity_sig.assign(sig.begin(), sig.end());
  p.stream_muxers = std::move(muxers);
  return p;
}

Result<PeerId> verify_payload(const Payload& p, const Key& remote_static) {
  // PublicKey { Type = 1 (enum); Data = 2 }
  pb::Reader r(p.identity_key);
  std::uint64_t type = UINT64_MAX;
  std::span<const std::uint8_t> data;
  while (!r.done()) {
    CIRO_TRY(auto f, r.next());
    if (f.number == 1 && f.wire_type == 0) type = f.value;
    if (f.number == 2 && f.wire_type == 2) data = f.data;
  }
  if (type != 1) return Error(Errc::protocol, "noise payload: identity key is not Ed25519");
  if (data.size() != 32) return Error(Errc::protocol, "noise payload: Ed25519 key must be 32 bytes");
  utils::Ed25519PublicKey key;
  std::memcpy(key.data(), data.data(), 32);
  Bytes msg(STATIC_KEY_PREFIX, STATIC_KEY_PREFIX + std::strlen(STATIC_KEY_PREFIX));
  msg.insert(msg.end(), remote_static.begin(), remote_static.end());
  if (!utils::ed25519_verify(key, msg, p.identity_sig))
    return Error(Errc::protocol, "noise payload: identity signature does not verify");
  return PeerId::from_public_key(key);
}

Handshake::Handshake(bool initiator, std::optional<Key> static_secret) : m_initiator(initiator) {
  // The protocol name is exactly 32 bytes, so h = name (no hashing), ck = h; then MixHash(prologue = "").
  static_assert(sizeof("Noise_XX_25519_ChaChaPoly_SHA256") - 1 == 32);
  std::memcpy(m_h.data(), PROTOCOL_NAME, 32);
  m_ck = m_h;
  mix_hash({});
  if (static_secret) m_s_priv = *static_secret;
  else randombytes_buf(m_s_priv.data(), m_s_priv.size());
  crypto_scalarmult_curve25519_base(m_s_pub.data(), m_s_priv.data());
}

Handshake::~Handshake() {
  sodium_memzero(m_s_priv.data(), 32);
  sodium_memzero(m_e_priv.data(), 32);
  sodium_memzero(m_ck.data(), 32);
}

void Handshake::mix_hash(std::span<const std::uint8_t> data) {
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  crypto_hash_sha256_update(&st, m_h.data(), m_h.size());
  crypto_hash_sha256_update(&st, data.data(), data.size());
  crypto_hash_sha256_final(&st, m_h.data());
}

void Handshake::mix_key(std::span<const std::uint8_t> ikm) {
  Key temp_k;
  hkdf2(m_ck, ikm, m_ck, temp_k);
  m_cipher.initialize(temp_k);
  sodium_memzero(temp_k.data(), 32);
}

Result<void> Handshake::encrypt_and_hash(std::span<const std::uint8_t> pt, Bytes& out) {
  std::size_t off = out.size();
  CIRO_TRY_VOID(m_cipher.encrypt(m_h, pt, out));
  mix_hash(std::span<const std::uint8_t>(out).subspan(off));
  return {};
}

Result<void> Handshake::decrypt_and_hash(std::span<const std::uint8_t> ct, Bytes& out) {
  CIRO_TRY_VOID(m_cipher.decrypt(m_h, ct, out));
  mix_hash(ct);
  return {};
}

Result<void> Handshake::mix_dh(const Key& secret, const Key& pub) {
  Key shared;
  if (crypto_scalarmult_curve25519(shared.data(), secret.data(), pub.data()) != 0)
    return Error(Errc::protocol, "noise: peer sent a low-order X25519 key");
  mix_key(shared);
  sodium_memzero(shared.data(), 32);
  return {};
}

Result<Bytes> Handshake::write_message(std::span<const std::uint8_t> payload) {
  Bytes out;
  const int msg = m_step + 1;
  if ((msg == 2) == m_initiator || msg > 3) return Error(Errc::internal, "noise: write out of turn");
  if (msg == 1 || msg == 2) {
    randombytes_buf(m_e_priv.data(), 32);
    crypto_scalarmult_curve25519_base(m_e_pub.data(), m_e_priv.data());
    out.insert(out.end(), m_e_pub.begin(), m_e_pub.end());
    mix_hash(m_e_pub);
  }
  if (msg == 2) {
    CIRO_TRY_VOID(mix_dh(m_e_priv, m_re));        // ee
    CIRO_TRY_VOID(encrypt_and_hash(m_s_pub, out));  // s
    CIRO_TRY_VOID(mix_dh(m_s_priv, m_re));        // es (responder: s with re)
  }
  if (msg == 3) {
    CIRO_TRY_VOID(encrypt_and_hash(m_s_pub, out));  // s
    CIRO_TRY_VOID(mix_dh(m_s_priv, m_re));        // se (initiator: s with re)
  }
  CIRO_TRY_VOID(encrypt_and_hash(payload, out));
  if (out.size() > MAX_MESSAGE) return Error(Errc::invalid_argument, "noise: handshake payload too large");
  m_step = msg;
  return out;
}

Result<Bytes> Handshake::read_message(std::span<const std::uint8_t> in) {
  const int msg = m_step + 1;
  if ((msg == 2) != m_initiator || msg > 3) return Error(Errc::internal, "noise: read out of turn");
  if (in.size() > MAX_MESSAGE) return Error(Errc::protocol, "noise: handshake message too large");
  Bytes payload;
  if (msg == 1 || msg == 2) {
    if (in.size() < 32) return Error(Errc::protocol, "noise: handshake message too short");
    std::memcpy(m_re.data(), in.data(), 32);
    mix_hash(m_re);
    in = in.subspan(32);
  }
  if (msg == 2) {
    CIRO_TRY_VOID(mix_dh(m_e_priv, m_re));  // ee
    if (in.size() < 32 + TAG) return Error(Errc::protocol, "noise: handshake message too short");
    Bytes rs;
    CIRO_TRY_VOID(decrypt_and_hash(in.subspan(0, 32 + TAG), rs));
    std::memcpy(m_rs.data(), rs.data(), 32);
    in = in.subspan(32 + TAG);
    CIRO_TRY_VOID(mix_dh(m_e_priv, m_rs));  // es (initiator: e with rs)
  }
  if (msg == 3) {
    if (in.size() < 32 + TAG) return Error(Errc::protocol, "noise: handshake message too short");
    Bytes rs;
    CIRO_TRY_VOID(decrypt_and_hash(in.subspan(0, 32 + TAG), rs));
    std::memcpy(m_rs.data(), rs.data(), 32);
    in = in.subspan(32 + TAG);
    CIRO_TRY_VOID(mix_dh(m_e_priv, m_rs));  // se (responder: e with rs)
  }
  CIRO_TRY_VOID(decrypt_and_hash(in, payload));
  m_step = msg;
  return payload;
}

std::pair<CipherState, CipherState> Handshake::split() {
  Key k1, k2;
  hkdf2(m_ck, {}, k1, k2);
  CipherState c1, c2;
  c1.initialize(k1);
  c2.initialize(k2);
  sodium_memzero(k1.data(), 32);
  sodium_memzero(k2.data(), 32);
  if (m_initiator) return {c1, c2};
  return {c2, c1};
}

}  // namespace ciro::network::noise
