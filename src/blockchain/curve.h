#pragma once
// The Stark curve y^2 = x^3 + x + beta over felt252: affine and Jacobian points, group law,
// scalar multiplication (variable base, 4-bit windows) and fixed-base tables (8-bit windows of
// affine multiples) for the generator (Pedersen keeps its own signed-window tables, pedersen.cpp).
// The tables are built once, on first use, behind a thread-safe function-local static, and are
// read-only afterwards.

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "blockchain/field.h"

namespace ciro::blockchain {

struct AffinePoint {
  Felt x;
  Felt y;
  bool infinity = false;
  friend bool operator==(const AffinePoint&, const AffinePoint&) = default;
};

/// (X, Y, Z) represents (X/Z^2, Y/Z^3); Z = 0 is the point at infinity.
struct JacobianPoint {
  Felt x;
  Felt y;
  Felt z;

  static JacobianPoint infinity() { return JacobianPoint{Felt::one(), Felt::one(), Felt::zero()}; }
  static JacobianPoint from_affine(const AffinePoint& p) {
    if (p.infinity) return infinity();
    return JacobianPoint{p.x, p.y, Felt::one()};
  }
  bool is_infinity() const { return z.is_zero(); }
};

/// Curve constants.
const Felt& curve_beta();
const AffinePoint& generator();

bool is_on_curve(const AffinePoint& p);
/// The point with this x and the y whose canonical value is the smaller of the two (y, -y);
/// nullopt when x is not the x-coordinate of a curve point.
std::optional<AffinePoint> point_from_x(const Felt& x);

JacobianPoint point_double(const JacobianPoint& p);
JacobianPoint point_add(const JacobianPoint& p, const JacobianPoint& q);
JacobianPoint point_add_mixed(const JacobianPoint& p, const AffinePoint& q);
JacobianPoint point_neg(const JacobianPoint& p);
AffinePoint to_affine(const JacobianPoint& p);
/// Affine forms of many points with one field inversion.
std::vector<AffinePoint> batch_to_affine(std::span<const JacobianPoint> points);

/// k·P for a plain integer k (any 256-bit value; the group order is not applied).
JacobianPoint scalar_mul(const AffinePoint& p, const U256& k);

/// Precomputed multiples j·256^i·B (j = 1..255) of one base point, for `windows` 8-bit windows:
/// k·B costs one mixed addition per non-zero byte of k and no doubling.
class FixedBaseTable {
 public:
  FixedBaseTable(const AffinePoint& base, unsigned windows);
  /// acc += k·B, where k is given by its little-endian bytes (at most `windows` bytes are read).
  void mul_add(JacobianPoint& acc, std::span<const std::uint8_t> k_le) const;
  const AffinePoint& entry(unsigned window, unsigned digit) const {
    return m_entries[window * 255 + (digit - 1)];
  }
  unsigned windows() const { return m_windows; }

 private:
  unsigned m_windows;
  std::vector<AffinePoint> m_entries;
};

/// The generator's table (32 windows); built on first call.
const FixedBaseTable& generator_table();
/// k·G through the table (for public k: lookups and additions depend on k's bytes).
JacobianPoint generator_mul(const U256& k);
/// k·G for a secret k in [1, N) (a private key, an ECDSA nonce) with memory accesses and branches
/// that do not depend on k: k is made odd (N - k when even, which only negates the point, and the
/// sign is put back with a mask), recoded into 51 odd signed 5-bit digits, and each window's entry
/// is read by scanning all 16 odd multiples of its table and keeping one with masks.
JacobianPoint generator_mul_secret(const U256& k);

/// Little-endian bytes of a U256.
std::array<std::uint8_t, 32> to_le_bytes(const U256& v);

}  // namespace ciro::blockchain
