#pragma once
// ECDSA over the Stark curve as StarkWare defines it (cairo-lang signature.py, starknet-rs,
// @scure/starknet): public key = x(priv·G); deterministic k by RFC 6979 (HMAC-SHA256) with the
// StarkWare quirks; no low-s normalisation; message hashes must be < 2^251. Stateless functions,
// safe from any thread; every bad input is an invalid_argument error, never a crash.

#include <optional>

#include "blockchain/curve.h"
#include "blockchain/field.h"

namespace ciro::blockchain {

struct Signature {
  U256 r;
  U256 s;
  friend bool operator==(const Signature&, const Signature&) = default;
};

/// x(priv·G); error unless 0 < priv < N.
Result<Felt> get_public_key(const U256& private_key);
/// The full public point priv·G; error unless 0 < priv < N.
Result<AffinePoint> get_public_point(const U256& private_key);

/// How a 32-byte RFC 6979 candidate T becomes k.
enum class NonceStyle {
  /// bits2int(T) = T >> 4 always (cairo-lang/python-ecdsa, starknet-rs): what StarkWare signs with.
  starkware,
  /// @scure/starknet 2.4.0 strips T's leading zero bytes before truncating, so when T starts with
  /// a 0x00 byte (1 in 256) k = T unshifted and its signature differs from StarkWare's (both are
  /// valid signatures). Only for differential tests against that library.
  scure,
};

/// RFC 6979 nonce: HMAC-DRBG(SHA-256) seeded with priv(32 bytes) || hash(32 bytes) || seed
/// (minimal big-endian bytes; none when no seed); candidates accepted when 1 <= k < N.
U256 generate_k(const U256& message_hash, const U256& private_key, std::optional<U256> seed,
                NonceStyle style = NonceStyle::starkware);

/// Deterministic signature of message_hash; errors: private key not in [1, N), hash >= 2^251.
Result<Signature> sign(const U256& private_key, const U256& message_hash,
                       NonceStyle style = NonceStyle::starkware);
/// Signature with a given nonce k (tests); error when k gives an invalid signature.
Result<Signature> sign_with_k(const U256& private_key, const U256& message_hash, const U256& k);

/// Verifies against a public key given by its x-coordinate (as Starknet accounts store it):
/// accepts when either point with that x verifies. Returns false for a well-formed signature
/// that does not verify and for an x that is not on the curve (as the reference and Cairo's
/// check_ecdsa_signature do); an invalid_argument error when the numbers are outside what the
/// reference accepts (r not in [1, 2^251), s not in [1, N), s^-1 >= 2^251, hash >= 2^251).
Result<bool> verify(const Felt& public_key_x, const U256& message_hash, const Signature& sig);
/// Same with the full public point (no square root needed).
Result<bool> verify_point(const AffinePoint& public_key, const U256& message_hash, const Signature& sig);

}  // namespace ciro::blockchain
