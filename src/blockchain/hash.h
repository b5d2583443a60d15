#pragma once
// Starknet hash functions: Pedersen (StarkWare's, with the five constant points), Poseidon
// (Hades permutation, width 3, StarkWare's round constants), Keccak-256 and starknet_keccak.
// Stateless functions; the lookup tables and round constants are built on first use behind
// thread-safe statics and are read-only afterwards, so every function may be called from any thread.

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "blockchain/field.h"

namespace ciro::blockchain {

/// Pedersen hash of two field elements (always < P by construction).
Felt pedersen_hash(const Felt& a, const Felt& b);
/// Pedersen hash of two integers; an invalid_argument error when either is >= P (the reference
/// rejects rather than reduces).
Result<Felt> pedersen_hash(const U256& a, const U256& b);
/// h(h(...h(h(0, e1), e2)..., en), n): the legacy array hash.
Felt compute_hash_on_elements(std::span<const Felt> elements);

/// The Hades permutation in place (3 elements).
void hades_permutation(std::array<Felt, 3>& state);
Felt poseidon_hash(const Felt& x, const Felt& y);
Felt poseidon_hash_single(const Felt& x);
Felt poseidon_hash_many(std::span<const Felt> values);
/// The 91×3 round constants (for tests).
const std::array<std::array<Felt, 3>, 91>& poseidon_round_constants();

/// Ethereum Keccak-256 (padding 0x01, not FIPS SHA3-256).
std::array<std::uint8_t, 32> keccak256(std::span<const std::uint8_t> data);
/// keccak256 masked to its low 250 bits.
Felt starknet_keccak(std::span<const std::uint8_t> data);
/// starknet_keccak(ASCII name); "__default__" and "__l1_default__" map to 0.
Felt get_selector_from_name(std::string_view name);
/// ASCII string (at most 31 characters) read as a big-endian integer, e.g. "SN_MAIN".
Result<Felt> short_string(std::string_view text);

}  // namespace ciro::blockchain
