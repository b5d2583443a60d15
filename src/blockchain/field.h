#pragma once
// Prime fields on four 64-bit limbs in Montgomery form: Felt (felt252, mod the Stark prime
// P = 2^251 + 17·2^192 + 1) and Scalar (mod the Stark curve order N). Plain values, no state;
// arithmetic is total. Values enter only through checked constructors (from_u256 rejects x >= M),
// so an element is always canonical (< M) and comparisons are exact.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "blockchain/u256.h"
#if defined(__x86_64__)
#include <x86intrin.h>
#endif
#include "utils/result.h"

namespace ciro::blockchain {

namespace detail {

/// -m^{-1} mod 2^64 by Newton iteration (m odd).
constexpr std::uint64_t neg_inv64(std::uint64_t m) {
  std::uint64_t x = 1;
  for (int i = 0; i < 7; ++i) x *= 2 - m * x;
  return ~x + 1;
}
/// 2^k mod m by doubling (m < 2^255).
constexpr U256 pow2_mod(const U256& m, unsigned k) {
  U256 x = U256::from_u64(1);
  for (unsigned i = 0; i < k; ++i) {
    U256 d;
    add_carry(d, x, x);
    if (d >= m) sub_borrow(d, d, m);
    x = d;
  }
  return x;
}

// Carry-chain steps: adc/sbb on x86-64 (GCC keeps these in registers, where its unsigned __int128
// chains spill to the stack once inlined many times), unsigned __int128 elsewhere.
inline std::uint64_t addc(std::uint64_t a, std::uint64_t b, std::uint64_t& carry) {
#if defined(__x86_64__)
  unsigned long long r;
  carry = _addcarry_u64(static_cast<unsigned char>(carry), a, b, &r);
  return r;
#else
  const unsigned __int128 s = static_cast<unsigned __int128>(a) + b + carry;
  carry = static_cast<std::uint64_t>(s >> 64);
  return static_cast<std::uint64_t>(s);
#endif
}
inline std::uint64_t subb(std::uint64_t a, std::uint64_t b, std::uint64_t& borrow) {
#if defined(__x86_64__)
  unsigned long long r;
  borrow = _subborrow_u64(static_cast<unsigned char>(borrow), a, b, &r);
  return r;
#else
  const unsigned __int128 d = static_cast<unsigned __int128>(a) - b - borrow;
  borrow = static_cast<std::uint64_t>(d >> 64) & 1U;
  return static_cast<std::uint64_t>(d);
#endif
}

/// Montgomery product out = a·b·2^-256 mod M for a sparse modulus M = M3·2^192 + 1 (felt252):
/// -M^-1 mod 2^64 is -1, so each reduction step's multiplier is m = -t0, t0 + m vanishes with a
/// carry exactly when t0 != 0, and m·M adds only m·M3 at limb 3: one multiplication per step
/// instead of four. Inputs < M < 2^252; the result is canonical (< M).
inline std::uint64_t mul_wide(std::uint64_t a, std::uint64_t b, std::uint64_t& hi) {
  const unsigned __int128 p = static_cast<unsigned __int128>(a) * b;
  hi = static_cast<std::uint64_t>(p >> 64);
  return static_cast<std::uint64_t>(p);
}

template <std::uint64_t M3>
inline void mont_mul_sparse(std::uint64_t* out, const std::uint64_t* a, const std::uint64_t* b) {
  std::uint64_t t0 = 0, t1 = 0, t2 = 0, t3 = 0;
  for (int i = 0; i < 4; ++i) {
    // t += a·b[i]: low halves in one carry chain, high halves in a second.
    const std::uint64_t bi = b[i];
    std::uint64_t h0, h1, h2, h3;
    const std::uint64_t l0 = mul_wide(a[0], bi, h0);
    const std::uint64_t l1 = mul_wide(a[1], bi, h1);
    const std::uint64_t l2 = mul_wide(a[2], bi, h2);
    const std::uint64_t l3 = mul_wide(a[3], bi, h3);
    std::uint64_t c = 0;
    t0 = addc(t0, l0, c);
    t1 = addc(t1, l1, c);
    t2 = addc(t2, l2, c);
    t3 = addc(t3, l3, c);
    std::uint64_t t4 = c;
    c = 0;
    t1 = addc(t1, h0, c);
    t2 = addc(t2, h1, c);
    t3 = addc(t3, h2, c);
    t4 = addc(t4, h3, c);
    // t = (t + m·M) / 2^64 with m = -t0.
    std::uint64_t mh;
    const std::uint64_t ml = mul_wide(0 - t0, M3, mh);
    c = t0 != 0;
    t0 = addc(t1, 0, c);
    t1 = addc(t2, 0, c);
    t2 = addc(t3, ml, c);
    t3 = addc(t4, mh, c);  // t < 2·M < 2^256: no carry out
  }
  std::uint64_t borrow = 0;
  const std::uint64_t d0 = subb(t0, 1, borrow);
  const std::uint64_t d1 = subb(t1, 0, borrow);
  const std::uint64_t d2 = subb(t2, 0, borrow);
  const std::uint64_t d3 = subb(t3, M3, borrow);
  const std::uint64_t keep = 0 - borrow;  // all ones when t < M
  out[0] = (t0 & keep) | (d0 & ~keep);
  out[1] = (t1 & keep) | (d1 & ~keep);
  out[2] = (t2 & keep) | (d2 & ~keep);
  out[3] = (t3 & keep) | (d3 & ~keep);
}

#if defined(__x86_64__) && defined(__GNUC__)
#define CIRO_FELT_ADX 1
/// Whether felt252 products use the mulx/adcx/adox routine below: true when the CPU has BMI2 and
/// ADX (every x86-64 since about 2015). Read on each product (a predicted branch); tests and the
/// benchmark switch it off to compare with the portable routine. Until it is initialised the
/// portable routine runs: both give the same results.
inline bool g_felt_adx = [] {
  __builtin_cpu_init();
  return __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("adx");
}();

/// The same product as mont_mul_sparse with two interleaved carry chains (adcx on CF for the low
/// halves, adox on OF for the high halves) and the accumulator held in five registers that
/// rotate one place a row, so nothing spills. Row i: t += a·b[i]; then with m = -t0 (neg sets CF
/// exactly when t0 != 0, the carry out of t0 + m), t = (t + m·M) / 2^64 adds m·M3 at limbs 3–4.
/// Every intermediate stays below 2^318 (five limbs); the result is canonical.
template <std::uint64_t M3>
inline void mont_mul_sparse_adx(std::uint64_t* out, const std::uint64_t* a, const std::uint64_t* b) {
  std::uint64_t r0, r1, r2, r3, r4, lo, hi, z, dx;
#define CIRO_MONT_ROW(OFF, T0, T1, T2, T3, T4) \
  "movq " #OFF "(%[b]), %%rdx\n\t"             \
  "xorl %k[" #T4 "], %k[" #T4 "]\n\t"          \
  "mulxq 0(%[a]), %[lo], %[hi]\n\t"            \
  "adcxq %[lo], %[" #T0 "]\n\t"                \
  "adoxq %[hi], %[" #T1 "]\n\t"                \
  "mulxq 8(%[a]), %[lo], %[hi]\n\t"            \
  "adcxq %[lo], %[" #T1 "]\n\t"                \
  "adoxq %[hi], %[" #T2 "]\n\t"                \
  "mulxq 16(%[a]), %[lo], %[hi]\n\t"           \
  "adcxq %[lo], %[" #T2 "]\n\t"                \
  "adoxq %[hi], %[" #T3 "]\n\t"                \
  "mulxq 24(%[a]), %[lo], %[hi]\n\t"           \
  "adcxq %[lo], %[" #T3 "]\n\t"                \
  "adoxq %[hi], %[" #T4 "]\n\t"                \
  "adcxq %[z], %[" #T4 "]\n\t"                 \
  "movq %[" #T0 "], %%rdx\n\t"                 \
  "negq %%rdx\n\t"                             \
  "mulxq %[m3], %[lo], %[hi]\n\t"              \
  "adcq %[z], %[" #T1 "]\n\t"                  \
  "adcq %[z], %[" #T2 "]\n\t"                  \
  "adcq %[lo], %[" #T3 "]\n\t"                 \
  "adcq %[hi], %[" #T4 "]\n\t"
  asm("xorl %k[z], %k[z]\n\t"
      "xorl %k[r0], %k[r0]\n\t"
      "xorl %k[r1], %k[r1]\n\t"
      "xorl %k[r2], %k[r2]\n\t"
      "xorl %k[r3], %k[r3]\n\t"
      CIRO_MONT_ROW(0, r0, r1, r2, r3, r4)
      CIRO_MONT_ROW(8, r1, r2, r3, r4, r0)
      CIRO_MONT_ROW(16, r2, r3, r4, r0, r1)
      CIRO_MONT_ROW(24, r3, r4, r0, r1, r2)
      // The result (r4, r0, r1, r2) is below 2·M: take it minus M unless that borrows.
      "movq %[r4], %[lo]\n\t"
      "subq $1, %[lo]\n\t"
      "movq %[r0], %[hi]\n\t"
      "sbbq %[z], %[hi]\n\t"
      "movq %[r1], %%rdx\n\t"
      "sbbq %[z], %%rdx\n\t"
      "movq %[r2], %[r3]\n\t"
      "sbbq %[m3], %[r3]\n\t"
      "cmovncq %[lo], %[r4]\n\t"
      "cmovncq %[hi], %[r0]\n\t"
      "cmovncq %%rdx, %[r1]\n\t"
      "cmovncq %[r3], %[r2]\n\t"
      : [r0] "=&r"(r0), [r1] "=&r"(r1), [r2] "=&r"(r2), [r3] "=&r"(r3), [r4] "=&r"(r4), [lo] "=&r"(lo),
        [hi] "=&r"(hi), [z] "=&r"(z), "=&d"(dx)
      : [a] "r"(a), [b] "r"(b), [m3] "r"(M3), "m"(*reinterpret_cast<const std::uint64_t(*)[4]>(a)),
        "m"(*reinterpret_cast<const std::uint64_t(*)[4]>(b))
      : "cc");
#undef CIRO_MONT_ROW
  out[0] = r4;
  out[1] = r0;
  out[2] = r1;
  out[3] = r2;
}
#endif

}  // namespace detail

struct FeltParams {
  static constexpr U256 MOD{1, 0, 0, 0x0800000000000011ULL};
  static constexpr const char* NAME = "felt252";
};
struct ScalarParams {
  static constexpr U256 MOD{0x1e66a241adc64d2fULL, 0xb781126dcae7b232ULL, 0xffffffffffffffffULL,
                            0x0800000000000010ULL};
  static constexpr const char* NAME = "scalar (mod curve order)";
};

template <class Params>
class FieldElement {
 public:
  static constexpr U256 MOD = Params::MOD;
  static constexpr std::uint64_t INV = detail::neg_inv64(MOD.w[0]);
  static constexpr U256 R1 = detail::pow2_mod(MOD, 256);  ///< Montgomery form of 1
  static constexpr U256 R2 = detail::pow2_mod(MOD, 512);

