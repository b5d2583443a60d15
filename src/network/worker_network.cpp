// WorkerNetwork: composition of Host + Gossip + Kademlia, announcements, bootstrap redial.

#include "network/worker_network.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <random>
#include <set>

#include "network/detail/session.h"
#include "network/gossipsub.h"
#include "network/host.h"
#include "network/kademlia.h"

namespace ciro::network {

using namespace detail;

namespace {
HostOptions host_options(const WorkerNetworkOptions& o) {
  HostOptions h;
  const bool v6 = o.listen_host.find(':') != std::string::npos;
  h.listen_addrs = {std::string(v6 ? "/ip6/" : "/ip4/") + o.listen_host + "/tcp/" + std::to_string(o.listen_port)};
  h.max_connections = o.max_connections;
  h.max_inbound_connections = o.max_inbound_connections;
  h.max_outbound_connections = o.max_outbound_connections;
  h.inbound_rate_per_ip = o.inbound_rate_per_ip;
  h.inbound_burst_per_ip = o.inbound_burst_per_ip;
  h.handshake_timeout = o.handshake_timeout;
  h.negotiation_timeout = o.negotiation_timeout;
  return h;
}
GossipOptions gossip_options(const WorkerNetworkOptions& o) {
  GossipOptions g;
  g.heartbeat_interval = o.heartbeat_interval;
  return g;
}
KadOptions kad_options(const WorkerNetworkOptions& o) {
  KadOptions k;
  if (!o.kad_protocol.empty()) k.protocol = o.kad_protocol;
  return k;
}
}  // namespace

struct WorkerNetwork::Impl : std::enable_shared_from_this<WorkerNetwork::Impl> {
  Impl(asio::any_io_executor ex, const utils::NodeKey& key, WorkerNetworkOptions o)
      : executor(ex),
        opts(std::move(o)),
        host(ex, key, host_options(opts)),
        gossip(host, gossip_options(opts)),
        kad(host, kad_options(opts)),
        gate(ex) {
    std::uint32_t seed = 0;
    randombytes_buf(&seed, sizeof(seed));
    rng.seed(seed);
  }
  asio::any_io_executor executor;
  WorkerNetworkOptions opts;
  Host host;
  Gossip gossip;
  Kademlia kad;
  TaskGate gate;
  bool stopping = false;
  std::mt19937 rng;
  std::vector<Multiaddr> bootstrap;
  std::function<std::string()> make_announcement;
  std::function<void(const std::string&, const std::string&)> job_handler;

