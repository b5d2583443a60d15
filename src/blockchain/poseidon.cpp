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

inline void mix(Felt& s0, Felt& s1, Felt& s2) {
  // MDS [[3,1,1],[1,-1,1],[1,1,-2]].
  const Felt t = s0 + s1 + s2;
  const Felt a = t + s0.dbl();
  const Felt b = t - s1.dbl();
  const Felt c = t - (s2.dbl() + s2);
  s0 = a;
  s1 = b;
  s2 = c;
}
inline void mix(std::array<Felt, 3>& s) { mix(s[0], s[1], s[2]); }

// The partial rounds add constants to all three lanes but apply the S-box to lane 2 only. Lanes
// 0 and 1 are linear through a partial round, so their constants are carried forward through the
// MDS matrix instead of added: the pending offset d (true state = computed state + d) becomes
// M·(d + c) with lane 2 cleared, lane 2's share folds into the next round's single constant, and
// whatever is still pending after the last partial round joins the first closing full round's
// constants. A partial round is then one addition, one cube and one mix.
struct HadesSchedule {
  std::array<std::array<Felt, 3>, FULL_ROUNDS> full{};
  std::array<Felt, PARTIAL_ROUNDS> partial{};
};

HadesSchedule derive_schedule(const std::array<std::array<Felt, 3>, ROUNDS>& rc) {
  HadesSchedule out;
  for (int i = 0; i < FULL_ROUNDS / 2; ++i) out.full[i] = rc[i];
  std::array<Felt, 3> d{};
  for (int i = 0; i < PARTIAL_ROUNDS; ++i) {
    const auto& c = rc[FULL_ROUNDS / 2 + i];
    std::array<Felt, 3> e{d[0] + c[0], d[1] + c[1], Felt::zero()};
    out.partial[i] = d[2] + c[2];
    mix(e);
    d = e;
  }
  for (int i = 0; i < FULL_ROUNDS / 2; ++i) out.full[FULL_ROUNDS / 2 + i] = rc[FULL_ROUNDS / 2 + PARTIAL_ROUNDS + i];
  for (int j = 0; j < 3; ++j) out.full[FULL_ROUNDS / 2][j] += d[j];
  return out;
}

const HadesSchedule& schedule() {
  static const HadesSchedule s = derive_schedule(poseidon_round_constants());
  return s;
}

}  // namespace

const std::array<std::array<Felt, 3>, 91>& poseidon_round_constants() {
  static const auto constants = derive_constants();
  return constants;
}

void hades_permutation(std::array<Felt, 3>& state) {
  const HadesSchedule& k = schedule();
  // The state in locals: through the reference GCC keeps storing it (it may alias the constants).
  Felt s0 = state[0], s1 = state[1], s2 = state[2];
  const auto full_round = [&](const std::array<Felt, 3>& c) {
    s0 = cube(s0 + c[0]);
    s1 = cube(s1 + c[1]);
    s2 = cube(s2 + c[2]);
    mix(s0, s1, s2);
  };
  for (int r = 0; r < FULL_ROUNDS / 2; ++r) full_round(k.full[r]);
  for (const Felt& c : k.partial) {
    s2 = cube(s2 + c);
    mix(s0, s1, s2);
  }
  for (int r = FULL_ROUNDS / 2; r < FULL_ROUNDS; ++r) full_round(k.full[r]);
  state = {s0, s1, s2};
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
