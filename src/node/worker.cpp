#include "node/worker.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <sodium.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <thread>

#include "api/http_server.h"
#include "blockchain/chain_service.h"
#include "compute/docker_executor.h"
#include "compute/gpu.h"
#include "network/worker_network.h"
#include "node/blocking.h"
#include "node/chain_bridge.h"
#include "node/job_service.h"
#include "node/metrics.h"
#include "node/worker_api.h"
#include "storage/job_store.h"
#include "utils/encoding.h"
#include "utils/identity.h"
#include "utils/log.h"

#ifndef CIRO_VERSION
#define CIRO_VERSION "dev"
#endif

namespace ciro::node {

namespace fs = std::filesystem;
namespace net = boost::asio;
using net::awaitable;

Result<std::string> load_or_create_token(const fs::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) == 0) {
    if (!S_ISREG(st.st_mode)) {
      return Error(Errc::invalid_argument, "API token " + file.string() + " is not a regular file (api.token_file)");
    }
    if ((st.st_mode & 077) != 0) {
      return Error(
          Errc::permission_denied,
          "API token " + file.string() + " is readable by group or others; fix it with: chmod 600 " + file.string());
    }
    std::ifstream in(file);
    std::string token;
    std::getline(in, token);
    while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
    if (token.size() < 16)
      return Error(Errc::invalid_argument, "API token " + file.string() + " is shorter than 16 characters");
    return token;
  }
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  std::uint8_t raw[32];
  randombytes_buf(raw, sizeof raw);
  std::string token = utils::to_hex(raw);
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return load_or_create_token(file);
    return Error(Errc::io, "cannot create API token " + file.string() + ": " + std::strerror(errno));
  }
  std::string line = token + "\n";
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return Error(Errc::io, "cannot write API token " + file.string());
  return token;
}

struct Worker::Impl {
  utils::Config config;
  std::shared_ptr<spdlog::logger> log = utils::logger("node");
  net::io_context io{1};
  net::thread_pool pool{2};
  std::optional<utils::NodeKey> key;
  std::string token;
  std::unique_ptr<storage::SqliteJobStore> store;
  std::unique_ptr<compute::DockerExecutor> executor;
  std::unique_ptr<compute::GpuManager> gpus;
  std::unique_ptr<WorkerMetrics> metrics;
  std::unique_ptr<JobService> jobs;
  std::unique_ptr<network::WorkerNetwork> network;
  std::unique_ptr<blockchain::ChainService> chain;
  std::unique_ptr<ChainBridge> bridge;
  bool chain_started = false;
  std::uint64_t job_announcements = 0;
  api::Router router;
  std::unique_ptr<api::HttpServer> http;
  net::signal_set signals{io, SIGINT, SIGTERM};
  net::steady_timer housekeeping{io};
  HealthSnapshot health;
  WorkerApiContext api_ctx;
  bool stopping = false;
  int exit_code = 0;  ///< what run() returns: 2 when the chain configuration is unusable
  std::chrono::steady_clock::time_point last_prune{};

  explicit Impl(utils::Config c) : config(std::move(c)) {}

  awaitable<void> housekeeping_loop() {
    std::chrono::milliseconds delay{0};
    while (!stopping) {
      housekeeping.expires_after(delay);
      auto [ec] = co_await housekeeping.async_wait(net::as_tuple(net::use_awaitable));
      if (ec || stopping) break;
      co_await check_once();
      delay = health.reconciled && health.engine_ok ? std::chrono::seconds(10) : std::chrono::seconds(2);
    }
  }

