#include <algorithm>
#include <array>
#include <cstdlib>
#include <vector>

#include "blockchain/curve.h"
#include "blockchain/hash.h"

namespace ciro::blockchain {

namespace {

// Signed fixed-base windows for the 248-bit low parts: k = sum of d_i·2^(12·i) with digits d_i
// in [-2047, 2048], so k·B is at most 21 mixed additions from a table of j·2^(12·i)·B for
// j = 1..2048 (-d uses the point with y negated). 21 windows of 2,048 points are 2.75 MiB a base
// (one 64-byte cache line a point), built on first use. Against 8-bit unsigned windows this is
// 44 additions a hash instead of 64.
constexpr unsigned WINDOW_BITS = 12;
constexpr unsigned LOW_BITS = 248;
constexpr unsigned WINDOWS = (LOW_BITS + WINDOW_BITS - 1) / WINDOW_BITS;  // 21; the top one holds 8 bits
constexpr unsigned HALF = 1U << (WINDOW_BITS - 1);

struct alignas(64) TablePoint {
  Felt x;
  Felt y;
};

class SignedWindowTable {
 public:
  explicit SignedWindowTable(const AffinePoint& base) : m_points(static_cast<std::size_t>(WINDOWS) * HALF) {
    std::vector<JacobianPoint> window(HALF);
    AffinePoint b = base;  // 2^(12·i)·base
    for (unsigned w = 0; w < WINDOWS; ++w) {
      window[0] = JacobianPoint::from_affine(b);
      for (unsigned j = 1; j < HALF; ++j) window[j] = point_add_mixed(window[j - 1], b);
      const std::vector<AffinePoint> affine = batch_to_affine(window);
      for (unsigned j = 0; j < HALF; ++j) m_points[static_cast<std::size_t>(w) * HALF + j] = {affine[j].x, affine[j].y};
      b = to_affine(point_double(window[HALF - 1]));  // 2·2048·b = 4096·b
    }
  }
  /// The entry for |digit| (1..2048) in window w.
  const TablePoint& at(unsigned w, unsigned magnitude) const {
    return m_points[static_cast<std::size_t>(w) * HALF + (magnitude - 1)];
  }

 private:
  std::vector<TablePoint> m_points;
};

/// Signed 12-bit digits of the low 248 bits of v.
std::array<int, WINDOWS> recode(const U256& v) {
  std::array<int, WINDOWS> d{};
  unsigned carry = 0;
  for (unsigned w = 0; w < WINDOWS; ++w) {
    const unsigned bit = w * WINDOW_BITS;
    std::uint64_t bits = v.w[bit / 64] >> (bit % 64);
    if (bit % 64 + WINDOW_BITS > 64 && bit / 64 + 1 < 4) bits |= v.w[bit / 64 + 1] << (64 - bit % 64);
    const unsigned width = std::min(WINDOW_BITS, LOW_BITS - bit);
    const unsigned value = static_cast<unsigned>(bits & ((1ULL << width) - 1)) + carry;
    if (value > HALF) {  // only below the top window, which holds 8 bits
      d[w] = static_cast<int>(value) - static_cast<int>(1U << WINDOW_BITS);
      carry = 1;
    } else {
      d[w] = static_cast<int>(value);
      carry = 0;
    }
  }
  return d;
}

AffinePoint point_from_hex(const char* x, const char* y) {
  return AffinePoint{*Felt::from_u256(*parse_hex_u256(x)), *Felt::from_u256(*parse_hex_u256(y)), false};
}

// P0 is the shift point; a's low 248 bits multiply P1 and its high 4 bits P2; b uses P3 and P4.
struct PedersenTables {
  AffinePoint p0;
  SignedWindowTable p1;
  FixedBaseTable p2;
  SignedWindowTable p3;
  FixedBaseTable p4;
  PedersenTables()
      : p0(point_from_hex("0x49ee3eba8c1600700ee1b87eb599f16716b0b1022947733551fde4050ca6804",
                          "0x3ca0cfe4b3bc6ddf346d49d06ea0ed34e621062c0e056c1d0405d266e10268a")),
        p1(point_from_hex("0x234287dcbaffe7f969c748655fca9e58fa8120b6d56eb0c1080d17957ebe47b",
                          "0x3b056f100f96fb21e889527d41f4e39940135dd7a6c94cc6ed0268ee89e5615")),
        p2(point_from_hex("0x4fa56f376c83db33f9dab2656558f3399099ec1de5e3018b7a6932dba8aa378",
                          "0x3fa0984c931c9e38113e0c0e47e4401562761f92a7a23b45168f4e80ff5b54d"), 1),
        p3(point_from_hex("0x4ba4cc166be8dec764910f75b45f74b40c690c74709e90f3aa372f0bd2d6997",
                          "0x40301cf5c1751f4b971e46c4ede85fcac5c59a5ce5ae7c48151f27b24b219c")),
        p4(point_from_hex("0x54302dcb0e6cc1c6e44cca8f61a63bb2ca65048d53fb325d36ff12c49a58202",
                          "0x1b77b3e37d13504b348046268d8ae25ce98ad783c25561a879dcc77e99c2426"), 1) {}
};

const PedersenTables& tables() {
  static const PedersenTables t;
  return t;
}

struct Input {
  std::array<int, WINDOWS> digits;
  std::uint8_t high;  // bits 248..251
};

Input prepare(const Felt& v, const SignedWindowTable& table) {
  const U256 k = v.to_u256();
  Input in{recode(k), static_cast<std::uint8_t>(k.w[3] >> 56)};
  // Every entry is known now: start loading them all before the first addition needs one.
  for (unsigned w = 0; w < WINDOWS; ++w) {
    if (in.digits[w] != 0) __builtin_prefetch(&table.at(w, static_cast<unsigned>(std::abs(in.digits[w]))));
  }
  return in;
}

void add_input(JacobianPoint& acc, const Input& in, const SignedWindowTable& low, const FixedBaseTable& high) {
  for (unsigned w = 0; w < WINDOWS; ++w) {
    const int d = in.digits[w];
    if (d == 0) continue;
    const TablePoint& e = low.at(w, static_cast<unsigned>(std::abs(d)));
    acc = point_add_mixed(acc, AffinePoint{e.x, d > 0 ? e.y : -e.y, false});
  }
  if (in.high != 0) acc = point_add_mixed(acc, high.entry(0, in.high));
}

}  // namespace

Felt pedersen_hash(const Felt& a, const Felt& b) {
  const PedersenTables& t = tables();
  const Input ia = prepare(a, t.p1);
  const Input ib = prepare(b, t.p3);
  JacobianPoint acc = JacobianPoint::from_affine(t.p0);
  add_input(acc, ia, t.p1, t.p2);
  add_input(acc, ib, t.p3, t.p4);
  return to_affine(acc).x;
}

Result<Felt> pedersen_hash(const U256& a, const U256& b) {
  const auto fa = Felt::from_u256(a);
  if (!fa) return make_error(Errc::invalid_argument, "pedersen input a must be < P: " + to_hex(a));
  const auto fb = Felt::from_u256(b);
  if (!fb) return make_error(Errc::invalid_argument, "pedersen input b must be < P: " + to_hex(b));
  return pedersen_hash(*fa, *fb);
}

Felt compute_hash_on_elements(std::span<const Felt> elements) {
  Felt acc = Felt::zero();
  for (const Felt& e : elements) acc = pedersen_hash(acc, e);
  return pedersen_hash(acc, Felt::from_u64(elements.size()));
}

}  // namespace ciro::blockchain
