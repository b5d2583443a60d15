#pragma once
// U256: a plain 256-bit unsigned integer on four little-endian 64-bit limbs, with the few
// operations the Stark field, scalar and hashing code needs (compare, add/sub with carry, shifts,
// big-endian bytes, hex). Values only; no allocation; every function is total (no input crashes).

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace ciro::blockchain {

struct U256 {
  std::array<std::uint64_t, 4> w{};  ///< w[0] is the least significant limb

  constexpr U256() = default;
  constexpr U256(std::uint64_t w0, std::uint64_t w1, std::uint64_t w2, std::uint64_t w3)
      : w{w0, w1, w2, w3} {}
  static constexpr U256 from_u64(std::uint64_t v) { return U256(v, 0, 0, 0); }

  constexpr bool is_zero() const { return (w[0] | w[1] | w[2] | w[3]) == 0; }
  constexpr bool bit(unsigned i) const { return i < 256 && ((w[i / 64] >> (i % 64)) & 1U) != 0; }
  /// Number of significant bits (0 for zero).
  constexpr unsigned bit_length() const {
    for (int i = 3; i >= 0; --i) {
      if (w[i] != 0) return static_cast<unsigned>(i * 64 + 64 - __builtin_clzll(w[i]));
    }
    return 0;
  }
  friend constexpr bool operator==(const U256&, const U256&) = default;
};

/// -1, 0, 1 like memcmp, comparing as integers.
constexpr int cmp(const U256& a, const U256& b) {
  for (int i = 3; i >= 0; --i) {
    if (a.w[i] != b.w[i]) return a.w[i] < b.w[i] ? -1 : 1;
  }
  return 0;
}
constexpr bool operator<(const U256& a, const U256& b) { return cmp(a, b) < 0; }
constexpr bool operator>=(const U256& a, const U256& b) { return cmp(a, b) >= 0; }

/// r = a + b; returns the carry out.
constexpr std::uint64_t add_carry(U256& r, const U256& a, const U256& b) {
  unsigned __int128 c = 0;
  for (int i = 0; i < 4; ++i) {
    c += static_cast<unsigned __int128>(a.w[i]) + b.w[i];
    r.w[i] = static_cast<std::uint64_t>(c);
    c >>= 64;
  }
  return static_cast<std::uint64_t>(c);
}
/// r = a - b; returns the borrow out (1 when a < b).
constexpr std::uint64_t sub_borrow(U256& r, const U256& a, const U256& b) {
  std::uint64_t borrow = 0;
  for (int i = 0; i < 4; ++i) {
    const unsigned __int128 d = static_cast<unsigned __int128>(a.w[i]) - b.w[i] - borrow;
    r.w[i] = static_cast<std::uint64_t>(d);
    borrow = static_cast<std::uint64_t>(d >> 64) & 1U;
  }
  return borrow;
}
constexpr U256 shr(const U256& a, unsigned n) {
  U256 r;
  if (n >= 256) return r;
  const unsigned limbs = n / 64, bits = n % 64;
  for (unsigned i = 0; i + limbs < 4; ++i) {
    std::uint64_t v = a.w[i + limbs] >> bits;
    if (bits != 0 && i + limbs + 1 < 4) v |= a.w[i + limbs + 1] << (64 - bits);
    r.w[i] = v;
  }
  return r;
}
constexpr U256 shl(const U256& a, unsigned n) {
  U256 r;
  if (n >= 256) return r;
  const unsigned limbs = n / 64, bits = n % 64;
  for (int i = 3; i >= static_cast<int>(limbs); --i) {
    std::uint64_t v = a.w[i - limbs] << bits;
    if (bits != 0 && i - static_cast<int>(limbs) - 1 >= 0) v |= a.w[i - limbs - 1] >> (64 - bits);
    r.w[i] = v;
  }
  return r;
}
constexpr U256 bit_and(const U256& a, const U256& b) {
  return U256(a.w[0] & b.w[0], a.w[1] & b.w[1], a.w[2] & b.w[2], a.w[3] & b.w[3]);
}
/// 2^n - 1 for n <= 256.
constexpr U256 low_mask(unsigned n) {
  U256 r;
  for (unsigned i = 0; i < 4; ++i) {
    if (n >= 64 * (i + 1)) r.w[i] = ~0ULL;
    else if (n > 64 * i) r.w[i] = (1ULL << (n - 64 * i)) - 1;
  }
  return r;
}

/// Big-endian 32 bytes.
std::array<std::uint8_t, 32> to_be_bytes(const U256& v);
U256 from_be_bytes(std::span<const std::uint8_t, 32> bytes);
/// Big-endian bytes of any length up to 32 (shorter input is left-padded); nullopt when longer
/// than 32 bytes and the excess bytes are not zero.
std::optional<U256> from_be_bytes_any(std::span<const std::uint8_t> bytes);
/// Minimal big-endian bytes (empty for zero), as RFC 6979 "extra entropy" uses a seed.
std::string minimal_be_bytes(const U256& v);

/// Parses "0x1aB", "1ab", "0X0001": optional 0x/0X prefix, either case, leading zeros allowed.
/// nullopt when empty, when a character is not hex, or when the value needs more than 256 bits.
std::optional<U256> parse_hex_u256(std::string_view text);
/// "0x" + lowercase minimal hex digits; "0x0" for zero.
std::string to_hex(const U256& v);
/// Parses a decimal number (at most 256 bits); nullopt otherwise.
std::optional<U256> parse_dec_u256(std::string_view text);

}  // namespace ciro::blockchain