  awaitable<void> check_once() {
    auto info = co_await executor->info();
    health.checked = true;
    health.engine_ok = info.ok();
    if (info.ok()) {
      health.engine = *info;
      health.engine_detail.clear();
    } else {
      if (health.engine_detail != info.error().message) {
        log->warn("container engine at {} is not answering: {}", config.executor.engine_socket, info.error().message);
      }
      health.engine_detail = info.error().message;
    }
    metrics->set_engine_up(health.engine_ok);
    if (network) {
      auto st = network->stats();
      metrics->set_p2p(st.peers, st.gossip_in, st.gossip_out, st.gossip_rejected, st.bytes_in, st.bytes_out);
    }
    auto snapshot = co_await run_blocking(pool, [this] { return gpus->snapshot(); });
    metrics->set_gpus(snapshot);
    health.gpus = std::move(snapshot);
    struct statvfs vfs {};
    if (::statvfs(config.node.data_dir.c_str(), &vfs) == 0)
      health.disk_free_bytes = std::uint64_t(vfs.f_bavail) * vfs.f_frsize;
    auto counts = co_await run_blocking(pool, [this] { return store->counts(); });
    health.database_ok = counts.ok();
    health.database_detail = counts.ok() ? "ok (" + store->database().file().string() + ")" : counts.error().message;
    if (!health.reconciled && health.engine_ok && !stopping) {
      auto started = co_await jobs->start();
      health.reconciled = started.ok();
      health.reconcile_detail = started.ok() ? "done" : started.error().message;
      if (!started.ok()) log->warn("reconciliation with the engine failed, retrying: {}", started.error().message);
    }
    if (health.reconciled && chain && !chain_started && !stopping) {
      auto started = co_await chain->start();
      if (started.ok()) {
        chain_started = true;
        log->info("Starknet: connected to {} (account {})", config.blockchain.network,
                  config.blockchain.account_address);
        net::co_spawn(io, bridge->run(), net::detached);
      } else if (const Errc code = started.error().code; code == Errc::invalid_argument ||
                                                          code == Errc::permission_denied || code == Errc::conflict ||
                                                          code == Errc::not_found) {
        // A wrong password, chain, address or contract does not heal by retrying.
        log->error("Starknet: {}; fix the [blockchain] configuration", started.error().message);
        exit_code = 2;
        shutdown("Starknet configuration error");
      } else {
        log->warn("Starknet: not started, retrying: {}", started.error().message);
      }
    }
    if (health.reconciled && std::chrono::steady_clock::now() - last_prune > std::chrono::minutes(10)) {
      last_prune = std::chrono::steady_clock::now();
      co_await jobs->prune();
    }
  }

  void shutdown(const std::string& why) {
    if (stopping) return;
    stopping = true;
    health.stopping = true;
    log->info(
        "{}: stopping; new jobs are refused, running containers keep running and are reattached at the next start",
        why);
    if (jobs) jobs->begin_shutdown();
    if (http) http->stop();
    housekeeping.cancel();
    boost::system::error_code ec;
    signals.cancel(ec);
    net::co_spawn(io, finish_stop(), net::detached);
  }

  // Closes the P2P links (GoAway), lets in-flight replies finish writing, then ends the loop.
  awaitable<void> finish_stop() {
    if (bridge) bridge->stop();
    if (chain && chain_started) {
      // ChainService::stop() may wait for a transaction in flight; give it a bounded moment (its
      // pending transactions are persisted and resent at the next start).
      net::co_spawn(io, chain->stop(), net::detached);
      net::steady_timer grace(io, std::chrono::seconds(2));
      co_await grace.async_wait(net::as_tuple(net::use_awaitable));
    }
    if (network) co_await network->stop();
    net::steady_timer timer(io, std::chrono::milliseconds(100));
    co_await timer.async_wait(net::as_tuple(net::use_awaitable));
    io.stop();
  }

  std::string announcement() const {
    nlohmann::json gpus_json = nlohmann::json::array();
    for (const auto& g : health.gpus) {
      if (g.offered) gpus_json.push_back({{"name", g.name}, {"memory_bytes", g.offered_memory_bytes}});
    }
    const auto max = config.executor.max_concurrent_jobs;
    const auto running = jobs->running_count();
    nlohmann::json a = {{"v", 1},
                        {"node_id", config.node.id},
                        {"peer_id", key->peer_id()},
                        {"version", CIRO_VERSION},
                        {"gpus", gpus_json},
                        {"max_concurrent", max},
                        {"free_slots", running >= max ? 0 : max - running},
                        {"queued", jobs->queued_count()},
                        {"accepting", !stopping && health.reconciled}};
    return a.dump();
  }
};

Worker::Worker(utils::Config config) : m_impl(std::make_unique<Impl>(std::move(config))) {}

Worker::~Worker() {
  if (m_impl) {
    m_impl->pool.stop();
    m_impl->pool.join();
  }
}