  constexpr FieldElement() = default;  ///< zero

  static constexpr FieldElement zero() { return FieldElement(); }
  static constexpr FieldElement one() { return from_mont(R1); }
  static FieldElement from_u64(std::uint64_t v) { return from_canonical(U256::from_u64(v)); }
  /// nullopt when v >= MOD (never reduces silently: inputs must be canonical).
  static std::optional<FieldElement> from_u256(const U256& v) {
    if (v >= MOD) return std::nullopt;
    return from_canonical(v);
  }
  /// v mod MOD for any 256-bit v.
  static FieldElement from_u256_reduce(U256 v) {
    while (v >= MOD) sub_borrow(v, v, MOD);
    return from_canonical(v);
  }
  /// Hex (see parse_hex_u256); an error names the value when it is not hex or not < MOD.
  static Result<FieldElement> from_hex(std::string_view text) {
    const auto v = parse_hex_u256(text);
    if (!v) return make_error(Errc::invalid_argument, "not a hex number: '" + std::string(text.substr(0, 80)) + "'");
    auto f = from_u256(*v);
    if (!f) {
      return make_error(Errc::invalid_argument,
                        std::string(Params::NAME) + " out of range (must be < " + blockchain::to_hex(MOD) + "): " + blockchain::to_hex(*v));
    }
    return *f;
  }

