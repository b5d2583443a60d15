#pragma once
// INVOKE v3 transaction hash (starkware-libs/sequencer transaction_hash.rs; see the spec NOTES
// §2): poseidon_hash_many over the prefix "invoke", version, sender, fee hash, paymaster data,
// chain id, nonce, DA modes, account deployment data, calldata and (when present) proof facts.
// Plain data plus pure functions.

#include <optional>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "blockchain/field.h"

namespace ciro::blockchain {

struct ResourceBound {
  std::uint64_t max_amount = 0;
  unsigned __int128 max_price_per_unit = 0;
};

enum class DaMode : std::uint8_t { l1 = 0, l2 = 1 };

struct InvokeV3 {
  Felt sender_address;
  std::vector<Felt> calldata;
  Felt nonce;
  ResourceBound l1_gas;
  ResourceBound l2_gas;
  /// Absent only in pre-0.13.4 transactions (then two bounds are hashed); RPC 0.8+ always has it.
  std::optional<ResourceBound> l1_data_gas = ResourceBound{};
  std::uint64_t tip = 0;
  std::vector<Felt> paymaster_data;
  std::vector<Felt> account_deployment_data;
  DaMode nonce_da = DaMode::l1;
  DaMode fee_da = DaMode::l1;
  std::vector<Felt> proof_facts;  ///< hashed only when non-empty (SNIP-36)
};

/// The hash over version 3, or 2^128 + 3 when query_only (estimate/simulate).
Felt invoke_v3_hash(const InvokeV3& tx, const Felt& chain_id, bool query_only = false);
/// H(tip, L1_GAS bound, L2_GAS bound[, L1_DATA bound]).
Felt invoke_v3_fee_hash(const InvokeV3& tx);

/// Parses a chain id: hex felt ("0x534e5f4d41494e") or a short string ("SN_MAIN").
Result<Felt> parse_chain_id(std::string_view text);

/// Parses an INVOKE v3 transaction from JSON: the RPC shape (resource_bounds keys l1_gas, l2_gas,
/// l1_data_gas) or the sequencer's (L1_GAS, L2_GAS, L1_DATA_GAS), optionally wrapped in
/// {"Invoke":{"V3":{...}}} or {"invoke_transaction":{...}}. Errors name the field.
Result<InvokeV3> invoke_v3_from_json(const nlohmann::json& j);

}  // namespace ciro::blockchain