Result<void> Worker::open() {
  Impl& w = *m_impl;
  const auto& c = w.config;
  for (const auto& warning : c.warnings) w.log->warn("{}", warning);
  std::error_code ec;
  fs::create_directories(c.node.data_dir / "jobs", ec);
  if (ec) return Error(Errc::io, "cannot create " + (c.node.data_dir / "jobs").string() + ": " + ec.message());
  ::chmod(c.node.data_dir.c_str(), 0700);

  bool created = false;
  CIRO_TRY(auto key, utils::NodeKey::load_or_create(c.node.data_dir, &created));
  w.key.emplace(std::move(key));
  w.log->info("node {} peer id {} ({} key {})", c.node.id, w.key->peer_id(), created ? "new" : "existing",
              (c.node.data_dir / utils::NodeKey::FILE_NAME).string());
  CIRO_TRY(w.token, load_or_create_token(utils::in_data_dir(c, c.api.token_file)));
  CIRO_TRY(w.store, storage::SqliteJobStore::open(c.node.data_dir / "ciro.db"));

  compute::DockerOptions docker;
  docker.socket = c.executor.engine_socket;
  w.executor = std::make_unique<compute::DockerExecutor>(w.io.get_executor(), docker);

  compute::GpuOptions gpu;
  gpu.enabled = c.gpu.enabled;
  gpu.devices = c.gpu.devices;
  gpu.memory_limit.fraction = c.gpu.memory_fraction;
  gpu.memory_limit.bytes = c.gpu.memory_bytes;
  gpu.utilization_threshold = c.gpu.utilization_threshold;
  gpu.library = c.gpu.library;
  w.gpus = std::make_unique<compute::GpuManager>(gpu);
  if (c.gpu.enabled)
    w.log->info("GPUs: {} offered ({})", w.gpus->offered_count(), w.gpus->note().empty() ? "ok" : w.gpus->note());

  w.metrics = std::make_unique<WorkerMetrics>(CIRO_VERSION, c.node.id);

  JobServiceOptions jo;
  jo.node_id = c.node.id;
  jo.jobs_dir = c.node.data_dir / "jobs";
  jo.limits.default_image = c.executor.default_image;
  jo.limits.default_cpus = c.executor.default_cpus;
  jo.limits.max_cpus = c.executor.max_cpus;
  jo.limits.default_memory = c.executor.default_memory;
  jo.limits.max_memory = c.executor.max_memory;
  jo.limits.default_pids = c.executor.default_pids;
  jo.limits.max_pids = c.executor.max_pids;
  jo.limits.default_timeout = c.executor.default_timeout;
  jo.limits.max_timeout = c.executor.max_timeout;
  jo.limits.max_output = c.executor.max_output_size;
  jo.limits.max_input = c.executor.max_input_size;
  jo.limits.allow_network = c.executor.allow_network;
  jo.limits.max_gpus = c.executor.max_gpus_per_job;
  jo.max_concurrent = c.executor.max_concurrent_jobs;
  jo.max_queued = c.executor.max_queued_jobs;
  jo.max_log_bytes = c.executor.max_log_size;
  jo.tmpfs_bytes = c.executor.tmpfs_size;
  jo.retention = c.executor.retention;
  w.jobs =
      std::make_unique<JobService>(w.io.get_executor(), w.pool, jo, *w.store, *w.executor, *w.gpus, *w.key, *w.metrics);

  if (c.network.enabled) {
    network::WorkerNetworkOptions no;
    no.listen_host = c.network.listen_host;
    no.listen_port = c.network.listen_port;
    no.bootstrap_peers = c.network.bootstrap_peers;
    no.announce_interval = c.network.announce_interval;
    w.network = std::make_unique<network::WorkerNetwork>(w.io.get_executor(), *w.key, no);
    Impl* impl = &w;
    w.network->set_announcement([impl] { return impl->announcement(); });
    w.network->on_job_announcement([impl](const std::string& from, const std::string& body) {
      ++impl->job_announcements;
      impl->log->debug("job announcement from peer {} ({} bytes)", from, body.size());
    });
    auto started = w.network->start();
    if (!started.ok()) return Error(started.error().code, "P2P: " + started.error().message);
    std::string addrs;
    for (const auto& a : w.network->listen_addrs()) addrs += (addrs.empty() ? "" : " ") + a;
    w.log->info("P2P listening on {} ({} bootstrap peers)", addrs, c.network.bootstrap_peers.size());
  }

  if (c.blockchain.enabled) {
    blockchain::ChainOptions co;
    co.rpc_urls = c.blockchain.rpc_url;
    if (!c.blockchain.tls_ca_file.empty()) co.tls_ca_file = utils::in_data_dir(c, c.blockchain.tls_ca_file).string();
    co.network = c.blockchain.network;
    co.account_address = c.blockchain.account_address;
    co.keystore_path = utils::in_data_dir(c, c.blockchain.keystore).string();
    co.password_env = c.blockchain.password_env;
    co.password_file = c.blockchain.password_file;
    co.job_manager = c.blockchain.job_manager_address;
    co.cdc_pool = c.blockchain.cdc_pool_address;
    co.confirmations = c.blockchain.confirmations;
    co.poll_interval = c.blockchain.poll_interval;
    co.heartbeat_interval = c.blockchain.heartbeat_interval;
    co.db_file = c.node.data_dir / "chain.db";  // its own file: its migrations are numbered apart
    WorkerMetrics* m = w.metrics.get();
    co.on_rpc_call = [m](const std::string& method, const std::string& outcome) { m->rpc_call(method, outcome); };
    if (!fs::exists(co.keystore_path)) {
      return Error(Errc::not_found,
                   "blockchain.keystore " + co.keystore_path +
                       " does not exist: create it with `ciro-worker keys new` (see docs/operations.md)");
    }
    w.chain = std::make_unique<blockchain::ChainService>(w.io.get_executor(), co);
    w.bridge = std::make_unique<ChainBridge>(w.io.get_executor(), w.pool, w.store->database(), *w.chain,
                                             c.blockchain.poll_interval);
    ChainBridge* bridge = w.bridge.get();
    w.chain->on_job_assigned(
        [bridge](blockchain::JobAssignedEvent ev) { bridge->job_assigned(blockchain::to_hex(ev.job_id.to_u256())); });
    w.jobs->on_finished(
        [bridge](const storage::JobRecord& r, const compute::JobSpec& spec) { bridge->job_finished(r, spec); });
  }

  w.api_ctx.config = &w.config;
  w.api_ctx.chain = w.chain.get();
  w.api_ctx.network = w.network.get();
  w.api_ctx.job_announcements = &w.job_announcements;
  w.api_ctx.jobs = w.jobs.get();
  w.api_ctx.metrics = w.metrics.get();
  w.api_ctx.key = &*w.key;
  w.api_ctx.gpus = w.gpus.get();
  w.api_ctx.health = &w.health;
  w.api_ctx.token = w.token;
  w.api_ctx.version = CIRO_VERSION;
  w.api_ctx.started_at = std::chrono::steady_clock::now();
  add_worker_routes(w.router, &w.api_ctx);
  WorkerMetrics* metrics = w.metrics.get();
  w.router.set_observer(
      [metrics](const std::string& method, const std::string& route, int status,
                std::chrono::duration<double> elapsed) { metrics->http_request(method, route, status, elapsed); });

  api::HttpServerOptions ho;
  ho.bind_address = c.node.bind_address;
  ho.body_limit = c.api.body_limit;
  ho.max_connections = c.api.max_connections;
  ho.request_timeout = c.api.request_timeout;
  WorkerApiContext* api_ctx = &w.api_ctx;
  ho.precheck = [api_ctx](const api::HttpRequest& head) { return precheck_request(api_ctx, head); };
  api::Router* router = &w.router;
  w.http = std::make_unique<api::HttpServer>(
      w.io.get_executor(), ho, [router](api::HttpRequest req) { return router->dispatch(std::move(req)); });
  CIRO_TRY_VOID(w.http->start());
  // data_dir/api.addr: the address actually bound (useful with port 0), for ciroctl and scripts.
  {
    const fs::path addr = c.node.data_dir / "api.addr";
    std::ofstream(addr.string() + ".tmp") << "http://" << w.http->local_address() << "\n";
    fs::rename(addr.string() + ".tmp", addr, ec);
  }
  w.log->info("HTTP API listening on {} (token in {})", w.http->local_address(),
              utils::in_data_dir(c, c.api.token_file).string());
  return {};
}

