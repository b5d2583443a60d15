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

// Lazy MDS on raw Montgomery limbs: each output is formed from canonical inputs with
// non-negative offsets (3·s0 + s1 + s2 < 5P, s0 + s2 + 2·(P - s1) < 5P, s0 + s1 + 3·(P - s2)
// < 6P, all < 8P < 2^255) and reduced once, instead of nine separately reduced additions.
using Limbs = std::array<std::uint64_t, 4>;

inline Limbs add_raw(const Limbs& x, const Limbs& y) {
  std::uint64_t c = 0;
  Limbs r;
  r[0] = detail::addc(x[0], y[0], c);
  r[1] = detail::addc(x[1], y[1], c);
  r[2] = detail::addc(x[2], y[2], c);
  r[3] = detail::addc(x[3], y[3], c);
  return r;
}
inline Limbs p_minus(const Limbs& x) {  // P - x for x <= P
  std::uint64_t b = 0;
  Limbs r;
  r[0] = detail::subb(Felt::MOD.w[0], x[0], b);
  r[1] = detail::subb(0, x[1], b);
  r[2] = detail::subb(0, x[2], b);
  r[3] = detail::subb(Felt::MOD.w[3], x[3], b);
  return r;
}
// x mod P for x < 8P: subtract q·P with q = floor(x / 2^251) (the result lies in (-P, P)), then
// add P back when negative. P = 2^251 + 17·2^192 + 1, so q·P has limbs (q, 0, 0, q·P3).
inline Felt reduce8(const Limbs& x) {
  const std::uint64_t q = x[3] >> 59;
  std::uint64_t b = 0;
  const std::uint64_t d0 = detail::subb(x[0], q, b);
  const std::uint64_t d1 = detail::subb(x[1], 0, b);
  const std::uint64_t d2 = detail::subb(x[2], 0, b);
  const std::uint64_t d3 = detail::subb(x[3], q * Felt::MOD.w[3], b);
  const std::uint64_t mask = 0 - static_cast<std::uint64_t>(b);
  std::uint64_t c = 0;
  U256 r;
  r.w[0] = detail::addc(d0, Felt::MOD.w[0] & mask, c);
  r.w[1] = detail::addc(d1, 0, c);
  r.w[2] = detail::addc(d2, 0, c);
  r.w[3] = detail::addc(d3, Felt::MOD.w[3] & mask, c);
  return Felt::from_mont(r);
}

inline void mix(Felt& s0, Felt& s1, Felt& s2) {
  // MDS [[3,1,1],[1,-1,1],[1,1,-2]].
  const Limbs& x = s0.mont().w;
  const Limbs& y = s1.mont().w;
  const Limbs& z = s2.mont().w;
  const Limbs t = add_raw(add_raw(x, y), z);
  const Limbs ny = p_minus(y);
  const Limbs nz = p_minus(z);
  const Limbs a = add_raw(t, add_raw(x, x));
  const Limbs b = add_raw(t, add_raw(ny, ny));
  const Limbs c = add_raw(t, add_raw(nz, add_raw(nz, nz)));
  s0 = reduce8(a);
  s1 = reduce8(b);
  s2 = reduce8(c);
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

namespace {

// The portable product, not the mulx/adx one: inlined here it interleaves with the additions
// around it, where the assembly routine's operands must go through memory (measured: 3.1 µs
// against 4.1 µs a permutation).
inline Limbs mul(const Limbs& a, const Limbs& b) {
  Limbs r;
  detail::mont_mul_sparse<Felt::MOD.w[3]>(r.data(), a.data(), b.data());
  return r;
}
inline Limbs cube(const Limbs& y) {  // y < 5P; the result is canonical
  return mul(mul(y, y), y);
}
inline Limbs sub_raw(const Limbs& x, const Limbs& y) {  // x - y for x >= y
  std::uint64_t b = 0;
  Limbs r;
  r[0] = detail::subb(x[0], y[0], b);
  r[1] = detail::subb(x[1], y[1], b);
  r[2] = detail::subb(x[2], y[2], b);
  r[3] = detail::subb(x[3], y[3], b);
  return r;
}
constexpr Limbs TWO_P = {2, 0, 0, 2 * Felt::MOD.w[3]};
inline Felt felt_of(const Limbs& x) {  // x canonical
  U256 v;
  v.w = x;
  return Felt::from_mont(v);
}

// The permutation on raw Montgomery limbs. A product accepts one factor up to 2^256 when the
// other is below P (and a square any value below 5P): its result is canonical either way
// (t < a·b/2^256 + P < 2P before the final subtraction). So the value entering an S-box is left
// unreduced: in a partial round it is w - 2x, with w = s0 + s1 + 2P + the next round's constant
// formed beside the previous cube, and the chain from one cube to the next is two subtractions and
// two products. Lanes 0 and 1 are reduced off that chain.

void hades(std::array<Felt, 3>& state, const HadesSchedule& k) {
  Limbs s0 = state[0].mont().w, s1 = state[1].mont().w, s2 = state[2].mont().w;
  const auto full_round = [&](const std::array<Felt, 3>& c) {  // lanes below 5P in, canonical out
    const Limbs x0 = cube(add_raw(s0, c[0].mont().w));
    const Limbs x1 = cube(add_raw(s1, c[1].mont().w));
    const Limbs x2 = cube(add_raw(s2, c[2].mont().w));
    Felt f0 = felt_of(x0), f1 = felt_of(x1), f2 = felt_of(x2);
    mix(f0, f1, f2);
    s0 = f0.mont().w;
    s1 = f1.mont().w;
    s2 = f2.mont().w;
  };
  for (int r = 0; r < FULL_ROUNDS / 2; ++r) full_round(k.full[r]);
  // Partial rounds: y = s2 + c enters the S-box; then (s0, s1, s2) <- M·(s0, s1, x).
  Limbs y = add_raw(s2, k.partial[0].mont().w);
  for (int r = 0; r < PARTIAL_ROUNDS; ++r) {
    // Beside the cube: w = s0 + s1 + 2P + c_next (< 5P), and the new lanes 0 and 1 but for x.
    const Limbs w = add_raw(add_raw(add_raw(s0, s1), TWO_P), r + 1 < PARTIAL_ROUNDS ? k.partial[r + 1].mont().w : Limbs{});
    const Limbs a0 = add_raw(add_raw(add_raw(s0, s0), s0), s1);  // 3·s0 + s1 < 4P
    const Limbs a1 = add_raw(s0, p_minus(s1));                  // s0 - s1 + P < 2P
    const Limbs x = cube(y);
    s0 = reduce8(add_raw(a0, x)).mont().w;  // < 5P in, canonical out
    s1 = reduce8(add_raw(a1, x)).mont().w;
    y = sub_raw(sub_raw(w, x), x);  // s0 + s1 - 2x (+ c_next) + 2P: in (0, 5P)
  }
  // y = s0 + s1 - 2x + 2P is the lazy lane 2 (the last round had no next constant).
  s2 = y;
  for (int r = FULL_ROUNDS / 2; r < FULL_ROUNDS; ++r) full_round(k.full[r]);
  state = {felt_of(s0), felt_of(s1), felt_of(s2)};
}

}  // namespace

void hades_permutation(std::array<Felt, 3>& state) { hades(state, schedule()); }

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
