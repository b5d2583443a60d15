#include <cstring>

#include "blockchain/hash.h"

namespace ciro::blockchain {

namespace {

constexpr std::uint64_t RC[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL};
// Rotation offsets and lane order of the combined rho/pi step.
constexpr int ROTC[24] = {1, 3, 6, 10, 15, 21, 28, 36, 45, 55, 2, 14, 27, 41, 56, 8, 25, 43, 62, 18, 39, 61, 20, 44};
constexpr int PILN[24] = {10, 7, 11, 17, 18, 3, 5, 16, 8, 21, 24, 4, 15, 23, 19, 13, 12, 2, 20, 14, 22, 9, 6, 1};

inline std::uint64_t rotl(std::uint64_t x, int n) { return (x << n) | (x >> (64 - n)); }

void keccak_f1600(std::uint64_t st[25]) {
  for (int round = 0; round < 24; ++round) {
    std::uint64_t bc[5];
    for (int i = 0; i < 5; ++i) bc[i] = st[i] ^ st[i + 5] ^ st[i + 10] ^ st[i + 15] ^ st[i + 20];
    for (int i = 0; i < 5; ++i) {
      const std::uint64_t t = bc[(i + 4) % 5] ^ rotl(bc[(i + 1) % 5], 1);
      for (int j = 0; j < 25; j += 5) st[j + i] ^= t;
    }
    std::uint64_t t = st[1];
    for (int i = 0; i < 24; ++i) {
      const int j = PILN[i];
      const std::uint64_t tmp = st[j];
      st[j] = rotl(t, ROTC[i]);
      t = tmp;
    }
    for (int j = 0; j < 25; j += 5) {
      for (int i = 0; i < 5; ++i) bc[i] = st[j + i];
      for (int i = 0; i < 5; ++i) st[j + i] ^= (~bc[(i + 1) % 5]) & bc[(i + 2) % 5];
    }
    st[0] ^= RC[round];
  }
}

void absorb_block(std::uint64_t st[25], const std::uint8_t* block, std::size_t rate) {
  for (std::size_t i = 0; i < rate / 8; ++i) {
    std::uint64_t lane = 0;
    for (int b = 0; b < 8; ++b) lane |= static_cast<std::uint64_t>(block[8 * i + b]) << (8 * b);
    st[i] ^= lane;
  }
  keccak_f1600(st);
}

}  // namespace

std::array<std::uint8_t, 32> keccak256(std::span<const std::uint8_t> data) {
  constexpr std::size_t RATE = 136;
  std::uint64_t st[25] = {};
  std::size_t off = 0;
  for (; data.size() - off >= RATE; off += RATE) absorb_block(st, data.data() + off, RATE);
  std::uint8_t last[RATE] = {};
  const std::size_t rem = data.size() - off;
  if (rem != 0) std::memcpy(last, data.data() + off, rem);
  last[rem] ^= 0x01;
  last[RATE - 1] ^= 0x80;
  absorb_block(st, last, RATE);
  std::array<std::uint8_t, 32> out{};
  for (int i = 0; i < 32; ++i) out[i] = static_cast<std::uint8_t>(st[i / 8] >> (8 * (i % 8)));
  return out;
}

Felt starknet_keccak(std::span<const std::uint8_t> data) {
  const auto digest = keccak256(data);
  // 250 bits < P, so the value is a canonical felt.
  return *Felt::from_u256(bit_and(from_be_bytes(digest), low_mask(250)));
}

Felt get_selector_from_name(std::string_view name) {
  if (name == "__default__" || name == "__l1_default__") return Felt::zero();
  return starknet_keccak(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(name.data()), name.size()));
}

Result<Felt> short_string(std::string_view text) {
  if (text.size() > 31) return make_error(Errc::invalid_argument, "short string longer than 31 characters: " + std::string(text));
  U256 v;
  for (const char c : text) {
    if (static_cast<unsigned char>(c) > 0x7f) return make_error(Errc::invalid_argument, "short string must be ASCII");
    v = shl(v, 8);
    v.w[0] |= static_cast<unsigned char>(c);
  }
  return *Felt::from_u256(v);
}

}  // namespace ciro::blockchain
