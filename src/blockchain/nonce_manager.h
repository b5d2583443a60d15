#pragma once
// NonceManager: the one serialised sender of an account. Transactions go out one at a time
// (an async mutex on the executor), each with the next nonce; a transaction is persisted
// (chain_pending_tx) as soon as it is signed and before it is sent, so a restart resends the
// same bytes rather than signing a different transaction for a nonce that may still land.
// INVALID_TRANSACTION_NONCE (someone else used the account) → resync from the chain
// (pre_confirmed) and one retry; DUPLICATE_TX → already in the mempool, tracked by hash.
// Lives on the RpcClient's executor; the SQLite writes are small and done inline (one row per
// transaction).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <deque>
#include <memory>
#include <optional>

#include "blockchain/account.h"
#include "storage/database.h"

namespace ciro::blockchain {

/// A FIFO mutex for coroutines on one executor (never blocks a thread).
class AsyncMutex {
 public:
  explicit AsyncMutex(boost::asio::any_io_executor ex) : m_ex(std::move(ex)) {}
  boost::asio::awaitable<void> lock();
  void unlock();

 private:
  struct Waiter;
  boost::asio::any_io_executor m_ex;
  bool m_locked = false;
  std::deque<std::shared_ptr<Waiter>> m_waiters;
};

struct PendingTx {
  std::int64_t id = 0;
  std::uint64_t nonce = 0;
  Felt hash;
  std::string tx_json;
  std::string label;
  std::string state;
};

class NonceManager {
 public:
  NonceManager(boost::asio::any_io_executor ex, RpcClient& rpc, Account& account, storage::Database& db);

  /// After a restart: settles persisted transactions (final, still pending, or never seen →
  /// resent as signed when its nonce is still free, else dropped). Errors only for RPC/DB failures.
  boost::asio::awaitable<Result<void>> recover();
  /// Signs and sends calls with the next nonce; returns the transaction hash once the node
  /// accepted it. Errors: the node's (estimate or submission) with its code; after one nonce
  /// resync a second INVALID_TRANSACTION_NONCE is returned.
  boost::asio::awaitable<RpcResult<Felt>> execute(std::vector<Call> calls, std::string label);
  /// Records a final outcome (from Account::wait_for_receipt).
  void mark_final(const Felt& hash, bool reverted, const std::string& detail);
  /// Transactions sent or signed but not final.
  std::vector<PendingTx> open_transactions();
  /// Forgets the cached nonce (the next send reads it from the chain).
  void invalidate() { m_next.reset(); }
  std::optional<std::uint64_t> cached_nonce() const { return m_next; }

 private:
  boost::asio::awaitable<RpcResult<std::uint64_t>> chain_nonce();
  /// Resends a persisted signed transaction; ok when the node has it.
  boost::asio::awaitable<RpcResult<Felt>> resend(PendingTx tx);
  void set_state(std::int64_t id, const std::string& state, const std::string& detail = "");

  RpcClient& m_rpc;
  Account& m_account;
  storage::Database& m_db;
  AsyncMutex m_mutex;
  std::optional<std::uint64_t> m_next;
  std::string m_account_hex;
};

}  // namespace ciro::blockchain
