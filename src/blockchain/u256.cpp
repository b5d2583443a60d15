#include "blockchain/u256.h"

namespace ciro::blockchain {

std::array<std::uint8_t, 32> to_be_bytes(const U256& v) {
  std::array<std::uint8_t, 32> out{};
  for (int i = 0; i < 32; ++i) {
    out[31 - i] = static_cast<std::uint8_t>(v.w[i / 8] >> (8 * (i % 8)));
  }
  return out;
}

U256 from_be_bytes(std::span<const std::uint8_t, 32> bytes) {
  U256 r;
  for (int i = 0; i < 32; ++i) {
    r.w[i / 8] |= static_cast<std::uint64_t>(bytes[31 - i]) << (8 * (i % 8));
  }
  return r;
}

std::optional<U256> from_be_bytes_any(std::span<const std::uint8_t> bytes) {
  std::size_t skip = 0;
  while (bytes.size() - skip > 32) {
    if (bytes[skip] != 0) return std::nullopt;
    ++skip;
  }
  bytes = bytes.subspan(skip);
  std::array<std::uint8_t, 32> padded{};
  for (std::size_t i = 0; i < bytes.size(); ++i) padded[32 - bytes.size() + i] = bytes[i];
  return from_be_bytes(padded);
}

std::string minimal_be_bytes(const U256& v) {
  const auto be = to_be_bytes(v);
  std::size_t first = 0;
  while (first < 32 && be[first] == 0) ++first;
  return std::string(be.begin() + static_cast<std::ptrdiff_t>(first), be.end());
}

std::optional<U256> parse_hex_u256(std::string_view text) {
  if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) text.remove_prefix(2);
  if (text.empty()) return std::nullopt;
  U256 r;
  unsigned digits = 0;
  for (const char c : text) {
    unsigned v;
    if (c >= '0' && c <= '9') v = static_cast<unsigned>(c - '0');
    else if (c >= 'a' && c <= 'f') v = static_cast<unsigned>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v = static_cast<unsigned>(c - 'A' + 10);
    else return std::nullopt;
    if (digits == 0 && v == 0) continue;  // leading zeros do not count against the 64 digits
    if (++digits > 64) return std::nullopt;
    r = shl(r, 4);
    r.w[0] |= v;
  }
  return r;
}

std::string to_hex(const U256& v) {
  static constexpr char HEX[] = "0123456789abcdef";
  std::string out = "0x";
  bool started = false;
  for (int i = 63; i >= 0; --i) {
    const unsigned nib = static_cast<unsigned>(v.w[i / 16] >> (4 * (i % 16))) & 0xF;
    if (nib == 0 && !started) continue;
    started = true;
    out.push_back(HEX[nib]);
  }
  if (!started) out.push_back('0');
  return out;
}

std::optional<U256> parse_dec_u256(std::string_view text) {
  if (text.empty()) return std::nullopt;
  U256 r;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    // r = r * 10 + digit, detecting overflow past 256 bits.
    unsigned __int128 carry = static_cast<unsigned>(c - '0');
    for (int i = 0; i < 4; ++i) {
      carry += static_cast<unsigned __int128>(r.w[i]) * 10U;
      r.w[i] = static_cast<std::uint64_t>(carry);
      carry >>= 64;
    }
    if (carry != 0) return std::nullopt;
  }
  return r;
}

}  // namespace ciro::blockchain