  /// Canonical integer value (< MOD).
  U256 to_u256() const {
    U256 out;
    mont_mul(out, m_v, U256::from_u64(1));
    return out;
  }
  std::string to_hex() const { return blockchain::to_hex(to_u256()); }
  bool is_zero() const { return m_v.is_zero(); }
  friend bool operator==(const FieldElement&, const FieldElement&) = default;

  // Branch-free: both results are computed and one is selected by a mask (Poseidon is add-heavy).
  // Scalar limbs through addc/subb, no arrays or unsigned __int128: inlined hundreds of times into
  // one function, those made GCC spill every limb to the stack.
  friend FieldElement operator+(const FieldElement& a, const FieldElement& b) {
    const auto& x = a.m_v.w;
    const auto& y = b.m_v.w;
    std::uint64_t c = 0;  // both < MOD < 2^255: no carry out of the sum
    const std::uint64_t s0 = detail::addc(x[0], y[0], c);
    const std::uint64_t s1 = detail::addc(x[1], y[1], c);
    const std::uint64_t s2 = detail::addc(x[2], y[2], c);
    const std::uint64_t s3 = detail::addc(x[3], y[3], c);
    return select_reduced(s0, s1, s2, s3);
  }
  friend FieldElement operator-(const FieldElement& a, const FieldElement& b) {
    const auto& x = a.m_v.w;
    const auto& y = b.m_v.w;
    std::uint64_t borrow = 0;
    const std::uint64_t d0 = detail::subb(x[0], y[0], borrow);
    const std::uint64_t d1 = detail::subb(x[1], y[1], borrow);
    const std::uint64_t d2 = detail::subb(x[2], y[2], borrow);
    const std::uint64_t d3 = detail::subb(x[3], y[3], borrow);
    const std::uint64_t mask = 0 - borrow;  // add MOD back when a < b
    std::uint64_t c = 0;
    FieldElement r;
    r.m_v.w[0] = detail::addc(d0, MOD.w[0] & mask, c);
    r.m_v.w[1] = detail::addc(d1, MOD.w[1] & mask, c);
    r.m_v.w[2] = detail::addc(d2, MOD.w[2] & mask, c);
    r.m_v.w[3] = detail::addc(d3, MOD.w[3] & mask, c);
    return r;
  }
  FieldElement operator-() const { return FieldElement() - *this; }
  friend FieldElement operator*(const FieldElement& a, const FieldElement& b) {
    FieldElement r;
    mont_mul(r.m_v, a.m_v, b.m_v);
    return r;
  }
  FieldElement& operator+=(const FieldElement& b) { return *this = *this + b; }
  FieldElement& operator-=(const FieldElement& b) { return *this = *this - b; }
  FieldElement& operator*=(const FieldElement& b) { return *this = *this * b; }
  FieldElement square() const { return *this * *this; }
  FieldElement dbl() const { return *this + *this; }

