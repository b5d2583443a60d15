// Kademlia: codec, routing table, server and iterative client.

#include "network/kademlia.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <set>

#include "network/detail/session.h"
#include "network/protobuf.h"

namespace ciro::network {

using namespace detail;
using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------- codec

namespace kad {

namespace {
constexpr std::size_t MAX_PEERS = 64, MAX_ADDRS = 32;

Bytes encode_peer(const Peer& p) {
  pb::Writer w;
  w.bytes_field(1, p.id);
  for (const auto& a : p.addrs) w.bytes_field(2, a);
  if (p.connection) w.varint_field(3, p.connection);
  return w.take();
}

Result<Peer> decode_peer(std::span<const std::uint8_t> data) {
  Peer p;
  pb::Reader r(data);
  while (!r.done()) {
    CIRO_TRY(auto f, r.next());
    if (f.number == 1 && f.wire_type == 2) p.id.assign(f.data.begin(), f.data.end());
    else if (f.number == 2 && f.wire_type == 2) {
      if (p.addrs.size() >= MAX_ADDRS) return Error(Errc::limit_exceeded, "kad: too many addresses for one peer");
      p.addrs.emplace_back(f.data.begin(), f.data.end());
    } else if (f.number == 3 && f.wire_type == 0) p.connection = static_cast<std::uint32_t>(f.value);
    else if (f.number <= 3) return Error(Errc::protocol, "kad: bad peer field");
  }
  return p;
}
}  // namespace

Bytes encode(const Message& m) {
  pb::Writer w;
  w.varint_field(1, m.type);
  if (!m.key.empty()) w.bytes_field(2, m.key);
  if (m.record) w.bytes_field(3, *m.record);
  for (const auto& p : m.closer_peers) w.bytes_field(8, encode_peer(p));
  for (const auto& p : m.provider_peers) w.bytes_field(9, encode_peer(p));
  if (m.cluster_level) w.varint_field(10, m.cluster_level);
  return w.take();
}

Result<Message> decode(std::span<const std::uint8_t> data) {
  Message m;
  pb::Reader r(data);
  while (!r.done()) {
    CIRO_TRY(auto f, r.next());
    switch (f.number) {
      case 1:
        if (f.wire_type != 0) return Error(Errc::protocol, "kad: bad type field");
        m.type = static_cast<std::uint32_t>(f.value);
        break;
      case 2:
        if (f.wire_type != 2) return Error(Errc::protocol, "kad: bad key field");
        m.key.assign(f.data.begin(), f.data.end());
        break;
      case 3:
        if (f.wire_type != 2) return Error(Errc::protocol, "kad: bad record field");
        m.record = Bytes(f.data.begin(), f.data.end());
        break;
      case 8:
      case 9: {
        if (f.wire_type != 2) return Error(Errc::protocol, "kad: bad peer list");
        auto& list = f.number == 8 ? m.closer_peers : m.provider_peers;
        if (list.size() >= MAX_PEERS) return Error(Errc::limit_exceeded, "kad: too many peers");
        CIRO_TRY(auto p, decode_peer(f.data));
        list.push_back(std::move(p));
        break;
      }
      case 10:
        if (f.wire_type != 0) return Error(Errc::protocol, "kad: bad cluster level");
        m.cluster_level = static_cast<std::uint32_t>(f.value);
        break;
      default:
        break;
    }
  }
  return m;
}

Key key_of(std::span<const std::uint8_t> bytes) {
  Key k;
  crypto_hash_sha256(k.data(), bytes.data(), bytes.size());
  return k;
}

namespace {
Key distance(const Key& a, const Key& b) {
  Key d;
  for (std::size_t i = 0; i < d.size(); ++i) d[i] = a[i] ^ b[i];
  return d;
}
std::size_t common_prefix(const Key& d) {
  std::size_t n = 0;
  for (auto byte : d) {
    if (byte == 0) {
      n += 8;
      continue;
    }
    for (int bit = 7; bit >= 0 && !(byte & (1 << bit)); --bit) ++n;
    break;
  }
  return std::min<std::size_t>(n, 255);
}
}  // namespace

RoutingTable::RoutingTable(const PeerId& self, std::size_t k) : m_self(key_of(self.bytes())), m_k(k), m_buckets(256) {}

bool RoutingTable::add(const PeerId& peer) {
  const auto k = key_of(peer.bytes());
  if (k == m_self) return false;
  auto& b = m_buckets[common_prefix(distance(k, m_self))];
  if (std::find(b.begin(), b.end(), peer) != b.end()) return true;
  if (b.size() >= m_k) return false;
  b.push_back(peer);
  return true;
}

void RoutingTable::remove(const PeerId& peer) {
  auto& b = m_buckets[common_prefix(distance(key_of(peer.bytes()), m_self))];
  std::erase(b, peer);
}

bool RoutingTable::contains(const PeerId& peer) const {
  const auto& b = m_buckets[common_prefix(distance(key_of(peer.bytes()), m_self))];
  return std::find(b.begin(), b.end(), peer) != b.end();
}

std::vector<PeerId> RoutingTable::closest(const Key& key, std::size_t n) const {
  std::vector<std::pair<Key, PeerId>> all;
  for (const auto& b : m_buckets)
    for (const auto& p : b) all.emplace_back(distance(key_of(p.bytes()), key), p);
  std::sort(all.begin(), all.end());
  std::vector<PeerId> out;
  for (std::size_t i = 0; i < all.size() && i < n; ++i) out.push_back(all[i].second);
  return out;
}

std::vector<PeerId> RoutingTable::peers() const {
  std::vector<PeerId> out;
  for (const auto& b : m_buckets) out.insert(out.end(), b.begin(), b.end());
  return out;
}

std::size_t RoutingTable::size() const {
  std::size_t n = 0;
  for (const auto& b : m_buckets) n += b.size();
  return n;
}

}  // namespace kad

// ---------------------------------------------------------------- Kademlia

struct Kademlia::Impl : std::enable_shared_from_this<Kademlia::Impl> {
  Impl(Host& h, KadOptions o)
      : host(h), opts(std::move(o)), executor(h.executor()), gate(executor), table(h.peer_id(), opts.k) {}
  Host& host;
  KadOptions opts;
  asio::any_io_executor executor;
  TaskGate gate;
  kad::RoutingTable table;
  bool stopping = false;

