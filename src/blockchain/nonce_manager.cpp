#include "blockchain/nonce_manager.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "utils/log.h"

namespace ciro::blockchain {

namespace asio = boost::asio;
using asio::awaitable;
using nlohmann::json;

struct AsyncMutex::Waiter {
  explicit Waiter(const asio::any_io_executor& ex) : timer(ex, asio::steady_timer::time_point::max()) {}
  asio::steady_timer timer;
};

awaitable<void> AsyncMutex::lock() {
  if (!m_locked) {
    m_locked = true;
    co_return;
  }
  auto w = std::make_shared<Waiter>(m_ex);
  m_waiters.push_back(w);
  co_await w->timer.async_wait(asio::as_tuple(asio::use_awaitable));  // woken by unlock(): ownership passes to us
}

void AsyncMutex::unlock() {
  if (m_waiters.empty()) {
    m_locked = false;
    return;
  }
  auto w = m_waiters.front();
  m_waiters.pop_front();
  w->timer.cancel();
}

namespace {
struct Unlock {
  AsyncMutex& m;
  ~Unlock() { m.unlock(); }
};
bool ambiguous(const RpcError& e) {
  return e.code == rpc_code::NONE && (e.errc == Errc::timeout || e.errc == Errc::unavailable || e.errc == Errc::io);
}
}  // namespace

NonceManager::NonceManager(asio::any_io_executor ex, RpcClient& rpc, Account& account, storage::Database& db)
    : m_rpc(rpc), m_account(account), m_db(db), m_mutex(std::move(ex)), m_account_hex(account.address().to_hex()) {}

void NonceManager::set_state(std::int64_t id, const std::string& state, const std::string& detail) {
  auto r = m_db.exec("UPDATE chain_pending_tx SET state = ?, detail = ? WHERE id = ?", {state, detail, id});
  if (!r) utils::logger("blockchain")->error("chain_pending_tx update failed: {}", r.error().to_string());
}

void NonceManager::mark_final(const Felt& hash, bool reverted, const std::string& detail) {
  auto r = m_db.exec("UPDATE chain_pending_tx SET state = ?, detail = ? WHERE tx_hash = ?",
                     {std::string(reverted ? "reverted" : "final"), detail, hash.to_hex()});
  if (!r) utils::logger("blockchain")->error("chain_pending_tx update failed: {}", r.error().to_string());
}

std::vector<PendingTx> NonceManager::open_transactions() {
  std::vector<PendingTx> out;
  auto rows = m_db.query(
      "SELECT id, nonce, tx_hash, tx_json, label, state FROM chain_pending_tx WHERE account = ? AND state IN "
      "('signed','submitted') "
      "ORDER BY nonce, id",
      {m_account_hex});
  if (!rows) return out;
  for (const auto& r : *rows) {
    PendingTx t;
    t.id = r.integer(0);
    t.nonce = static_cast<std::uint64_t>(r.integer(1));
    t.hash = Felt::from_hex(r.text(2)).ok() ? *Felt::from_hex(r.text(2)) : Felt();
    t.tx_json = r.text(3);
    t.label = r.text(4);
    t.state = r.text(5);
    out.push_back(std::move(t));
  }
  return out;
}

awaitable<RpcResult<std::uint64_t>> NonceManager::chain_nonce() {
  CIRO_CO_TRY(Felt n, co_await m_rpc.get_nonce(m_account.address(), BlockId::pre_confirmed()));
  const U256 v = n.to_u256();
  if (v.w[1] != 0 || v.w[2] != 0 || v.w[3] != 0)
    co_return RpcError{Errc::protocol, rpc_code::NONE, "account nonce exceeds u64", {}, "starknet_getNonce"};
  co_return v.w[0];
}

awaitable<RpcResult<Felt>> NonceManager::resend(PendingTx tx) {
  auto st = co_await m_rpc.get_transaction_status(tx.hash);
  if (st.ok()) {
    set_state(tx.id, "submitted");
    co_return tx.hash;
  }
  if (st.code() != rpc_code::TXN_HASH_NOT_FOUND) co_return std::move(st).error();
  CIRO_CO_TRY(std::uint64_t chain, co_await chain_nonce());
  if (chain > tx.nonce) {
    set_state(tx.id, "dropped", "nonce " + std::to_string(tx.nonce) + " was used by another transaction");
    co_return tx.hash;
  }
  json j = json::parse(tx.tx_json, nullptr, false);
  if (j.is_discarded()) {
    set_state(tx.id, "dropped", "stored transaction is unreadable");
    co_return tx.hash;
  }
  auto sent = co_await m_rpc.add_invoke_transaction(std::move(j));
  if (sent.ok() || sent.code() == rpc_code::DUPLICATE_TX) {
    set_state(tx.id, "submitted");
    co_return tx.hash;
  }
  if (sent.code() == rpc_code::INVALID_TRANSACTION_NONCE) {
    set_state(tx.id, "dropped", sent.error().to_string());
    co_return tx.hash;
  }
  co_return std::move(sent).error();
}

awaitable<Result<void>> NonceManager::recover() {
  co_await m_mutex.lock();
  Unlock unlock{m_mutex};
  m_next.reset();
  for (auto& t : open_transactions()) {
    auto st = co_await m_rpc.get_transaction_status(t.hash);
    if (st.ok()) {
      if (st->finality_status == "ACCEPTED_ON_L2" || st->finality_status == "ACCEPTED_ON_L1") {
        const bool reverted = st->execution_status.value_or("") == "REVERTED";
        set_state(t.id, reverted ? "reverted" : "final", st->failure_reason.value_or(""));
      } else {
        set_state(t.id, "submitted");
      }
      continue;
    }
    if (st.code() != rpc_code::TXN_HASH_NOT_FOUND) co_return std::move(st).error().to_error();
    auto r = co_await resend(t);
    if (!r) co_return std::move(r).error().to_error();
  }
  co_return Result<void>{};
}

awaitable<RpcResult<Felt>> NonceManager::execute(std::vector<Call> calls, std::string label) {
  co_await m_mutex.lock();
  Unlock unlock{m_mutex};
  auto log = utils::logger("blockchain");
  // A transaction left 'signed' by an ambiguous failure goes out (or is settled) first: its
  // nonce must not be given to a different transaction while it may still land.
  for (auto& t : open_transactions()) {
    if (t.state != "signed") continue;
    auto r = co_await resend(t);
    if (!r) co_return std::move(r).error();
    m_next.reset();
  }
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!m_next) {
      CIRO_CO_TRY(std::uint64_t chain, co_await chain_nonce());
      std::uint64_t next = chain;
      for (const auto& t : open_transactions()) {
        if (t.state == "submitted" && t.nonce >= next) next = t.nonce + 1;
      }
      m_next = next;
    }
    const std::uint64_t nonce = *m_next;
    auto built = co_await m_account.build(calls, Felt::from_u64(nonce));
    if (!built) {
      // A stale nonce shows up at estimation as an execution error: resync once and retry.
      if (attempt == 0 && (built.code() == rpc_code::TRANSACTION_EXECUTION_ERROR ||
                           built.code() == rpc_code::INVALID_TRANSACTION_NONCE)) {
        m_next.reset();
        CIRO_CO_TRY(std::uint64_t chain, co_await chain_nonce());
        if (chain != nonce) {
          log->info("account {}: nonce {} was used elsewhere (chain has {}); resyncing", m_account_hex, nonce, chain);
          continue;
        }
      }
      co_return std::move(built).error();
    }
    SignedInvoke& tx = *built;
    auto ins = m_db.exec(
        "INSERT INTO chain_pending_tx (account, nonce, tx_hash, tx_json, label, state) VALUES (?, ?, ?, ?, ?, "
        "'signed')",
        {m_account_hex, static_cast<std::int64_t>(nonce), tx.hash.to_hex(), tx.json.dump(), label});
    if (!ins) co_return ins.error();
    auto rows = m_db.query("SELECT id FROM chain_pending_tx WHERE tx_hash = ?", {tx.hash.to_hex()});
    const std::int64_t id = rows && !rows->empty() ? rows->front().integer(0) : 0;
    json body = tx.json;
    auto sent = co_await m_rpc.add_invoke_transaction(std::move(body));
    if (sent.ok() || sent.code() == rpc_code::DUPLICATE_TX) {
      set_state(id, "submitted");
      m_next = nonce + 1;
      log->debug("account {}: sent {} nonce {} tx {}", m_account_hex, label, nonce, tx.hash.to_hex());
      co_return tx.hash;
    }
    if (sent.code() == rpc_code::INVALID_TRANSACTION_NONCE) {
      set_state(id, "rejected", sent.error().to_string());
      m_next.reset();
      if (attempt == 0) {
        log->info("account {}: nonce {} rejected by the node; resyncing and retrying once", m_account_hex, nonce);
        continue;
      }
      co_return std::move(sent).error();
    }
    if (ambiguous(sent.error())) {
      // The node may have it: check before deciding; if unknown, keep it 'signed' for a resend.
      auto st = co_await m_rpc.get_transaction_status(tx.hash);
      if (st.ok()) {
        set_state(id, "submitted");
        m_next = nonce + 1;
        co_return tx.hash;
      }
      m_next.reset();
      co_return std::move(sent).error();
    }
    set_state(id, "rejected", sent.error().to_string());
    co_return std::move(sent).error();  // the nonce was not consumed: m_next stays
  }
  co_return RpcError{Errc::internal, rpc_code::NONE, "unreachable", {}, "execute"};
}

}  // namespace ciro::blockchain
