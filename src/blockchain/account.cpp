#include "blockchain/account.h"

#include <sodium.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cmath>

namespace ciro::blockchain {

namespace asio = boost::asio;
using asio::awaitable;
using nlohmann::json;

Felts execute_calldata(std::span<const Call> calls) {
  FeltWriter w;
  w.u64(calls.size());
  for (const auto& c : calls) w.felt(c.to).felt(c.selector).felt_array(c.calldata);
  return w.take();
}

namespace {
json bound_json(const ResourceBound& b) {
  return {{"max_amount", u128_hex(b.max_amount)}, {"max_price_per_unit", u128_hex(b.max_price_per_unit)}};
}
const char* da(DaMode m) { return m == DaMode::l1 ? "L1" : "L2"; }

std::uint64_t scale_u64(std::uint64_t v, double m) {
  const long double r = std::ceil(static_cast<long double>(v) * m);
  return r >= 1.8e19L ? UINT64_MAX : static_cast<std::uint64_t>(r);
}
unsigned __int128 scale_u128(unsigned __int128 v, double m) {
  // (v × round(m × 1000)) / 1000, rounded up; saturates at 2^128 - 1.
  const auto milli = static_cast<unsigned __int128>(std::llround(m * 1000.0));
  if (v != 0 && milli > (~static_cast<unsigned __int128>(0)) / v) return ~static_cast<unsigned __int128>(0);
  return (v * milli + 999) / 1000;
}
}  // namespace

json invoke_to_json(const InvokeV3& tx, const Signature& sig, bool query) {
  json j = {{"type", "INVOKE"},
            {"version", query ? "0x100000000000000000000000000000003" : "0x3"},
            {"sender_address", tx.sender_address.to_hex()},
            {"calldata", felts_to_hex(tx.calldata)},
            {"signature", {to_hex(sig.r), to_hex(sig.s)}},
            {"nonce", tx.nonce.to_hex()},
            {"resource_bounds",
             {{"l1_gas", bound_json(tx.l1_gas)},
              {"l1_data_gas", bound_json(tx.l1_data_gas.value_or(ResourceBound{}))},
              {"l2_gas", bound_json(tx.l2_gas)}}},
            {"tip", u128_hex(tx.tip)},
            {"paymaster_data", felts_to_hex(tx.paymaster_data)},
            {"account_deployment_data", felts_to_hex(tx.account_deployment_data)},
            {"nonce_data_availability_mode", da(tx.nonce_da)},
            {"fee_data_availability_mode", da(tx.fee_da)}};
  return j;
}

Account::Account(RpcClient& rpc, Felt address, U256 private_key, Felt chain_id, FeeOptions fee)
    : m_rpc(rpc), m_address(address), m_key(private_key), m_chain_id(chain_id), m_fee(fee) {}

Account::~Account() { sodium_memzero(&m_key, sizeof(m_key)); }

Felt Account::public_key() const {
  auto pk = get_public_key(m_key);
  return pk ? *pk : Felt();
}

Result<SignedInvoke> Account::sign(const InvokeV3& tx, bool query) const {
  SignedInvoke out;
  out.tx = tx;
  out.hash = invoke_v3_hash(tx, m_chain_id, query);
  CIRO_TRY(Signature sig, blockchain::sign(m_key, out.hash.to_u256()));
  out.json = invoke_to_json(tx, sig, query);
  return out;
}

awaitable<RpcResult<SignedInvoke>> Account::build(std::vector<Call> calls, Felt nonce) {
  InvokeV3 tx;
  tx.sender_address = m_address;
  tx.calldata = execute_calldata(calls);
  tx.nonce = nonce;
  tx.tip = m_fee.tip;
  tx.l1_data_gas = ResourceBound{};
  // Estimate over the query version, signed so that __validate__ runs as it will for real.
  CIRO_CO_TRY(SignedInvoke query, sign(tx, true));
  json batch = json::array({query.json});
  CIRO_CO_TRY(std::vector<FeeEstimate> est,
              co_await m_rpc.estimate_fee(std::move(batch), false, BlockId::pre_confirmed()));
  if (est.size() != 1)
    co_return RpcError{Errc::protocol,
                       rpc_code::NONE,
                       "fee estimate: expected 1 entry, got " + std::to_string(est.size()),
                       {},
                       "starknet_estimateFee"};
  const FeeEstimate& e = est.front();
  tx.l1_gas = {scale_u64(e.l1_gas_consumed, m_fee.amount_margin), scale_u128(e.l1_gas_price, m_fee.price_margin)};
  tx.l2_gas = {scale_u64(e.l2_gas_consumed, m_fee.amount_margin), scale_u128(e.l2_gas_price, m_fee.price_margin)};
  tx.l1_data_gas = ResourceBound{scale_u64(e.l1_data_gas_consumed, m_fee.amount_margin),
                                 scale_u128(e.l1_data_gas_price, m_fee.price_margin)};
  CIRO_CO_TRY(SignedInvoke signed_tx, sign(tx, false));
  co_return signed_tx;
}

awaitable<RpcResult<FinalReceipt>> Account::wait_for_receipt(Felt tx_hash, std::chrono::milliseconds poll,
                                                             std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  std::string last_status = "unknown";
  for (;;) {
    auto st = co_await m_rpc.get_transaction_status(tx_hash);
    if (st.ok()) {
      last_status = st->finality_status;
      if (st->finality_status == "ACCEPTED_ON_L2" || st->finality_status == "ACCEPTED_ON_L1") {
        auto rc = co_await m_rpc.get_transaction_receipt(tx_hash);
        if (rc.ok()) {
          FinalReceipt f;
          f.transaction_hash = tx_hash;
          f.finality_status = rc->finality_status;
          f.reverted = rc->execution_status == "REVERTED";
          f.revert_reason = rc->revert_reason.value_or(st->failure_reason.value_or(""));
          f.receipt = std::move(rc).value();
          co_return f;
        }
        if (rc.code() != rpc_code::TXN_HASH_NOT_FOUND) co_return std::move(rc).error();
      }
    } else if (st.code() == rpc_code::TXN_HASH_NOT_FOUND) {
      if (last_status != "unknown") {
        co_return RpcError{
            Errc::not_found,
            rpc_code::TXN_HASH_NOT_FOUND,
            "transaction " + tx_hash.to_hex() + " vanished after status " + last_status + " (evicted or rejected)",
            {},
            "starknet_getTransactionStatus"};
      }
    } else if (st.error().errc != Errc::unavailable && st.error().errc != Errc::timeout) {
      co_return std::move(st).error();
    }
    if (std::chrono::steady_clock::now() + poll > deadline) {
      co_return RpcError{Errc::timeout,
                         rpc_code::NONE,
                         "transaction " + tx_hash.to_hex() + " not final after " + std::to_string(timeout.count()) +
                             " ms (last status " + last_status + ")",
                         {},
                         "starknet_getTransactionStatus"};
    }
    timer.expires_after(poll);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace ciro::blockchain