  /// this^e for a plain integer exponent (4-bit fixed window).
  FieldElement pow(const U256& e) const {
    FieldElement table[16];
    table[0] = one();
    for (int i = 1; i < 16; ++i) table[i] = table[i - 1] * *this;
    FieldElement r = one();
    bool started = false;
    for (int i = 63; i >= 0; --i) {
      if (started) r = r.square().square().square().square();
      const unsigned nib = static_cast<unsigned>(e.w[i / 16] >> (4 * (i % 16))) & 0xF;
      if (nib != 0) {
        r = started ? r * table[nib] : table[nib];
        started = true;
      }
    }
    return r;
  }
  /// Multiplicative inverse (Fermat); zero maps to zero, so callers check is_zero() first.
  FieldElement inverse() const {
    U256 e;
    sub_borrow(e, MOD, U256::from_u64(2));
    return pow(e);
  }

  /// Raw Montgomery limbs, for tables and tests.
  const U256& mont() const { return m_v; }
  static constexpr FieldElement from_mont(const U256& v) {
    FieldElement r;
    r.m_v = v;
    return r;
  }

 private:
  /// s mod MOD for s < 2·MOD: s - MOD when that does not borrow, else s (branch-free).
  static FieldElement select_reduced(std::uint64_t s0, std::uint64_t s1, std::uint64_t s2, std::uint64_t s3) {
    std::uint64_t borrow = 0;
    const std::uint64_t d0 = detail::subb(s0, MOD.w[0], borrow);
    const std::uint64_t d1 = detail::subb(s1, MOD.w[1], borrow);
    const std::uint64_t d2 = detail::subb(s2, MOD.w[2], borrow);
    const std::uint64_t d3 = detail::subb(s3, MOD.w[3], borrow);
    const std::uint64_t keep = 0 - borrow;  // all ones when s < MOD
    FieldElement r;
    r.m_v.w[0] = (s0 & keep) | (d0 & ~keep);
    r.m_v.w[1] = (s1 & keep) | (d1 & ~keep);
    r.m_v.w[2] = (s2 & keep) | (d2 & ~keep);
    r.m_v.w[3] = (s3 & keep) | (d3 & ~keep);
    return r;
  }