  std::set<asio::steady_timer*> sleepers;  ///< stop() cancels these so the loops end at once
  Task<void> sleep(std::chrono::milliseconds d) {
    asio::steady_timer t(executor, d);
    sleepers.insert(&t);
    co_await t.async_wait(use_tuple);
    sleepers.erase(&t);
  }
  void wake_all() {
    for (auto* t : sleepers) t->cancel();
  }
  Task<void> announce_loop(std::shared_ptr<Impl> self);
  Task<void> keep_connected(std::shared_ptr<Impl> self, Multiaddr addr);
  Task<void> initial_bootstrap(std::shared_ptr<Impl> self);
};

Task<void> WorkerNetwork::Impl::announce_loop(std::shared_ptr<Impl> self) {
  while (!stopping) {
    co_await sleep(opts.announce_interval);
    if (stopping) break;
    if (!make_announcement) continue;
    auto body = make_announcement();
    if (body.empty()) continue;
    auto r = gossip.publish(WORKERS_TOPIC, std::span(reinterpret_cast<const std::uint8_t*>(body.data()), body.size()));
    if (!r) log().warn("worker announcement not published: {}", r.error().to_string());
  }
}

Task<void> WorkerNetwork::Impl::keep_connected(std::shared_ptr<Impl> self, Multiaddr addr) {
  // Redial after a loss: exponential backoff with full jitter (uniform in [0, backoff]).
  const auto peer = addr.peer_id();
  auto backoff = opts.reconnect_min;
  while (!stopping) {
    if (peer && !host.connections(*peer).empty()) {
      backoff = opts.reconnect_min;
      co_await sleep(opts.reconnect_min);
      continue;
    }
    auto c = co_await host.dial(addr);
    if (stopping) break;
    if (c) {
      log().debug("bootstrap peer {} connected", addr.to_string());
      backoff = opts.reconnect_min;
      continue;
    }
    std::uniform_int_distribution<long> jitter(0, backoff.count());
    const auto wait = std::chrono::milliseconds(jitter(rng));
    log().debug("bootstrap peer {} unreachable ({}); retry in {} ms", addr.to_string(), c.error().to_string(), wait.count());
    co_await sleep(wait);
    backoff = std::min(backoff * 2, opts.reconnect_max);
  }
}

Task<void> WorkerNetwork::Impl::initial_bootstrap(std::shared_ptr<Impl> self) {
  auto r = co_await kad.bootstrap(bootstrap);
  if (!r) log().info("DHT bootstrap reached no peer yet: {}", r.error().to_string());
}

WorkerNetwork::WorkerNetwork(asio::any_io_executor executor, const utils::NodeKey& key, WorkerNetworkOptions options)
    : m_impl(std::make_shared<Impl>(executor, key, std::move(options))) {}

WorkerNetwork::~WorkerNetwork() {
  m_impl->stopping = true;
  m_impl->gate.close();
  m_impl->wake_all();
}

Result<void> WorkerNetwork::start() {
  auto& i = *m_impl;
  for (const auto& text : i.opts.bootstrap_peers) {
    auto a = Multiaddr::parse(text);
    if (!a) return Error(Errc::invalid_argument, "network.bootstrap_peers: " + text + ": " + a.error().message);
    if (!a->peer_id()) return Error(Errc::invalid_argument, "network.bootstrap_peers: " + text + ": needs /p2p/<peer id>");
    i.bootstrap.push_back(*a);
  }
  i.gossip.start();
  i.kad.start();
  std::weak_ptr<Impl> w = m_impl;
  auto jobs = i.gossip.subscribe(JOBS_TOPIC, [w](const GossipMessage& m) {
    auto s = w.lock();
    if (s && s->job_handler) s->job_handler(m.source.to_string(), std::string(m.data.begin(), m.data.end()));
  });
  if (!jobs) return jobs.error();
  auto workers = i.gossip.subscribe(WORKERS_TOPIC, [](const GossipMessage&) {});
  if (!workers) return workers.error();
  CIRO_TRY_VOID(i.host.listen());
  i.gate.spawn(i.announce_loop(m_impl));
  if (!i.bootstrap.empty()) {
    i.gate.spawn(i.initial_bootstrap(m_impl));
    for (const auto& a : i.bootstrap) i.gate.spawn(i.keep_connected(m_impl, a));
  }
  return {};
}

boost::asio::awaitable<void> WorkerNetwork::stop() {
  auto impl = m_impl;
  impl->stopping = true;
  impl->wake_all();
  impl->gate.close();
  {
    Deadline grace(impl->executor, std::chrono::seconds(2), [impl] { impl->gate.cancel_all(); });
    co_await impl->gate.wait_idle();
  }
  co_await impl->gossip.stop();
  co_await impl->kad.stop();
  co_await impl->host.stop();
}

std::vector<std::string> WorkerNetwork::listen_addrs() const {
  std::vector<std::string> out;
  for (const auto& a : m_impl->host.listen_addrs()) out.push_back(a.with_peer(m_impl->host.peer_id()).to_string());
  return out;
}

std::string WorkerNetwork::peer_id() const { return m_impl->host.peer_id().to_string(); }

std::vector<WorkerNetwork::PeerInfo> WorkerNetwork::peers() const {
  std::vector<PeerInfo> out;
  auto& store = m_impl->host.peer_store();
  for (const auto& id : store.peers()) {
    PeerInfo p;
    p.peer_id = id.to_string();
    if (auto info = store.get(id)) {
      for (const auto& a : info->addrs) p.addrs.push_back(a.to_string());
      p.protocols = info->protocols;
      p.agent = info->agent_version;
    }
    p.connected = !m_impl->host.connections(id).empty();
    out.push_back(std::move(p));
  }
  return out;
}

void WorkerNetwork::set_announcement(std::function<std::string()> make_json) { m_impl->make_announcement = std::move(make_json); }

void WorkerNetwork::on_job_announcement(std::function<void(const std::string&, const std::string&)> handler) {
  m_impl->job_handler = std::move(handler);
}

Result<std::size_t> WorkerNetwork::publish_job(const std::string& json) {
  return m_impl->gossip.publish(JOBS_TOPIC, std::span(reinterpret_cast<const std::uint8_t*>(json.data()), json.size()));
}

boost::asio::awaitable<Result<std::vector<std::string>>> WorkerNetwork::find_peer(std::string peer_id) {
  auto impl = m_impl;
  auto id = PeerId::parse(peer_id);
  if (!id) co_return id.error();
  auto r = co_await impl->kad.find_peer(*id);
  if (!r) co_return r.error();
  std::vector<std::string> out;
  for (const auto& a : *r) out.push_back(a.to_string());
  co_return out;
}

WorkerNetwork::Stats WorkerNetwork::stats() const {
  Stats s;
  const auto c = m_impl->gossip.counters();
  s.peers = m_impl->host.connected_peers().size();
  s.gossip_in = c.messages_in;
  s.gossip_out = c.messages_out;
  s.gossip_rejected = c.messages_rejected;
  s.bytes_in = c.bytes_in;
  s.bytes_out = c.bytes_out;
  return s;
}

}  // namespace ciro::network
