#include "network/peer_id.h"

#include <algorithm>
#include <cstring>

namespace ciro::network {
namespace {
constexpr std::uint64_t MH_IDENTITY = 0x00;
constexpr std::uint64_t MH_SHA256 = 0x12;
constexpr std::uint64_t CODEC_LIBP2P_KEY = 0x72;
constexpr std::size_t MAX_INLINE_KEY = 128;  // identity multihash is only allowed for small keys
constexpr const char* B32 = "abcdefghijklmnopqrstuvwxyz234567";
}  // namespace

std::string base32_encode(std::span<const std::uint8_t> data) {
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (std::uint8_t b : data) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out.push_back(B32[(buffer >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(B32[(buffer << (5 - bits)) & 31]);
  return out;
}

std::optional<Bytes> base32_decode(std::string_view text) {
  Bytes out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    int v;
    if (c >= 'a' && c <= 'z') v = c - 'a';
    else if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= '2' && c <= '7') v = c - '2' + 26;
    else return std::nullopt;
    buffer = (buffer << 5) | static_cast<std::uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      out.push_back(static_cast<std::uint8_t>(buffer >> (bits - 8)));
      bits -= 8;
    }
  }
  if (bits >= 5) return std::nullopt;  // more than a byte's worth of padding bits
  return out;
}

PeerId PeerId::from_public_key(const utils::Ed25519PublicKey& key) {
  PeerId p;
  p.m_bytes = utils::peer_id_bytes(key);
  return p;
}

Result<PeerId> PeerId::from_bytes(std::span<const std::uint8_t> mh) {
  auto code = utils::varint_decode(mh);
  if (!code) return Error(Errc::invalid_argument, "peer id: bad multihash code");
  auto len = utils::varint_decode(mh.subspan(code->second));
  if (!len) return Error(Errc::invalid_argument, "peer id: bad multihash length");
  std::size_t header = code->second + len->second;
  if (mh.size() - header != len->first)
    return Error(Errc::invalid_argument, "peer id: multihash length does not match its digest");
  if (code->first == MH_IDENTITY) {
    if (len->first > MAX_INLINE_KEY) return Error(Errc::invalid_argument, "peer id: identity multihash too long");
  } else if (code->first == MH_SHA256) {
    if (len->first != 32) return Error(Errc::invalid_argument, "peer id: sha2-256 digest must be 32 bytes");
  } else {
    return Error(Errc::invalid_argument, "peer id: unsupported multihash code " + std::to_string(code->first));
  }
  PeerId p;
  p.m_bytes.assign(mh.begin(), mh.end());
  return p;
}

Result<PeerId> PeerId::parse(std::string_view text) {
  if (text.empty()) return Error(Errc::invalid_argument, "peer id: empty");
  if (text.front() == '1' || text.starts_with("Qm")) {
    auto raw = utils::base58_decode(text);
    if (!raw) return Error(Errc::invalid_argument, "peer id: not base58btc: " + std::string(text));
    return from_bytes(*raw);
  }
  if (text.front() == 'b') {
    auto raw = base32_decode(text.substr(1));
    if (!raw) return Error(Errc::invalid_argument, "peer id: not base32: " + std::string(text));
    std::span<const std::uint8_t> s(*raw);
    auto version = utils::varint_decode(s);
    if (!version || version->first != 1) return Error(Errc::invalid_argument, "peer id: CID must be version 1");
    s = s.subspan(version->second);
    auto codec = utils::varint_decode(s);
    if (!codec || codec->first != CODEC_LIBP2P_KEY)
      return Error(Errc::invalid_argument, "peer id: CID codec must be libp2p-key (0x72)");
    return from_bytes(s.subspan(codec->second));
  }
  return Error(Errc::invalid_argument, "peer id: unknown encoding: " + std::string(text));
}

std::string PeerId::to_string() const { return utils::base58_encode(m_bytes); }

std::string PeerId::to_cid_string() const {
  Bytes cid;
  utils::varint_append(cid, 1);
  utils::varint_append(cid, CODEC_LIBP2P_KEY);
  cid.insert(cid.end(), m_bytes.begin(), m_bytes.end());
  return "b" + base32_encode(cid);
}

std::optional<utils::Ed25519PublicKey> PeerId::ed25519_key() const {
  // 00 24 | 08 01 12 20 | key
  static constexpr std::uint8_t PREFIX[] = {0x00, 0x24, 0x08, 0x01, 0x12, 0x20};
  if (m_bytes.size() != sizeof(PREFIX) + 32 || !std::equal(std::begin(PREFIX), std::end(PREFIX), m_bytes.begin()))
    return std::nullopt;
  utils::Ed25519PublicKey key;
  std::memcpy(key.data(), m_bytes.data() + sizeof(PREFIX), 32);
  return key;
}

}  // namespace ciro::network