  static FieldElement from_canonical(const U256& v) {
    FieldElement r;
    mont_mul(r.m_v, v, R2);
    return r;
  }

  // CIOS Montgomery multiplication: out = a·b·2^-256 mod MOD, for a, b < MOD < 2^252. MOD is a
  // compile-time constant, so its zero limbs (felt252 has two) fold away.
  static inline void mont_mul(U256& out, const U256& a, const U256& b) {
    if constexpr (MOD.w[0] == 1 && MOD.w[1] == 0 && MOD.w[2] == 0) {
#if defined(CIRO_FELT_ADX)
      if (detail::g_felt_adx) {
        detail::mont_mul_sparse_adx<MOD.w[3]>(out.w.data(), a.w.data(), b.w.data());
        return;
      }
#endif
      detail::mont_mul_sparse<MOD.w[3]>(out.w.data(), a.w.data(), b.w.data());
      return;
    }
    using u128 = unsigned __int128;
    std::uint64_t t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4 = 0;
    for (int i = 0; i < 4; ++i) {
      const std::uint64_t bi = b.w[i];
      u128 c = static_cast<u128>(a.w[0]) * bi + t0;
      t0 = static_cast<std::uint64_t>(c);
      c = static_cast<u128>(a.w[1]) * bi + t1 + (c >> 64);
      t1 = static_cast<std::uint64_t>(c);
      c = static_cast<u128>(a.w[2]) * bi + t2 + (c >> 64);
      t2 = static_cast<std::uint64_t>(c);
      c = static_cast<u128>(a.w[3]) * bi + t3 + (c >> 64);
      t3 = static_cast<std::uint64_t>(c);
      t4 += static_cast<std::uint64_t>(c >> 64);

      const std::uint64_t m = t0 * INV;
      c = static_cast<u128>(m) * MOD.w[0] + t0;
      c = static_cast<u128>(m) * MOD.w[1] + t1 + (c >> 64);
      t0 = static_cast<std::uint64_t>(c);
      c = static_cast<u128>(m) * MOD.w[2] + t2 + (c >> 64);
      t1 = static_cast<std::uint64_t>(c);
      c = static_cast<u128>(m) * MOD.w[3] + t3 + (c >> 64);
      t2 = static_cast<std::uint64_t>(c);
      c = static_cast<u128>(t4) + (c >> 64);
      t3 = static_cast<std::uint64_t>(c);
      t4 = static_cast<std::uint64_t>(c >> 64);
    }
    // t < 2·MOD because MOD < 2^254; subtract MOD once, branch-free.
    const std::uint64_t t[4] = {t0, t1, t2, t3};
    std::uint64_t d[4];
    std::uint64_t borrow = 0;
    for (int i = 0; i < 4; ++i) {
      const u128 x = static_cast<u128>(t[i]) - MOD.w[i] - borrow;
      d[i] = static_cast<std::uint64_t>(x);
      borrow = static_cast<std::uint64_t>(x >> 64) & 1U;
    }
    const std::uint64_t keep = 0 - borrow;  // all ones when t < MOD
    for (int i = 0; i < 4; ++i) out.w[i] = (t[i] & keep) | (d[i] & ~keep);
  }

  U256 m_v;  ///< Montgomery form, always < MOD
};

using Felt = FieldElement<FeltParams>;
using Scalar = FieldElement<ScalarParams>;

/// Square root in felt252 (Tonelli–Shanks; P - 1 = 2^192·q); nullopt for a non-residue.
std::optional<Felt> felt_sqrt(const Felt& a);

/// 2^251: the bound on message hashes, r and s^-1 in Stark ECDSA.
inline constexpr U256 ELEMENT_UPPER_BOUND{0, 0, 0, 0x0800000000000000ULL};

}  // namespace ciro::blockchain
