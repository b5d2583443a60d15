#include "blockchain/chain_service.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <ctime>

#include "blockchain/chain_db.h"
#include "blockchain/event_follower.h"
#include "blockchain/hash.h"
#include "blockchain/keystore.h"
#include "blockchain/nonce_manager.h"
#include "utils/log.h"

namespace ciro::blockchain {

namespace asio = boost::asio;
using asio::awaitable;

Felt poseidon_of_bytes(std::string_view bytes) {
  std::vector<Felt> v;
  v.reserve(bytes.size() / 31 + 2);
  for (std::size_t i = 0; i < bytes.size(); i += 31) {
    const std::string_view chunk = bytes.substr(i, 31);
    std::array<std::uint8_t, 32> be{};
    std::copy(chunk.begin(), chunk.end(), be.begin() + (32 - chunk.size()));
    v.push_back(*Felt::from_u256(from_be_bytes(be)));
  }
  v.push_back(Felt::from_u64(bytes.size()));
  return poseidon_hash_many(v);
}

struct ChainService::Impl {
  asio::any_io_executor ex;
  ChainOptions options;
  std::shared_ptr<spdlog::logger> log = utils::logger("blockchain");
  std::unique_ptr<storage::Database> db;
  std::unique_ptr<RpcClient> rpc;
  std::unique_ptr<Account> account;
  std::unique_ptr<NonceManager> nonces;
  std::unique_ptr<EventFollower> follower;
  Felt job_manager, cdc_pool, worker_id, address;
  std::function<void(JobAssignedEvent)> on_assigned;
  PerformanceMetrics metrics{1000, 100, 100, 100, 0};
  Status status;
  bool stopping = false;
  int running_tasks = 0;
  std::unique_ptr<asio::steady_timer> heartbeat_timer;
  std::unique_ptr<asio::steady_timer> done_timer;

  Result<Felt> felt_option(const std::string& name, const std::string& value, const Felt& fallback) {
    if (value.empty()) return fallback;
    auto f = Felt::from_hex(value);
    if (!f) return make_error(Errc::invalid_argument, "chain option " + name + ": " + f.error().message);
    return *f;
  }

  void task_done() {
    --running_tasks;
    if (done_timer) done_timer->cancel();
  }

  awaitable<RpcResult<FinalReceipt>> send_and_wait(std::vector<Call> calls, std::string label) {
    CIRO_CO_TRY(Felt hash, co_await nonces->execute(std::move(calls), label));
    auto fin = co_await account->wait_for_receipt(hash, options.poll_interval, options.receipt_timeout);
    if (fin.ok()) nonces->mark_final(hash, fin->reverted, fin->revert_reason);
    co_return fin;
  }

  awaitable<Result<void>> ensure_registered() {
    const std::string key = "registered:" + job_manager.to_hex() + ":" + worker_id.to_hex();
    CIRO_CO_TRY(auto rows, db->query("SELECT value FROM chain_kv WHERE key = ?", {key}));
    if (!rows.empty()) {
      status.registered = true;
      co_return Result<void>{};
    }
    std::vector<Call> calls = {job_manager::register_worker(job_manager, worker_id, address)};
    auto fin = co_await send_and_wait(std::move(calls), "register_worker");
    if (!fin) co_return fin.error().to_error();
    if (fin->reverted && fin->revert_reason.find("already") == std::string::npos) {
      co_return make_error(Errc::conflict, "register_worker reverted: " + fin->revert_reason);
    }
    CIRO_CO_TRY(auto n, db->exec("INSERT OR REPLACE INTO chain_kv (key, value) VALUES (?, ?)",
                                 {key, fin->transaction_hash.to_hex()}));
    (void)n;
    status.registered = true;
    log->info("worker {} registered with JobManager {} (tx {})", worker_id.to_hex(), job_manager.to_hex(),
              fin->transaction_hash.to_hex());
    co_return Result<void>{};
  }

  static awaitable<void> heartbeat_loop(std::shared_ptr<Impl> self) {
    while (!self->stopping) {
      self->heartbeat_timer->expires_after(self->options.heartbeat_interval);
      co_await self->heartbeat_timer->async_wait(asio::as_tuple(asio::use_awaitable));
      if (self->stopping) break;
      PerformanceMetrics m = self->metrics;
      m.last_updated = static_cast<std::uint64_t>(std::time(nullptr));
      std::vector<Call> calls = {cdc_pool::submit_heartbeat(self->cdc_pool, self->worker_id, m)};
      auto fin = co_await self->send_and_wait(std::move(calls), "submit_heartbeat");
      if (!fin) {
        self->status.last_error = "heartbeat: " + fin.error().to_string();
        self->log->warn("{}", self->status.last_error);
      } else if (fin->reverted) {
        self->status.last_error = "heartbeat reverted: " + fin->revert_reason;
        self->log->warn("{}", self->status.last_error);
      } else {
        ++self->status.heartbeats_sent;
      }
    }
    self->task_done();
  }

