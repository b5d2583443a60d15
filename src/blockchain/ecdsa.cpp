#include "blockchain/ecdsa.h"

#include <sodium.h>

#include <string>

namespace ciro::blockchain {

namespace {

using Bytes32 = std::array<std::uint8_t, 32>;

Bytes32 hmac(const Bytes32& key, std::initializer_list<std::span<const std::uint8_t>> parts) {
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, key.data(), key.size());
  for (const auto& p : parts) crypto_auth_hmacsha256_update(&st, p.data(), p.size());
  Bytes32 out{};
  crypto_auth_hmacsha256_final(&st, out.data());
  return out;
}

bool in_range(const U256& v, const U256& lo, const U256& hi_excl) { return v >= lo && v < hi_excl; }

const U256 ONE = U256::from_u64(1);

Result<Scalar> check_private_key(const U256& private_key) {
  if (!in_range(private_key, ONE, Scalar::MOD)) {
    return make_error(Errc::invalid_argument, "private key must be in [1, N)");
  }
  return *Scalar::from_u256(private_key);
}

// x(R) mod N == r, tested without an inversion: X == r'·Z^2 for r' in {r, r + N} below P.
bool x_matches(const JacobianPoint& p, const U256& r) {
  if (p.is_infinity()) return false;
  const Felt zz = p.z.square();
  if (const auto fr = Felt::from_u256(r); fr && p.x == *fr * zz) return true;
  U256 r2;
  if (add_carry(r2, r, Scalar::MOD) == 0) {
    if (const auto fr2 = Felt::from_u256(r2); fr2 && p.x == *fr2 * zz) return true;
  }
  return false;
}

struct Prepared {
  U256 u1;
  U256 u2;
};

Result<Prepared> prepare_verify(const U256& message_hash, const Signature& sig) {
  if (!in_range(sig.r, ONE, ELEMENT_UPPER_BOUND)) return make_error(Errc::invalid_argument, "signature r must be in [1, 2^251)");
  if (!in_range(sig.s, ONE, Scalar::MOD)) return make_error(Errc::invalid_argument, "signature s must be in [1, N)");
  if (!(message_hash < ELEMENT_UPPER_BOUND)) return make_error(Errc::invalid_argument, "message hash must be < 2^251");
  const Scalar w = Scalar::from_u256(sig.s)->inverse();
  if (!(w.to_u256() < ELEMENT_UPPER_BOUND)) return make_error(Errc::invalid_argument, "signature s^-1 must be < 2^251");
  const Scalar z = *Scalar::from_u256(message_hash);  // < 2^251 < N
  const Scalar r = *Scalar::from_u256(sig.r);
  return Prepared{(z * w).to_u256(), (r * w).to_u256()};
}

}  // namespace

Result<AffinePoint> get_public_point(const U256& private_key) {
  CIRO_TRY(const Scalar d, check_private_key(private_key));
  (void)d;
  return to_affine(generator_mul_secret(private_key));
}

Result<Felt> get_public_key(const U256& private_key) {
  CIRO_TRY(const AffinePoint p, get_public_point(private_key));
  return p.x;
}

U256 generate_k(const U256& message_hash, const U256& private_key, std::optional<U256> seed, NonceStyle style) {
  const Bytes32 x = to_be_bytes(private_key);
  const Bytes32 h = to_be_bytes(message_hash);
  const std::string extra = seed ? minimal_be_bytes(*seed) : std::string();
  const std::span<const std::uint8_t> extra_span(reinterpret_cast<const std::uint8_t*>(extra.data()), extra.size());
  const std::uint8_t zero = 0x00, one = 0x01;
  Bytes32 v, k;
  v.fill(0x01);
  k.fill(0x00);
  k = hmac(k, {v, {&zero, 1}, x, h, extra_span});
  v = hmac(k, {v});
  k = hmac(k, {v, {&one, 1}, x, h, extra_span});
  v = hmac(k, {v});
  for (;;) {
    v = hmac(k, {v});
    U256 cand = from_be_bytes(v);
    // bits2int keeps the top 252 of 256 bits; scure measures the length without leading zero bytes.
    if (style == NonceStyle::starkware || v[0] != 0) cand = shr(cand, 4);
    if (!cand.is_zero() && cand < Scalar::MOD) return cand;
    k = hmac(k, {v, {&zero, 1}});
    v = hmac(k, {v});
  }
}

Result<Signature> sign_with_k(const U256& private_key, const U256& message_hash, const U256& k) {
  CIRO_TRY(const Scalar d, check_private_key(private_key));
  if (!(message_hash < ELEMENT_UPPER_BOUND)) return make_error(Errc::invalid_argument, "message hash must be < 2^251");
  if (!in_range(k, ONE, Scalar::MOD)) return make_error(Errc::invalid_argument, "k must be in [1, N)");
  const AffinePoint rp = to_affine(generator_mul_secret(k));
  const U256 r = rp.x.to_u256();  // compared to 2^251 before any reduction, like the reference
  if (!in_range(r, ONE, ELEMENT_UPPER_BOUND)) return make_error(Errc::invalid_argument, "r out of range for this k");
  const Scalar rs = *Scalar::from_u256(r);
  const Scalar zs = *Scalar::from_u256(message_hash);
  const Scalar sum = zs + rs * d;
  if (sum.is_zero()) return make_error(Errc::invalid_argument, "z + r·d = 0 for this k");
  const Scalar ks = *Scalar::from_u256(k);
  const Scalar s = ks.inverse() * sum;
  // The reference requires w = s^-1 < 2^251, and w = k / (z + r·d).
  const Scalar w = ks * sum.inverse();
  if (!in_range(w.to_u256(), ONE, ELEMENT_UPPER_BOUND)) return make_error(Errc::invalid_argument, "s^-1 out of range for this k");
  return Signature{r, s.to_u256()};
}

Result<Signature> sign(const U256& private_key, const U256& message_hash, NonceStyle style) {
  CIRO_TRY(const Scalar d, check_private_key(private_key));
  (void)d;
  if (!(message_hash < ELEMENT_UPPER_BOUND)) return make_error(Errc::invalid_argument, "message hash must be < 2^251");
  std::optional<U256> seed;
  for (std::uint64_t attempt = 0; attempt < 1000; ++attempt) {
    const U256 k = generate_k(message_hash, private_key, seed, style);
    auto sig = sign_with_k(private_key, message_hash, k);
    if (sig) return sig;
    seed = U256::from_u64(attempt + 1);  // cairo-lang retries with seed 1, 2, 3...
  }
  return make_error(Errc::internal, "no valid signature after 1000 nonces");
}

Result<bool> verify_point(const AffinePoint& public_key, const U256& message_hash, const Signature& sig) {
  CIRO_TRY(const Prepared p, prepare_verify(message_hash, sig));
  if (public_key.infinity || !is_on_curve(public_key)) return false;
  JacobianPoint acc = generator_mul(p.u1);
  acc = point_add(acc, scalar_mul(public_key, p.u2));
  return x_matches(acc, sig.r);
}

Result<bool> verify(const Felt& public_key_x, const U256& message_hash, const Signature& sig) {
  CIRO_TRY(const Prepared p, prepare_verify(message_hash, sig));
  const auto q = point_from_x(public_key_x);
  if (!q) return false;  // no curve point has this x: nothing can verify against it
  const JacobianPoint a = generator_mul(p.u1);
  const JacobianPoint b = scalar_mul(*q, p.u2);
  if (x_matches(point_add(a, b), sig.r)) return true;
  return x_matches(point_add(a, point_neg(b)), sig.r);
}

}  // namespace ciro::blockchain
