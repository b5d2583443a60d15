#pragma once
// Account: an OpenZeppelin-style Cairo 1 account (signature [r, s]) that builds INVOKE v3
// transactions: `__execute__` calldata from an array of calls, a fee estimate over the query
// version (signed, so __validate__ runs), resource bounds = estimate × margin, the signature,
// submission, and receipt polling to a final status. Holds the private key in memory only (never
// logged; wiped on destruction). Lives on the RpcClient's executor; not thread-safe. Nonces are
// the caller's business: use NonceManager for anything sent concurrently.

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <span>
#include <vector>

#include "blockchain/cairo_serde.h"
#include "blockchain/ecdsa.h"
#include "blockchain/invoke_v3.h"
#include "blockchain/rpc_client.h"

namespace ciro::blockchain {

struct Call {
  Felt to;
  Felt selector;
  Felts calldata;
};

/// Cairo 1 `__execute__` calldata: [n_calls, (to, selector, len, data...)*].
Felts execute_calldata(std::span<const Call> calls);

struct FeeOptions {
  double amount_margin = 1.5;  ///< max_amount = consumed × this (starknet-rs / starknet.js use 1.5)
  double price_margin = 1.5;   ///< max_price_per_unit = price × this
  std::uint64_t tip = 0;
};

/// The RPC JSON (BROADCASTED_INVOKE_TXN) of a transaction with its signature.
nlohmann::json invoke_to_json(const InvokeV3& tx, const Signature& sig, bool query);

struct SignedInvoke {
  InvokeV3 tx;
  Felt hash;
  nlohmann::json json;
};

struct FinalReceipt {
  Felt transaction_hash;
  bool reverted = false;
  std::string finality_status;  ///< ACCEPTED_ON_L2 | ACCEPTED_ON_L1
  std::string revert_reason;
  TxReceipt receipt;
};

class Account {
 public:
  Account(RpcClient& rpc, Felt address, U256 private_key, Felt chain_id, FeeOptions fee = {});
  ~Account();
  Account(const Account&) = delete;
  Account& operator=(const Account&) = delete;

  const Felt& address() const { return m_address; }
  const Felt& chain_id() const { return m_chain_id; }
  Felt public_key() const;

  /// Signs a transaction as-is (hash over version 3, or the query version).
  Result<SignedInvoke> sign(const InvokeV3& tx, bool query) const;
  /// Builds and signs an INVOKE v3 of `calls` with `nonce`: estimates its fee (errors from the
  /// estimate, e.g. 41 TRANSACTION_EXECUTION_ERROR, come back unchanged) and sets the bounds.
  boost::asio::awaitable<RpcResult<SignedInvoke>> build(std::vector<Call> calls, Felt nonce);
  /// Polls until the transaction is ACCEPTED_ON_L2/L1 (SUCCEEDED or REVERTED with its reason).
  /// Errors: timeout after `timeout`; not_found when the node forgot the tx after seeing it
  /// (evicted/rejected), with the last status in the message.
  boost::asio::awaitable<RpcResult<FinalReceipt>> wait_for_receipt(Felt tx_hash, std::chrono::milliseconds poll,
                                                                   std::chrono::milliseconds timeout);

 private:
  RpcClient& m_rpc;
  Felt m_address;
  U256 m_key;
  Felt m_chain_id;
  FeeOptions m_fee;
};

}  // namespace ciro::blockchain
