#include <sodium.h>

#include <string>

#include "blockchain/hash.h"

namespace ciro::blockchain {

namespace {

constexpr int FULL_ROUNDS = 8;
constexpr int PARTIAL_ROUNDS = 83;
constexpr int ROUNDS = FULL_ROUNDS + PARTIAL_ROUNDS;

// StarkWare derives the constants as int(sha256("Hades" + str(i))) mod P (cairo-lang
// poseidon_utils.py); deriving them here avoids embedding 273 numbers. Checked against
// poseidon3.txt by the unit tests.
std::array<std::array<Felt, 3>, ROUNDS> derive_constants() {
  std::array<std::array<Felt, 3>, ROUNDS> out{};
  for (int i = 0; i < ROUNDS; ++i) {
    for (int j = 0; j < 3; ++j) {
      const std::string seed = "Hades" + std::to_string(3 * i + j);
      std::array<std::uint8_t, 32> digest{};
      crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(seed.data()), seed.size());
      out[i][j] = Felt::from_u256_reduce(from_be_bytes(digest));
    }
  }
  return out;
}

inline Felt cube(const Felt& x) { return x.square() * x; }

inline void mix(std::array<Felt, 3>& s) {
  // MDS [[3,1,1],[1,-1,1],[1,1,-2]].
  const Felt t = s[0] + s[1] + s[2];
  const Felt a = t + s[0].dbl();
  const Felt b = t - s[1].dbl();
  const Felt c = t - (s[2].dbl() + s[2]);
  s[0] = a;
  s[1] = b;
  s[2] = c;
}

}  // namespace

const std::array<std::array<Felt, 3>, 91>& poseidon_round_constants() {
  static const auto constants = derive_constants();
  return constants;
}

void hades_permutation(std::array<Felt, 3>& s) {
  const auto& rc = poseidon_round_constants();
  int r = 0;
  for (int i = 0; i < FULL_ROUNDS / 2; ++i, ++r) {
    for (int j = 0; j < 3; ++j) s[j] = cube(s[j] + rc[r][j]);
    mix(s);
  }
  for (int i = 0; i < PARTIAL_ROUNDS; ++i, ++r) {
    s[0] += rc[r][0];
    s[1] += rc[r][1];
    s[2] = cube(s[2] + rc[r][2]);
    mix(s);
  }
  for (int i = 0; i < FULL_ROUNDS / 2; ++i, ++r) {
    for (int j = 0; j < 3; ++j) s[j] = cube(s[j] + rc[r][j]);
    mix(s);
  }
}

Felt poseidon_hash(const Felt& x, const Felt& y) {
  std::array<Felt, 3> s{x, y, Felt::from_u64(2)};
  hades_permutation(s);
  return s[0];
}

Felt poseidon_hash_single(const Felt& x) {
  std::array<Felt, 3> s{x, Felt::zero(), Felt::one()};
  hades_permutation(s);
  return s[0];
}

Felt poseidon_hash_many(std::span<const Felt> values) {
  std::array<Felt, 3> s{};
  std::size_t i = 0;
  // Absorb full pairs, then the tail padded with 1 (and 0 when the count is even).
  for (; i + 2 <= values.size(); i += 2) {
    s[0] += values[i];
    s[1] += values[i + 1];
    hades_permutation(s);
  }
  if (i < values.size()) {
    s[0] += values[i];
    s[1] += Felt::one();
  } else {
    s[0] += Felt::one();
  }
  hades_permutation(s);
  return s[0];
}

}  // namespace ciro::blockchain