  static awaitable<void> follow_loop(std::shared_ptr<Impl> self) {
    co_await self->follower->run();
    self->task_done();
  }
};

ChainService::ChainService(asio::any_io_executor ex, ChainOptions options) : m_impl(std::make_shared<Impl>()) {
  m_impl->ex = std::move(ex);
  m_impl->options = std::move(options);
}

ChainService::~ChainService() {
  if (m_impl->follower) m_impl->follower->stop();
  m_impl->stopping = true;
  if (m_impl->heartbeat_timer) m_impl->heartbeat_timer->cancel();
}

void ChainService::on_job_assigned(std::function<void(JobAssignedEvent)> callback) {
  m_impl->on_assigned = std::move(callback);
}
void ChainService::set_performance_metrics(PerformanceMetrics metrics) { m_impl->metrics = metrics; }

awaitable<Result<void>> ChainService::start() {
  auto r = co_await start_once();
  m_impl->status.last_error = r.ok() ? std::string() : "start: " + r.error().message;
  co_return r;
}

awaitable<Result<void>> ChainService::start_once() {
  Impl& s = *m_impl;
  const ChainOptions& o = s.options;
  if (o.rpc_urls.empty())
    co_return make_error(Errc::invalid_argument, "chain option rpc_urls: at least one URL is required");
  if (o.db_file.empty()) co_return make_error(Errc::invalid_argument, "chain option db_file: required");
  std::string expected_chain;
  ContractAddresses defaults{};
  if (o.network == "sepolia" || o.network == "testnet" || o.network == "SN_SEPOLIA") {
    expected_chain = "0x534e5f5345504f4c4941";
    defaults = ContractAddresses::sepolia();
  } else if (o.network == "mainnet" || o.network == "SN_MAIN") {
    expected_chain = "0x534e5f4d41494e";
  } else if (o.network != "devnet") {  // a local devnet: any chain id, contracts given explicitly
    co_return make_error(Errc::invalid_argument,
                         "chain option network: '" + o.network + "' (allowed: sepolia, testnet, mainnet, devnet)");
  }
  CIRO_CO_TRY(s.address, s.felt_option("account_address", o.account_address, Felt()));
  if (s.address.is_zero()) co_return make_error(Errc::invalid_argument, "chain option account_address: required");
  CIRO_CO_TRY(s.job_manager, s.felt_option("job_manager", o.job_manager, defaults.job_manager));
  CIRO_CO_TRY(s.cdc_pool, s.felt_option("cdc_pool", o.cdc_pool, defaults.cdc_pool));
  if (s.job_manager.is_zero())
    co_return make_error(Errc::invalid_argument, "chain option job_manager: required on " + o.network);
  CIRO_CO_TRY(s.worker_id, s.felt_option("worker_id", o.worker_id, s.address));

  CIRO_CO_TRY(auto db, storage::Database::open(o.db_file, chain_migrations()));
  s.db = std::move(db);
  CIRO_CO_TRY(std::string password, read_password(o.password_env, o.password_file));
  auto key = keystore_read(o.keystore_path, password);
  std::fill(password.begin(), password.end(), '\0');
  if (!key) co_return key.error();

  RpcOptions ro;
  ro.urls = o.rpc_urls;
  ro.timeout = o.rpc_timeout;
  ro.ca_file = o.tls_ca_file;
  ro.max_attempts = o.rpc_max_attempts;
  ro.backoff_base = o.backoff_base;
  ro.backoff_max = o.backoff_max;
  ro.on_call = o.on_rpc_call;
  s.rpc = std::make_unique<RpcClient>(s.ex, ro);
  CIRO_CO_TRY(s.status.spec_version, (co_await s.rpc->check_spec_version()).to_result());
  CIRO_CO_TRY(Felt chain, (co_await s.rpc->chain_id()).to_result());
  if (!expected_chain.empty() && chain.to_hex() != expected_chain) {
    co_return make_error(Errc::conflict, "the RPC node serves chain " + chain.to_hex() + ", not " + o.network + " (" +
                                             expected_chain + ")");
  }
  s.account = std::make_unique<Account>(*s.rpc, s.address, *key, chain, o.fee);
  key.value() = U256{};
  s.status.account_address = s.address.to_hex();
  s.status.public_key = s.account->public_key().to_hex();
  s.nonces = std::make_unique<NonceManager>(s.ex, *s.rpc, *s.account, *s.db);
  CIRO_CO_TRY_VOID(co_await s.nonces->recover());
  if (o.register_worker) CIRO_CO_TRY_VOID(co_await s.ensure_registered());

  FollowerOptions fo;
  fo.name = "job_assigned:" + s.job_manager.to_hex() + ":" + s.address.to_hex();
  fo.address = s.job_manager;
  fo.keys = {{events::selector("JobAssigned")}, {}, {}, {s.address}};
  fo.confirmations = o.confirmations;
  fo.poll_interval = o.poll_interval;
  {
    CIRO_CO_TRY(auto rows, s.db->query("SELECT 1 FROM chain_event_cursor WHERE name = ?", {fo.name}));
    if (rows.empty()) {
      if (o.start_block) {
        fo.start_block = *o.start_block;
      } else {
        CIRO_CO_TRY(std::uint64_t tip, (co_await s.rpc->block_number()).to_result());
        fo.start_block = tip > o.confirmations ? tip - o.confirmations : 0;
      }
    }
  }
  std::weak_ptr<Impl> weak = m_impl;
  s.follower = std::make_unique<EventFollower>(*s.rpc, *s.db, fo, [weak](const EmittedEvent& e) -> Result<void> {
    auto self = weak.lock();
    if (!self) return make_error(Errc::cancelled, "chain service stopped");
    auto ev = events::job_assigned(e);
    if (!ev) {  // a malformed event is skipped (logged), never fatal
      self->log->warn("JobAssigned event in tx {} is malformed: {}", e.transaction_hash.to_hex(), ev.error().message);
      return {};
    }
    if (ev->worker != self->address) return {};
    ++self->status.jobs_assigned;
    if (self->on_assigned) self->on_assigned(*ev);
    return {};
  });
  s.done_timer = std::make_unique<asio::steady_timer>(s.ex);
  s.heartbeat_timer = std::make_unique<asio::steady_timer>(s.ex);
  ++s.running_tasks;
  asio::co_spawn(s.ex, Impl::follow_loop(m_impl), asio::detached);
  if (o.heartbeat_interval.count() > 0 && !s.cdc_pool.is_zero()) {
    ++s.running_tasks;
    asio::co_spawn(s.ex, Impl::heartbeat_loop(m_impl), asio::detached);
  }
  s.status.running = true;
  co_return Result<void>{};
}

awaitable<Result<std::string>> ChainService::submit_job_result(Felt job_id, Felt output_data_hash) {
  JobResult r;
  r.job_id = CairoU256::from_u256(job_id.to_u256());
  r.worker_id = m_impl->worker_id;
  r.output_data_hash = output_data_hash;
  co_return co_await submit_job_result(std::move(r));
}

awaitable<Result<std::string>> ChainService::submit_job_result(JobResult result) {
  auto self = m_impl;
  if (!self->nonces) co_return make_error(Errc::unavailable, "chain service is not started");
  if (result.worker_id.is_zero()) result.worker_id = self->worker_id;
  std::vector<Call> calls = {job_manager::submit_job_result(self->job_manager, result)};
  auto fin = co_await self->send_and_wait(std::move(calls), "submit_job_result");
  if (!fin) co_return fin.error().to_error();
  if (fin->reverted) {
    co_return make_error(Errc::conflict,
                         "submit_job_result tx " + fin->transaction_hash.to_hex() + " reverted: " + fin->revert_reason);
  }
  ++self->status.results_submitted;
  co_return fin->transaction_hash.to_hex();
}

awaitable<void> ChainService::stop() {
  auto self = m_impl;
  self->stopping = true;
  if (self->follower) self->follower->stop();
  if (self->heartbeat_timer) self->heartbeat_timer->cancel();
  while (self->running_tasks > 0 && self->done_timer) {
    self->done_timer->expires_after(std::chrono::seconds(60));
    co_await self->done_timer->async_wait(asio::as_tuple(asio::use_awaitable));
  }
  self->status.running = false;
}

ChainService::Status ChainService::status() const {
  Status s = m_impl->status;
  if (m_impl->follower) {
    s.cursor_block = m_impl->follower->cursor().block;
    s.reorgs = m_impl->follower->reorgs();
    if (s.last_error.empty() && m_impl->follower->last_error()) s.last_error = *m_impl->follower->last_error();
  }
  if (m_impl->nonces) s.open_transactions = m_impl->nonces->open_transactions().size();
  return s;
}

}  // namespace ciro::blockchain