int Worker::run() {
  Impl& w = *m_impl;
  w.signals.async_wait([&w](const boost::system::error_code& ec, int sig) {
    if (!ec) w.shutdown(sig == SIGTERM ? "received SIGTERM" : "received SIGINT");
  });
  net::co_spawn(w.io, w.housekeeping_loop(), net::detached);
  // Bounded stop: if the loop has not ended shutdown_timeout after a stop began, exit anyway.
  std::atomic<bool> done{false};
  std::thread watchdog([&] {
    while (!done.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (w.stopping) {
        auto deadline = std::chrono::steady_clock::now() + w.config.node.shutdown_timeout;
        while (!done.load() && std::chrono::steady_clock::now() < deadline)
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        if (!done.load()) {
          w.log->error("shutdown took longer than {} ms; exiting now", w.config.node.shutdown_timeout.count());
          std::_Exit(1);
        }
        return;
      }
    }
  });
  w.io.run();
  done = true;
  watchdog.join();
  w.pool.stop();
  w.pool.join();
  w.log->info("stopped");
  return w.exit_code;
}

void Worker::request_stop() {
  net::post(m_impl->io, [impl = m_impl.get()] { impl->shutdown("stop requested"); });
}

std::string Worker::http_address() const { return m_impl->http ? m_impl->http->local_address() : ""; }
std::string Worker::peer_id() const { return m_impl->key ? m_impl->key->peer_id() : ""; }

}  // namespace ciro::node
