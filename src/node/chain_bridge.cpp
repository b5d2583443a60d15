#include "node/chain_bridge.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "blockchain/chain_service.h"
#include "blockchain/u256.h"
#include "node/blocking.h"
#include "utils/log.h"

namespace ciro::node {

namespace net = boost::asio;
using net::awaitable;

namespace {
constexpr int MAX_ATTEMPTS = 5;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

ChainBridge::ChainBridge(net::any_io_executor io, net::thread_pool& pool, storage::Database& db,
                         blockchain::ChainService& chain, std::chrono::milliseconds poll_interval)
    : m_io(io),
      m_pool(pool),
      m_db(db),
      m_chain(chain),
      m_poll(poll_interval),
      m_timer(io),
      m_log(utils::logger("blockchain")) {}

std::string ChainBridge::normalise(const std::string& chain_job_id) {
  auto v = blockchain::parse_hex_u256(chain_job_id);
  return v ? blockchain::to_hex(*v) : std::string();
}

void ChainBridge::job_finished(const storage::JobRecord& record, const compute::JobSpec& spec) {
  if (spec.chain_job_id.empty()) return;
  if (record.state != storage::JobState::succeeded) {
    m_log->info("job {} (chain job {}) ended {}: no result is sent on chain", record.id, spec.chain_job_id,
                storage::job_state_name(record.state));
    return;
  }
  const std::string chain_id = normalise(spec.chain_job_id);
  const std::string hash = blockchain::poseidon_of_bytes(record.manifest_json).to_hex();
  storage::Database* db = &m_db;
  const std::string job_id = record.id;
  // Durable before anything else happens; the submit loop picks it up.
  net::post(m_pool, [db, job_id, chain_id, hash] {
    (void)db->exec(
        "INSERT OR IGNORE INTO chain_results(job_id, chain_job_id, output_hash, updated_at_ms) VALUES (?, ?, ?, ?)",
        {job_id, chain_id, hash, now_ms()});
  });
  m_log->info("job {} owes chain job {} its result (output_data_hash {})", record.id, chain_id, hash);
  m_timer.cancel();  // try now
}

void ChainBridge::job_assigned(const std::string& chain_job_id) {
  const std::string chain_id = normalise(chain_job_id);
  if (chain_id.empty()) return;
  storage::Database* db = &m_db;
  net::post(m_pool, [db, chain_id] {
    (void)db->exec("INSERT OR IGNORE INTO chain_assignments(chain_job_id, seen_at_ms) VALUES (?, ?)",
                   {chain_id, now_ms()});
  });
  m_log->info("chain job {} assigned to this worker", chain_id);
  m_timer.cancel();
}

awaitable<void> ChainBridge::run() {
  while (!m_stopped) {
    co_await submit_ready();
    m_timer.expires_after(m_poll);
    co_await m_timer.async_wait(net::as_tuple(net::use_awaitable));
  }
}

void ChainBridge::stop() {
  m_stopped = true;
  m_timer.cancel();
}

awaitable<void> ChainBridge::submit_ready() {
  auto rows = co_await run_blocking(m_pool, [this] {
    return m_db.query(
        "SELECT r.job_id, r.chain_job_id, r.output_hash, r.attempts FROM chain_results r "
        "JOIN chain_assignments a ON a.chain_job_id = r.chain_job_id WHERE r.state = 'ready' "
        "ORDER BY r.updated_at_ms LIMIT 16");
  });
  if (!rows.ok()) {
    m_log->warn("reading owed chain results failed: {}", rows.error().message);
    co_return;
  }
  for (const auto& row : *rows) {
    if (m_stopped) break;
    const std::string job_id = row.text(0), chain_id = row.text(1), hash = row.text(2);
    const int attempts = static_cast<int>(row.integer(3)) + 1;
    auto chain_felt = blockchain::Felt::from_hex(chain_id);
    auto hash_felt = blockchain::Felt::from_hex(hash);
    Result<std::string> sent = Error(Errc::invalid_argument, "chain job id or hash is not a felt");
    if (chain_felt.ok() && hash_felt.ok()) sent = co_await m_chain.submit_job_result(*chain_felt, *hash_felt);
    std::string state = sent.ok() ? "submitted" : attempts >= MAX_ATTEMPTS ? "failed" : "ready";
    std::string tx = sent.ok() ? *sent : "";
    std::string error = sent.ok() ? "" : sent.error().message;
    if (sent.ok()) {
      m_log->info("job {}: result submitted for chain job {} in tx {}", job_id, chain_id, tx);
    } else {
      m_log->warn("job {}: submit_job_result for chain job {} failed (attempt {}/{}): {}", job_id, chain_id, attempts,
                  MAX_ATTEMPTS, error);
    }
    co_await run_blocking(m_pool, [&] {
      return m_db.exec(
          "UPDATE chain_results SET state = ?, attempts = ?, tx_hash = ?, error = ?, updated_at_ms = ? WHERE job_id = "
          "?",
          {state, attempts, tx, error, now_ms(), job_id});
    });
  }
}

}  // namespace ciro::node