  kad::Peer describe(const PeerId& p) {
    kad::Peer out;
    out.id = p.bytes();
    if (auto info = host.peer_store().get(p))
      for (const auto& a : info->addrs) out.addrs.push_back(a.to_bytes());
    out.connection = host.connections(p).empty() ? 0 : 1;
    return out;
  }

  Task<void> serve(std::shared_ptr<Impl> self, Stream s);
  Task<Result<std::vector<kad::Peer>>> request(std::shared_ptr<Impl> self, PeerId peer, kad::Message m);
  Task<Result<std::vector<PeerId>>> lookup(std::shared_ptr<Impl> self, Bytes key, std::optional<PeerId> target);
};

Task<void> Kademlia::Impl::serve(std::shared_ptr<Impl> self, Stream s) {
  const PeerId peer = s.remote_peer();
  for (std::size_t n = 0; n < opts.max_requests_per_stream && !stopping; ++n) {
    Result<Bytes> raw = Error(Errc::internal, "");
    {
      Stream guard = s;
      Deadline idle(executor, std::chrono::seconds(60), [guard]() mutable { guard.reset(); });
      raw = co_await read_length_prefixed(s, opts.max_message_size);
    }
    if (!raw) break;  // EOF, reset, too large
    auto req = kad::decode(*raw);
    if (!req) {
      log().debug("kad: peer {}: bad request: {}", peer.to_string(), req.error().to_string());
      break;
    }
    kad::Message resp;
    resp.type = req->type;
    if (req->type == static_cast<std::uint32_t>(kad::MessageType::ping)) {
      // echo
    } else {
      // FIND_NODE, and graceful answers (closer peers, no record) to the value/provider types
      resp.key = req->key;
      for (const auto& p : table.closest(kad::key_of(req->key), opts.k + 1))
        if (p != peer && resp.closer_peers.size() < opts.k) resp.closer_peers.push_back(describe(p));
    }
    auto w = co_await write_length_prefixed(s, kad::encode(resp));
    if (!w) break;
  }
  s.reset();
}

Task<Result<std::vector<kad::Peer>>> Kademlia::Impl::request(std::shared_ptr<Impl> self, PeerId peer, kad::Message m) {
  const std::vector<std::string> protos{opts.protocol};
  // (dialing, when needed, is bounded by the host's handshake timeout)
  auto s = co_await host.new_stream(peer, protos);
  if (!s) co_return s.error();
  Stream stream = *s;
  Deadline d(executor, opts.request_timeout, [stream]() mutable { stream.reset(); });
  auto w = co_await write_length_prefixed(stream, kad::encode(m));
  if (!w) co_return d.expired() ? Error(Errc::timeout, "kad request timed out") : w.error();
  auto raw = co_await read_length_prefixed(stream, opts.max_message_size);
  if (!raw) co_return d.expired() ? Error(Errc::timeout, "kad request timed out") : raw.error();
  (void)co_await stream.close_write();
  stream.reset();
  auto resp = kad::decode(*raw);
  if (!resp) co_return resp.error();
  if (resp->type != m.type) co_return Error(Errc::protocol, "kad: response of another type");
  co_return std::move(resp->closer_peers);
}

namespace {
struct Round {
  explicit Round(asio::any_io_executor ex) : done(ex) {}
  Signal done;
  std::size_t outstanding = 0;
  std::vector<std::pair<PeerId, Result<std::vector<kad::Peer>>>> results;
};

Task<void> query_one(std::shared_ptr<Kademlia::Impl> impl, std::shared_ptr<Round> round, PeerId peer, kad::Message m) {
  auto r = co_await impl->request(impl, peer, std::move(m));
  round->results.emplace_back(peer, std::move(r));
  if (--round->outstanding == 0) round->done.notify();
}
}  // namespace

Task<Result<std::vector<PeerId>>> Kademlia::Impl::lookup(std::shared_ptr<Impl> self, Bytes key, std::optional<PeerId> target) {
  const auto tkey = kad::key_of(key);
  auto dist = [&](const PeerId& p) {
    auto k = kad::key_of(p.bytes());
    for (std::size_t i = 0; i < k.size(); ++i) k[i] ^= tkey[i];
    return k;
  };
  std::map<kad::Key, PeerId> cands;
  std::set<PeerId> queried;
  std::map<kad::Key, PeerId> answered;
  for (const auto& p : table.closest(tkey, opts.k)) cands.emplace(dist(p), p);
  kad::Message req;
  req.type = static_cast<std::uint32_t>(kad::MessageType::find_node);
  req.key = key;
  const auto end = Clock::now() + opts.lookup_timeout;
  bool found = false;
  while (!stopping && !found && Clock::now() < end) {
    std::vector<PeerId> batch;
    std::size_t rank = 0;
    for (const auto& [d, p] : cands) {
      if (rank++ >= opts.k || batch.size() >= opts.alpha) break;
      if (!queried.contains(p)) batch.push_back(p);
    }
    if (batch.empty()) break;  // the k closest known have all been asked
    auto round = std::make_shared<Round>(executor);
    for (const auto& p : batch) {
      queried.insert(p);
      ++round->outstanding;
      if (!gate.spawn(query_one(self, round, p, req))) --round->outstanding;
    }
    while (round->outstanding > 0 && !stopping) co_await round->done.wait();
    for (auto& [peer, r] : round->results) {
      if (!r) {
        log().debug("kad: FIND_NODE to {} failed: {}", peer.to_string(), r.error().to_string());
        table.remove(peer);
        cands.erase(dist(peer));
        continue;
      }
      table.add(peer);
      answered.emplace(dist(peer), peer);
      for (const auto& kp : *r) {
        auto pid = PeerId::from_bytes(kp.id);
        if (!pid || *pid == host.peer_id()) continue;
        std::vector<Multiaddr> addrs;
        for (const auto& raw : kp.addrs)
          if (auto a = Multiaddr::from_bytes(raw)) addrs.push_back(*a);
        if (!addrs.empty()) host.peer_store().add_addrs(*pid, addrs);
        if (target && *pid == *target && !addrs.empty()) found = true;
        if (!addrs.empty() || !host.connections(*pid).empty()) cands.emplace(dist(*pid), *pid);
      }
    }
  }
  std::vector<PeerId> out;
  if (found) out.push_back(*target);
  for (const auto& [d, p] : answered)
    if (out.size() < opts.k && (!target || p != *target)) out.push_back(p);
  co_return out;
}

Kademlia::Kademlia(Host& host, KadOptions options) : m_impl(std::make_shared<Impl>(host, std::move(options))) {}

Kademlia::~Kademlia() {
  m_impl->stopping = true;
  m_impl->gate.close();
}

void Kademlia::start() {
  std::weak_ptr<Impl> w = m_impl;
  m_impl->host.set_handler(m_impl->opts.protocol, [w](Stream s) -> Task<void> {
    auto k = w.lock();
    if (!k) {
      s.reset();
      return [](Stream) -> Task<void> { co_return; }(s);
    }
    return k->serve(k, std::move(s));
  });
  m_impl->host.on_peer_identified([w](const PeerId& peer) {
    auto k = w.lock();
    if (!k || k->stopping) return;
    auto info = k->host.peer_store().get(peer);
    if (info && std::find(info->protocols.begin(), info->protocols.end(), k->opts.protocol) != info->protocols.end())
      k->table.add(peer);
  });
}

Task<void> Kademlia::stop() {
  auto impl = m_impl;
  impl->stopping = true;
  impl->host.remove_handler(impl->opts.protocol);
  impl->gate.close();
  Deadline grace(impl->executor, std::chrono::seconds(2), [impl] { impl->gate.cancel_all(); });
  co_await impl->gate.wait_idle();
}

Task<Result<std::size_t>> Kademlia::bootstrap(std::vector<Multiaddr> peers) {
  auto impl = m_impl;
  std::size_t reached = 0;
  Error last(Errc::invalid_argument, "no bootstrap peers given");
  for (const auto& a : peers) {
    auto c = co_await impl->host.dial(a);
    if (!c) {
      last = c.error();
      log().debug("kad: bootstrap {} failed: {}", a.to_string(), c.error().to_string());
      continue;
    }
    impl->table.add(c->remote_peer());
    ++reached;
  }
  if (reached == 0) co_return last;
  auto self_key = impl->host.peer_id().bytes();
  (void)co_await impl->lookup(impl, self_key, std::nullopt);
  co_return reached;
}

Task<Result<std::vector<Multiaddr>>> Kademlia::find_peer(PeerId peer) {
  auto impl = m_impl;
  auto known = impl->host.peer_store().get(peer);
  if (known && !known->addrs.empty() && !impl->host.connections(peer).empty()) co_return known->addrs;
  auto r = co_await impl->lookup(impl, peer.bytes(), peer);
  if (!r) co_return r.error();
  auto info = impl->host.peer_store().get(peer);
  if (info && !info->addrs.empty()) co_return info->addrs;
  co_return Error(Errc::not_found, "peer " + peer.to_string() + " not found in the DHT");
}

Task<Result<std::vector<kad::Peer>>> Kademlia::find_node(PeerId ask, Bytes key) {
  auto impl = m_impl;
  kad::Message req;
  req.type = static_cast<std::uint32_t>(kad::MessageType::find_node);
  req.key = std::move(key);
  co_return co_await impl->request(impl, std::move(ask), std::move(req));
}

Task<Result<std::vector<PeerId>>> Kademlia::closest_peers(Bytes key) {
  auto impl = m_impl;
  co_return co_await impl->lookup(impl, std::move(key), std::nullopt);
}

const kad::RoutingTable& Kademlia::routing_table() const { return m_impl->table; }

}  // namespace ciro::network
