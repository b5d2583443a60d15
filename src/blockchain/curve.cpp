#include "blockchain/curve.h"

#include <algorithm>

namespace ciro::blockchain {

namespace {

struct CurveConstants {
  Felt beta;
  AffinePoint g;
  CurveConstants() {
    beta = *Felt::from_u256(*parse_hex_u256("0x6f21413efbe40de150e596d72f7a8c5609ad26c15c915c1f4cdfcb99cee9e89"));
    g.x = *Felt::from_u256(*parse_hex_u256("0x1ef15c18599971b7beced415a40f0c7deacfd9b0d1819e03d723d8bc943cfca"));
    g.y = *Felt::from_u256(*parse_hex_u256("0x5668060aa49730b7be4801df46ec62de53ecd11abe43a32873000c36e8dc1f"));
  }
};

const CurveConstants& constants() {
  static const CurveConstants c;
  return c;
}

// Square roots. P - 1 = 2^192·q (q = 2^59 + 17), so plain Tonelli–Shanks costs ~192^2/2
// squarings. Instead the discrete log e of t = a^q to the base g (a generator of the 2^192-order
// subgroup) is found 8 bits at a time with lookup tables (Bernstein, "Faster square roots in
// annoying finite fields"): ~2,200 squarings. Then sqrt(a) = a^((q+1)/2)·g^(-e/2).
struct SqrtTables {
  static constexpr int CHUNKS = 24;  // 192 / 8
  U256 q;
  U256 q_plus_1_half;
  std::vector<Felt> neg_pow;  ///< [k*256 + j] = g^(-j·2^(8k))
  std::vector<std::pair<U256, unsigned>> small_log;  ///< (h^j, j) for h = g^(2^184), sorted
  SqrtTables() {
    const U256 pm1(0, 0, 0, 0x0800000000000011ULL);  // P - 1
    q = shr(pm1, 192);
    U256 qp1;
    add_carry(qp1, q, U256::from_u64(1));
    q_plus_1_half = shr(qp1, 1);
    const U256 half = shr(pm1, 1);
    const Felt minus_one = -Felt::one();
    Felt g;
    for (std::uint64_t z = 2;; ++z) {
      const Felt fz = Felt::from_u64(z);
      if (fz.pow(half) == minus_one) {
        g = fz.pow(q);
        break;
      }
    }
    neg_pow.resize(static_cast<std::size_t>(CHUNKS) * 256);
    Felt base = g.inverse();  // g^(-2^(8k)) for the current k
    for (int k = 0; k < CHUNKS; ++k) {
      Felt acc = Felt::one();
      for (int j = 0; j < 256; ++j) {
        neg_pow[static_cast<std::size_t>(k) * 256 + j] = acc;
        acc = acc * base;
      }
      base = acc;  // base^256
    }
    Felt h = g;
    for (int i = 0; i < 184; ++i) h = h.square();
    Felt acc = Felt::one();
    for (unsigned j = 0; j < 256; ++j) {
      small_log.emplace_back(acc.mont(), j);
      acc = acc * h;
    }
    std::sort(small_log.begin(), small_log.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  }
  std::optional<unsigned> log_small(const Felt& u) const {
    const auto it = std::lower_bound(small_log.begin(), small_log.end(), u.mont(),
                                     [](const auto& e, const U256& v) { return e.first < v; });
    if (it == small_log.end() || !(it->first == u.mont())) return std::nullopt;
    return it->second;
  }
};

const SqrtTables& sqrt_tables() {
  static const SqrtTables s;
  return s;
}

}  // namespace

std::optional<Felt> felt_sqrt(const Felt& a) {
  if (a.is_zero()) return Felt::zero();
  const SqrtTables& st = sqrt_tables();
  const Felt t = a.pow(st.q);
  Felt r = a.pow(st.q_plus_1_half);
  if (t == Felt::one()) return r;
  // e with t = g^e, low chunk first: t_k = t·g^(-(e mod 2^(8k))) = g^(2^(8k)·(e >> 8k)).
  U256 e;
  Felt tk = t;
  for (int k = 0; k < SqrtTables::CHUNKS; ++k) {
    Felt u = tk;
    for (int i = 0; i < 184 - 8 * k; ++i) u = u.square();
    const auto digit = st.log_small(u);
    if (!digit) return std::nullopt;  // cannot happen for elements of the 2-Sylow subgroup
    e.w[(8 * k) / 64] |= static_cast<std::uint64_t>(*digit) << ((8 * k) % 64);
    tk = tk * st.neg_pow[static_cast<std::size_t>(k) * 256 + *digit];
  }
  if (e.bit(0)) return std::nullopt;  // odd log: a is not a square
  const U256 half_e = shr(e, 1);
  for (int k = 0; k < SqrtTables::CHUNKS; ++k) {
    const unsigned digit = static_cast<unsigned>(half_e.w[(8 * k) / 64] >> ((8 * k) % 64)) & 0xFF;
    if (digit != 0) r = r * st.neg_pow[static_cast<std::size_t>(k) * 256 + digit];
  }
  return r;
}

const Felt& curve_beta() { return constants().beta; }
const AffinePoint& generator() { return constants().g; }

bool is_on_curve(const AffinePoint& p) {
  if (p.infinity) return true;
  return p.y.square() == p.x.square() * p.x + p.x + curve_beta();
}

std::optional<AffinePoint> point_from_x(const Felt& x) {
  const Felt rhs = x.square() * x + x + curve_beta();
  auto y = felt_sqrt(rhs);
  if (!y) return std::nullopt;
  Felt yv = *y;
  const Felt neg = -yv;
  if (neg.to_u256() < yv.to_u256()) yv = neg;
  return AffinePoint{x, yv, false};
}

// dbl-2007-bl with a = 1: M = 3·X^2 + Z^4.
JacobianPoint point_double(const JacobianPoint& p) {
  if (p.is_infinity() || p.y.is_zero()) return JacobianPoint::infinity();
  const Felt xx = p.x.square();
  const Felt yy = p.y.square();
  const Felt yyyy = yy.square();
  const Felt zz = p.z.square();
  const Felt s = ((p.x + yy).square() - xx - yyyy).dbl();
  const Felt m = xx.dbl() + xx + zz.square();
  const Felt t = m.square() - s.dbl();
  JacobianPoint r;
  r.x = t;
  r.y = m * (s - t) - yyyy.dbl().dbl().dbl();
  r.z = (p.y + p.z).square() - yy - zz;
  return r;
}

// add-2007-bl.
JacobianPoint point_add(const JacobianPoint& p, const JacobianPoint& q) {
  if (p.is_infinity()) return q;
  if (q.is_infinity()) return p;
  const Felt z1z1 = p.z.square();
  const Felt z2z2 = q.z.square();
  const Felt u1 = p.x * z2z2;
  const Felt u2 = q.x * z1z1;
  const Felt s1 = p.y * q.z * z2z2;
  const Felt s2 = q.y * p.z * z1z1;
  const Felt h = u2 - u1;
  const Felt rr = (s2 - s1).dbl();
  if (h.is_zero()) {
    if (rr.is_zero()) return point_double(p);
    return JacobianPoint::infinity();
  }
  const Felt i = h.dbl().square();
  const Felt j = h * i;
  const Felt v = u1 * i;
  JacobianPoint r;
  r.x = rr.square() - j - v.dbl();
  r.y = rr * (v - r.x) - (s1 * j).dbl();
  r.z = ((p.z + q.z).square() - z1z1 - z2z2) * h;
  return r;
}

// madd-2007-bl.
JacobianPoint point_add_mixed(const JacobianPoint& p, const AffinePoint& q) {
  if (q.infinity) return p;
  if (p.is_infinity()) return JacobianPoint::from_affine(q);
  const Felt z1z1 = p.z.square();
  const Felt u2 = q.x * z1z1;
  const Felt s2 = q.y * p.z * z1z1;
  const Felt h = u2 - p.x;
  const Felt rr = (s2 - p.y).dbl();
  if (h.is_zero()) {
    if (rr.is_zero()) return point_double(p);
    return JacobianPoint::infinity();
  }
  const Felt hh = h.square();
  const Felt i = hh.dbl().dbl();
  const Felt j = h * i;
  const Felt v = p.x * i;
  JacobianPoint r;
  r.x = rr.square() - j - v.dbl();
  r.y = rr * (v - r.x) - (p.y * j).dbl();
  r.z = (p.z + h).square() - z1z1 - hh;
  return r;
}

JacobianPoint point_neg(const JacobianPoint& p) { return JacobianPoint{p.x, -p.y, p.z}; }

AffinePoint to_affine(const JacobianPoint& p) {
  if (p.is_infinity()) return AffinePoint{Felt::zero(), Felt::zero(), true};
  const Felt zi = p.z.inverse();
  const Felt zi2 = zi.square();
  return AffinePoint{p.x * zi2, p.y * zi2 * zi, false};
}

std::vector<AffinePoint> batch_to_affine(std::span<const JacobianPoint> points) {
  std::vector<AffinePoint> out(points.size());
  std::vector<Felt> prefix(points.size());
  Felt acc = Felt::one();
  for (std::size_t i = 0; i < points.size(); ++i) {
    prefix[i] = acc;
    if (!points[i].is_infinity()) acc = acc * points[i].z;
  }
  Felt inv = acc.inverse();
  for (std::size_t i = points.size(); i-- > 0;) {
    if (points[i].is_infinity()) {
      out[i] = AffinePoint{Felt::zero(), Felt::zero(), true};
      continue;
    }
    const Felt zi = inv * prefix[i];
    inv = inv * points[i].z;
    const Felt zi2 = zi.square();
    out[i] = AffinePoint{points[i].x * zi2, points[i].y * zi2 * zi, false};
  }
  return out;
}

std::array<std::uint8_t, 32> to_le_bytes(const U256& v) {
  std::array<std::uint8_t, 32> out{};
  for (int i = 0; i < 32; ++i) out[i] = static_cast<std::uint8_t>(v.w[i / 8] >> (8 * (i % 8)));
  return out;
}

JacobianPoint scalar_mul(const AffinePoint& p, const U256& k) {
  if (p.infinity || k.is_zero()) return JacobianPoint::infinity();
  JacobianPoint table[16];
  table[0] = JacobianPoint::infinity();
  table[1] = JacobianPoint::from_affine(p);
  for (int i = 2; i < 16; ++i) table[i] = (i % 2 == 0) ? point_double(table[i / 2]) : point_add_mixed(table[i - 1], p);
  const auto affine = batch_to_affine(std::span<const JacobianPoint>(table + 1, 15));
  JacobianPoint acc = JacobianPoint::infinity();
  const int top = static_cast<int>((k.bit_length() + 3) / 4) - 1;
  for (int i = top; i >= 0; --i) {
    if (i != top) acc = point_double(point_double(point_double(point_double(acc))));
    const unsigned nib = static_cast<unsigned>(k.w[i / 16] >> (4 * (i % 16))) & 0xF;
    if (nib != 0) acc = point_add_mixed(acc, affine[nib - 1]);
  }
  return acc;
}

FixedBaseTable::FixedBaseTable(const AffinePoint& base, unsigned windows) : m_windows(windows) {
  std::vector<JacobianPoint> jac;
  jac.reserve(static_cast<std::size_t>(windows) * 255);
  JacobianPoint b = JacobianPoint::from_affine(base);
  for (unsigned w = 0; w < windows; ++w) {
    JacobianPoint cur = b;
    for (unsigned d = 1; d <= 255; ++d) {
      jac.push_back(cur);
      cur = point_add(cur, b);
    }
    b = cur;  // 256·b
  }
  m_entries = batch_to_affine(jac);
}

void FixedBaseTable::mul_add(JacobianPoint& acc, std::span<const std::uint8_t> k_le) const {
  const std::size_t n = std::min<std::size_t>(k_le.size(), m_windows);
  for (std::size_t i = 0; i < n; ++i) {
    if (k_le[i] != 0) acc = point_add_mixed(acc, entry(static_cast<unsigned>(i), k_le[i]));
  }
}

const FixedBaseTable& generator_table() {
  static const FixedBaseTable table(generator(), 32);
  return table;
}

namespace {

constexpr unsigned CT_WIDTH = 5;
constexpr unsigned CT_WINDOWS = 51;                      // 50 recoded digits of a 252-bit k, then the rest
constexpr unsigned CT_ENTRIES = 1U << (CT_WIDTH - 1);  // odd multiples 1, 3, ..., 31

struct SecretTable {
  std::vector<AffinePoint> entries;  ///< [w * 16 + j] = (2j + 1)·2^(5w)·G
  SecretTable() {
    std::vector<JacobianPoint> jac;
    jac.reserve(static_cast<std::size_t>(CT_WINDOWS) * CT_ENTRIES);
    JacobianPoint base = JacobianPoint::from_affine(generator());
    for (unsigned w = 0; w < CT_WINDOWS; ++w) {
      const JacobianPoint twice = point_double(base);
      JacobianPoint odd = base;
      for (unsigned j = 0; j < CT_ENTRIES; ++j) {
        jac.push_back(odd);
        odd = point_add(odd, twice);
      }
      for (unsigned i = 0; i < CT_WIDTH; ++i) base = point_double(base);
    }
    entries = batch_to_affine(jac);
  }
};

const SecretTable& secret_table() {
  static const SecretTable t;
  return t;
}

std::uint64_t mask_if(bool c) { return 0 - static_cast<std::uint64_t>(c); }

U256 select(std::uint64_t mask, const U256& a, const U256& b) {  // mask ? a : b
  U256 r;
  for (int i = 0; i < 4; ++i) r.w[i] = (a.w[i] & mask) | (b.w[i] & ~mask);
  return r;
}

// Window w's entry for an odd digit d in [-31, 31], read without a secret-dependent address.
AffinePoint secret_entry(const SecretTable& t, unsigned w, std::int64_t d) {
  const std::uint64_t negative = mask_if(d < 0);
  const std::uint64_t magnitude = static_cast<std::uint64_t>((d ^ static_cast<std::int64_t>(negative)) - static_cast<std::int64_t>(negative));
  const std::uint64_t index = magnitude >> 1;  // (|d| - 1) / 2
  U256 x, y;
  for (unsigned j = 0; j < CT_ENTRIES; ++j) {
    const std::uint64_t hit = mask_if(index == j);
    const AffinePoint& e = t.entries[static_cast<std::size_t>(w) * CT_ENTRIES + j];
    for (int i = 0; i < 4; ++i) {
      x.w[i] |= e.x.mont().w[i] & hit;
      y.w[i] |= e.y.mont().w[i] & hit;
    }
  }
  const Felt fy = Felt::from_mont(y);
  const Felt ny = -fy;
  return AffinePoint{Felt::from_mont(x), Felt::from_mont(select(negative, ny.mont(), fy.mont())), false};
}

}  // namespace

JacobianPoint generator_mul_secret(const U256& k) {
  const SecretTable& t = secret_table();
  // k odd, or N - k (odd as N is odd) with the result negated at the end.
  U256 n_minus_k;
  sub_borrow(n_minus_k, ScalarParams::MOD, k);
  const std::uint64_t flip = mask_if((k.w[0] & 1) == 0);
  U256 v = select(flip, n_minus_k, k);
  JacobianPoint acc;
  for (unsigned w = 0; w < CT_WINDOWS; ++w) {
    std::int64_t d;
    if (w + 1 < CT_WINDOWS) {
      // d = (v mod 64) - 32: odd in [-31, 31]; v = (v - d) / 32 stays odd.
      d = static_cast<std::int64_t>(v.w[0] & 63) - 32;
      U256 minus_d;  // -d as a 256-bit two's complement value
      const std::uint64_t sign = mask_if(d > 0);  // -d negative
      minus_d.w[0] = static_cast<std::uint64_t>(-d);
      minus_d.w[1] = minus_d.w[2] = minus_d.w[3] = sign;
      add_carry(v, v, minus_d);
      v = shr(v, CT_WIDTH);
    } else {
      d = static_cast<std::int64_t>(v.w[0]);  // 1, 3 or 5 after 50 windows of a value below 2^252
    }
    const AffinePoint e = secret_entry(t, w, d);
    acc = w == 0 ? JacobianPoint::from_affine(e) : point_add_mixed(acc, e);
  }
  const Felt ny = -acc.y;
  acc.y = Felt::from_mont(select(flip, ny.mont(), acc.y.mont()));
  return acc;
}

JacobianPoint generator_mul(const U256& k) {
  JacobianPoint acc = JacobianPoint::infinity();
  const auto le = to_le_bytes(k);
  generator_table().mul_add(acc, le);
  return acc;
}

}  // namespace ciro::blockchain
