// Host: listeners, connection upgrade (multistream → Noise → Yamux), handler registry, peer
// store, and the built-in protocols (identify + push, ping, perf).

#include "network/host.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <cstring>

#include "network/detail/session.h"
#include "network/identify.h"
#include "network/multistream.h"
#include "network/noise.h"
#include "network/protobuf.h"

namespace ciro::network {

using namespace detail;
using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------- PeerStore

void PeerStore::add_addrs(const PeerId& peer, const std::vector<Multiaddr>& addrs) {
  if (!m_peers.contains(peer) && m_peers.size() >= MAX_PEERS) return;
  auto& info = m_peers[peer];
  for (const auto& a : addrs) {
    auto plain = a.without_peer();
    if (std::find(info.addrs.begin(), info.addrs.end(), plain) == info.addrs.end() && info.addrs.size() < MAX_ADDRS)
      info.addrs.push_back(plain);
  }
}

void PeerStore::update(const PeerId& peer, PeerInfo info) {
  if (!m_peers.contains(peer) && m_peers.size() >= MAX_PEERS) return;
  if (info.addrs.size() > MAX_ADDRS) info.addrs.resize(MAX_ADDRS);
  if (info.protocols.size() > MAX_PROTOCOLS) info.protocols.resize(MAX_PROTOCOLS);
  auto& cur = m_peers[peer];
  auto dialed = cur.addrs;  // keep addresses we dialed successfully
  cur = std::move(info);
  for (const auto& a : dialed)
    if (std::find(cur.addrs.begin(), cur.addrs.end(), a) == cur.addrs.end() && cur.addrs.size() < MAX_ADDRS)
      cur.addrs.push_back(a);
}

std::optional<PeerInfo> PeerStore::get(const PeerId& peer) const {
  auto it = m_peers.find(peer);
  if (it == m_peers.end()) return std::nullopt;
  return it->second;
}

std::vector<PeerId> PeerStore::peers() const {
  std::vector<PeerId> out;
  for (const auto& [p, _] : m_peers) out.push_back(p);
  return out;
}

// ---------------------------------------------------------------- Impl

struct Connection::Impl {
  std::shared_ptr<Session> session;
  bool outbound = false;
  std::chrono::milliseconds negotiation_timeout{10000};
};

struct Host::Impl : std::enable_shared_from_this<Host::Impl> {
  Impl(asio::any_io_executor ex, utils::NodeKey k, HostOptions o)
      : executor(ex), key(std::move(k)), self(PeerId::from_public_key(key.public_key())), opts(std::move(o)), gate(ex) {
    randombytes_buf(static_secret.data(), static_secret.size());
  }

  asio::any_io_executor executor;
  utils::NodeKey key;
  PeerId self;
  HostOptions opts;
  noise::Key static_secret{};
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  std::vector<Multiaddr> bound;
  std::map<std::string, StreamHandler> handlers;
  PeerStore store;
  std::map<PeerId, std::vector<std::shared_ptr<Connection::Impl>>> conns;
  std::size_t conn_count = 0, pending = 0;
  std::size_t conn_in = 0, conn_out = 0, pending_in = 0, pending_out = 0;
  std::uint64_t refused_in = 0;
  // Per-IP token buckets for the inbound rate limit. Bounded: see admit_rate().
  struct IpBucket {
    double tokens;
    Clock::time_point last;
  };
  static constexpr std::size_t MAX_RATE_BUCKETS = 4096;
  std::map<asio::ip::address, IpBucket> rate_buckets;
  TaskGate gate;
  bool stopping = false;
  std::vector<Host::PeerEvent> connected_cbs, identified_cbs, disconnected_cbs;

  void fire(const std::vector<Host::PeerEvent>& cbs, const PeerId& peer) {
    auto copy = cbs;  // a callback may register another
    for (auto& cb : copy) cb(peer);
  }

  std::vector<std::string> protocol_list() const {
    std::vector<std::string> out;
    for (const auto& [p, _] : handlers) out.push_back(p);
    return out;
  }

  /// Takes back one pending (upgrade in progress) count when released or destroyed.
  struct PendingGuard {
    PendingGuard(Impl* h, bool outbound) : m_h(h), m_out(outbound) {}
    PendingGuard(const PendingGuard&) = delete;
    PendingGuard& operator=(const PendingGuard&) = delete;
    ~PendingGuard() { release(); }
    void release() {
      if (!m_h) return;
      --m_h->pending;
      --(m_out ? m_h->pending_out : m_h->pending_in);
      m_h = nullptr;
    }
    Impl* m_h;
    bool m_out;
  };
  Task<void> accept_loop(std::shared_ptr<Impl> self_ptr, tcp::acceptor* acc);
  bool admit_rate(const asio::ip::address& ip);
  bool admit_inbound(const tcp::socket& sock);
  Task<void> handle_inbound(std::shared_ptr<Impl> self_ptr, tcp::socket sock);
  Task<Result<std::shared_ptr<Connection::Impl>>> upgrade(tcp::socket sock, bool initiator, Multiaddr remote,
                                                           std::optional<PeerId> expected);
  void remove_connection(const PeerId& peer, Connection::Impl* c);
  std::shared_ptr<Connection::Impl> find_connection(const PeerId& peer) const;
  Task<void> serve_stream(std::shared_ptr<Impl> self_ptr, std::shared_ptr<StreamState> st);
  IdentifyMessage identify_message(const Multiaddr& observed) const;
  Result<PeerInfo> apply_identify(const PeerId& peer, const IdentifyMessage& m, bool push);
  Task<Result<PeerInfo>> run_identify(std::shared_ptr<Impl> self_ptr, std::shared_ptr<Connection::Impl> c);
  Task<void> identify_on_connect(std::shared_ptr<Impl> self_ptr, std::shared_ptr<Connection::Impl> c);
  Task<void> push_to(std::shared_ptr<Impl> self_ptr, std::shared_ptr<Connection::Impl> c);
  Task<Result<Connection>> dial(std::shared_ptr<Impl> self_ptr, Multiaddr addr);
  Task<Result<Stream>> new_stream(std::shared_ptr<Impl> self_ptr, PeerId peer, std::vector<std::string> protocols);

  // built-in handlers
  Task<void> handle_identify(std::shared_ptr<Impl> self_ptr, Stream s);
  Task<void> handle_identify_push(std::shared_ptr<Impl> self_ptr, Stream s);
  static Task<void> handle_ping(Stream s);
  static Task<void> handle_perf(Stream s);
  static Task<void> handle_gone(Stream s) {
    s.reset();
    co_return;
  }
};

namespace {

Task<Result<void>> write_noise_frame(tcp::socket& s, const Bytes& msg) {
  Bytes out{static_cast<std::uint8_t>(msg.size() >> 8), static_cast<std::uint8_t>(msg.size())};
  out.insert(out.end(), msg.begin(), msg.end());
  auto [ec, n] = co_await asio::async_write(s, asio::buffer(out), use_tuple);
  if (ec) co_return Error(Errc::io, "noise handshake write: " + ec.message());
  co_return Result<void>{};
}

Task<Result<Bytes>> read_noise_frame(tcp::socket& s) {
  std::uint8_t len[2];
  auto [ec, n] = co_await asio::async_read(s, asio::buffer(len, 2), use_tuple);
  if (ec) co_return Error(Errc::io, "noise handshake read: " + ec.message());
  Bytes msg((std::size_t(len[0]) << 8) | len[1]);
  auto [ec2, n2] = co_await asio::async_read(s, asio::buffer(msg), use_tuple);
  if (ec2) co_return Error(Errc::io, "noise handshake read: " + ec2.message());
  co_return msg;
}

Result<Multiaddr> endpoint_addr(const tcp::endpoint& ep) {
  return Multiaddr::from_ip_port(ep.address().to_string(), ep.port());
}

}  // namespace

Task<Result<std::shared_ptr<Connection::Impl>>> Host::Impl::upgrade(tcp::socket sock, bool initiator, Multiaddr remote,
                                                                     std::optional<PeerId> expected) {
  tcp::socket* current = &sock;
  Deadline deadline(executor, opts.handshake_timeout, [&current] {
    boost::system::error_code ec;
    current->close(ec);
  });
  auto timed_out = [&](Error e) -> Error {
    if (deadline.expired()) return Error(Errc::timeout, "connection upgrade timed out");
    return e;
  };
  // 1. security protocol
  TcpIo tcp_io(sock);
  // (GCC 12 miscompiles braced lists inside co_await expressions: build the vectors first.)
  const std::vector<std::string> security{noise::LIBP2P_PROTOCOL};
  // (and co_await inside ?: double-destroys the temporary: use if/else.)
  Result<std::string> sec = Error(Errc::internal, "");
  if (initiator) sec = co_await ms_select(&tcp_io, security);
  else sec = co_await ms_handle(&tcp_io, security);
  if (!sec) co_return timed_out(sec.error());
  // 2. Noise XX
  noise::Handshake hs(initiator, static_secret);
  std::vector<std::string> our_muxers{yamux::PROTOCOL};
  auto our_payload = noise::encode_payload(noise::make_payload(key, hs.local_static_public(), our_muxers));
  noise::Payload remote_payload;
  PeerId remote_peer;
  auto check_remote = [&](const Bytes& raw) -> Result<void> {
    CIRO_TRY(auto p, noise::decode_payload(raw));
    CIRO_TRY(auto peer, noise::verify_payload(p, hs.remote_static_public()));
    if (expected && *expected != peer)
      return Error(Errc::permission_denied, "peer id mismatch: dialed " + expected->to_string() + ", got " + peer.to_string());
    remote_payload = std::move(p);
    remote_peer = std::move(peer);
    return {};
  };
  if (initiator) {
    auto m1 = hs.write_message(std::span<const std::uint8_t>());
    if (!m1) co_return m1.error();
    auto w1 = co_await write_noise_frame(sock, *m1);
    if (!w1) co_return timed_out(w1.error());
    auto m2 = co_await read_noise_frame(sock);
    if (!m2) co_return timed_out(m2.error());
    auto p2 = hs.read_message(*m2);
    if (!p2) co_return p2.error();
    auto ok = check_remote(*p2);
    if (!ok) co_return ok.error();
    auto m3 = hs.write_message(our_payload);
    if (!m3) co_return m3.error();
    auto w3 = co_await write_noise_frame(sock, *m3);
    if (!w3) co_return timed_out(w3.error());
  } else {
    auto m1 = co_await read_noise_frame(sock);
    if (!m1) co_return timed_out(m1.error());
    auto p1 = hs.read_message(*m1);
    if (!p1) co_return p1.error();
    auto m2 = hs.write_message(our_payload);
    if (!m2) co_return m2.error();
    auto w2 = co_await write_noise_frame(sock, *m2);
    if (!w2) co_return timed_out(w2.error());
    auto m3 = co_await read_noise_frame(sock);
    if (!m3) co_return timed_out(m3.error());
    auto p3 = hs.read_message(*m3);
    if (!p3) co_return p3.error();
    auto ok = check_remote(*p3);
    if (!ok) co_return ok.error();
  }
  auto ciphers = hs.split();
  auto chan = std::make_unique<SecureChannel>(std::move(sock), ciphers.first, ciphers.second);
  current = &chan->socket();
  // 3. muxer: early negotiation in the Noise payloads, else multistream-select inside Noise.
  const auto& muxers = remote_payload.stream_muxers;
  if (!muxers.empty()) {
    if (std::find(muxers.begin(), muxers.end(), yamux::PROTOCOL) == muxers.end())
      co_return Error(Errc::protocol, "peer " + remote_peer.to_string() + " offers no muxer we support");
  } else {
    NoiseIo nio(*chan);
    const std::vector<std::string> muxer{yamux::PROTOCOL};
    Result<std::string> mux = Error(Errc::internal, "");
    if (initiator) mux = co_await ms_select(&nio, muxer);
    else mux = co_await ms_handle(&nio, muxer);
    if (!mux) co_return timed_out(mux.error());
    nio.give_back();
  }
  if (deadline.expired()) co_return Error(Errc::timeout, "connection upgrade timed out");
  SessionOptions so;
  so.client = initiator;
  so.max_streams = opts.max_streams_per_connection;
  so.max_window = std::clamp<std::uint32_t>(opts.max_stream_window, yamux::INITIAL_WINDOW, yamux::MAX_WINDOW);
  so.max_send_queue = opts.max_send_queue;
  auto session = std::make_shared<Session>(executor, std::move(chan), so, remote_peer, remote);
  auto c = std::make_shared<Connection::Impl>();
  c->session = session;
  c->outbound = initiator;
  c->negotiation_timeout = opts.negotiation_timeout;
  co_return c;
}

void Host::Impl::remove_connection(const PeerId& peer, Connection::Impl* c) {
  auto it = conns.find(peer);
  if (it == conns.end()) return;
  auto& v = it->second;
  auto before = v.size();
  std::erase_if(v, [this, c](const auto& p) {
    if (p.get() != c) return false;
    --(p->outbound ? conn_out : conn_in);
    return true;
  });
  conn_count -= before - v.size();
  if (v.empty()) {
    conns.erase(it);
    if (before > 0) fire(disconnected_cbs, peer);
  }
}

std::shared_ptr<Connection::Impl> Host::Impl::find_connection(const PeerId& peer) const {
  auto it = conns.find(peer);
  if (it == conns.end()) return nullptr;
  for (const auto& c : it->second)
    if (!c->session->closed()) return c;
  return nullptr;
}

namespace {
// Registers an upgraded connection: starts its loops and identify. Shared by dial and accept.
void start_connection(std::shared_ptr<Host::Impl> h, std::shared_ptr<Connection::Impl> c) {
  auto session = c->session;
  const PeerId peer = session->remote_peer();
  auto& list = h->conns[peer];
  const bool first = list.empty();
  list.push_back(c);
  ++h->conn_count;
  ++(c->outbound ? h->conn_out : h->conn_in);
  std::weak_ptr<Host::Impl> wh = h;
  Connection::Impl* raw = c.get();
  session->on_close([wh, peer, raw](const Error& e) {
    log().debug("peer {}: connection closed: {}", peer.to_string(), e.to_string());
    if (auto hh = wh.lock()) hh->remove_connection(peer, raw);
  });
  session->on_inbound([wh](std::shared_ptr<StreamState> st) {
    auto hh = wh.lock();
    if (!hh || !hh->gate.spawn(hh->serve_stream(hh, st))) Stream(st).reset();
  });
  h->gate.spawn(session->run_reader(session));
  h->gate.spawn(session->run_writer(session));
  h->gate.spawn(h->identify_on_connect(h, c));
  if (first) h->fire(h->connected_cbs, peer);
  log().debug("peer {}: connected ({}, {})", peer.to_string(), c->outbound ? "outbound" : "inbound",
              session->remote_addr().to_string());
}
}  // namespace

Task<void> Host::Impl::accept_loop(std::shared_ptr<Impl> self_ptr, tcp::acceptor* acc) {
  while (!stopping) {
    auto [ec, sock] = co_await acc->async_accept(use_tuple);
    if (ec) {
      if (stopping || !acc->is_open() || ec == asio::error::operation_aborted) break;
      log().debug("accept failed: {}", ec.message());
      asio::steady_timer t(executor, std::chrono::milliseconds(50));  // e.g. out of descriptors
      co_await t.async_wait(use_tuple);
      continue;
    }
    if (!admit_inbound(sock)) {
      ++refused_in;
      boost::system::error_code cec;
      sock.close(cec);  // before any handshake work
      continue;
    }
    // Counted as pending from here, so that back-to-back accepts see each other.
    ++pending;
    ++pending_in;
    if (!gate.spawn(handle_inbound(self_ptr, std::move(sock)))) {
      --pending;
      --pending_in;
    }
  }
}

bool Host::Impl::admit_rate(const asio::ip::address& ip) {
  if (opts.inbound_rate_per_ip <= 0) return true;
  const auto now = Clock::now();
  const double burst = std::max(1.0, opts.inbound_burst_per_ip);
  auto refill = [&](IpBucket& b) {
    b.tokens = std::min(burst, b.tokens + std::chrono::duration<double>(now - b.last).count() * opts.inbound_rate_per_ip);
    b.last = now;
  };
  if (!rate_buckets.contains(ip) && rate_buckets.size() >= MAX_RATE_BUCKETS) {
    // Forget IPs whose bucket is full again (they are indistinguishable from new ones). If every
    // tracked IP is still throttled, start over: failing open for a moment beats an unbounded map
    // or refusing every new IP (the connection limits still apply).
    for (auto it = rate_buckets.begin(); it != rate_buckets.end();) {
      refill(it->second);
      it = it->second.tokens >= burst ? rate_buckets.erase(it) : std::next(it);
    }
    if (rate_buckets.size() >= MAX_RATE_BUCKETS) rate_buckets.clear();
  }
  auto [it, fresh] = rate_buckets.try_emplace(ip, IpBucket{burst, now});
  refill(it->second);
  if (it->second.tokens < 1) return false;
  it->second.tokens -= 1;
  return true;
}

bool Host::Impl::admit_inbound(const tcp::socket& sock) {
  boost::system::error_code ec;
  auto ep = sock.remote_endpoint(ec);
  if (ec) return false;
  if (!admit_rate(ep.address())) {
    log().debug("refusing inbound connection from {}: over {}/s", ep.address().to_string(), opts.inbound_rate_per_ip);
    return false;
  }
  if (conn_count + pending >= opts.max_connections || conn_in + pending_in >= opts.max_inbound_connections) {
    log().debug("refusing inbound connection from {}: {} connections ({} inbound)", ep.address().to_string(),
                conn_count + pending, conn_in + pending_in);
    return false;
  }
  return true;
}

Task<void> Host::Impl::handle_inbound(std::shared_ptr<Impl> self_ptr, tcp::socket sock) {
  // accept_loop counted this connection as pending.
  PendingGuard uncount(this, false);
  boost::system::error_code ec;
  auto ep = sock.remote_endpoint(ec);
  if (ec) co_return;
  auto remote = endpoint_addr(ep);
  if (!remote) co_return;
  sock.set_option(tcp::no_delay(true), ec);
  auto c = co_await upgrade(std::move(sock), false, *remote, std::nullopt);
  uncount.release();
  if (!c) {
    log().debug("inbound {} failed: {}", remote->to_string(), c.error().to_string());
    co_return;
  }
  if (stopping) co_return;
  start_connection(self_ptr, *c);
}

Task<Result<Connection>> Host::Impl::dial(std::shared_ptr<Impl> self_ptr, Multiaddr addr) {
  if (stopping) co_return Error(Errc::unavailable, "host is stopping");
  auto expected = addr.peer_id();
  if (expected && *expected == self) co_return Error(Errc::invalid_argument, "cannot dial ourselves");
  if (expected)
    if (auto c = find_connection(*expected)) co_return Connection(c);
  auto host = addr.host();
  auto port = addr.tcp_port();
  if (!host || !port) co_return Error(Errc::invalid_argument, "not a TCP multiaddr: " + addr.to_string());
  if (conn_count + pending >= opts.max_connections) co_return Error(Errc::limit_exceeded, "too many connections");
  if (conn_out + pending_out >= opts.max_outbound_connections)
    co_return Error(Errc::limit_exceeded, "too many outbound connections");
  // Counted from before the connect, so that concurrent dials see each other.
  ++pending;
  ++pending_out;
  PendingGuard uncount(this, true);
  tcp::socket sock(executor);
  bool connect_timed_out = false;
  {
    Deadline deadline(executor, opts.handshake_timeout, [&sock, &connect_timed_out] {
      connect_timed_out = true;
      boost::system::error_code ec;
      sock.close(ec);
    });
    const auto code = addr.components().front().code;
    boost::system::error_code ec;
    if (code == Multiaddr::IP4 || code == Multiaddr::IP6) {
      auto ip = asio::ip::make_address(*host, ec);
      if (ec) co_return Error(Errc::invalid_argument, "bad ip in " + addr.to_string());
      auto [cec] = co_await sock.async_connect(tcp::endpoint(ip, *port), use_tuple);
      ec = cec;
    } else {
      tcp::resolver resolver(executor);
      auto [rec, results] = co_await resolver.async_resolve(*host, std::to_string(*port), use_tuple);
      if (rec) co_return Error(Errc::unavailable, "resolve " + *host + ": " + rec.message());
      auto [cec, ep] = co_await asio::async_connect(sock, results, use_tuple);
      ec = cec;
    }
    if (connect_timed_out) co_return Error(Errc::timeout, "connect to " + addr.to_string() + " timed out");
    if (ec) co_return Error(Errc::unavailable, "connect to " + addr.to_string() + ": " + ec.message());
  }
  boost::system::error_code ec;
  sock.set_option(tcp::no_delay(true), ec);
  auto c = co_await upgrade(std::move(sock), true, addr.without_peer(), expected);
  uncount.release();
  if (!c) co_return c.error();
  if (stopping) {
    (*c)->session->close(Error(Errc::cancelled, "host stopping"));
    co_return Error(Errc::unavailable, "host is stopping");
  }
  store.add_addrs((*c)->session->remote_peer(), {addr.without_peer()});
  start_connection(self_ptr, *c);
  co_return Connection(*c);
}

Task<Result<Stream>> Host::Impl::new_stream(std::shared_ptr<Impl> self_ptr, PeerId peer,
                                            std::vector<std::string> protocols) {
  auto c = find_connection(peer);
  if (!c) {
    auto info = store.get(peer);
    if (!info || info->addrs.empty()) co_return Error(Errc::not_found, "no address known for peer " + peer.to_string());
    Error last(Errc::unavailable, "no address worked");
    for (const auto& a : info->addrs) {
      auto r = co_await dial(self_ptr, a.with_peer(peer));
      if (r) {
        c = find_connection(peer);
        break;
      }
      last = r.error();
    }
    if (!c) co_return last;
  }
  co_return co_await Connection(c).new_stream(std::move(protocols));
}

Task<void> Host::Impl::serve_stream(std::shared_ptr<Impl> self_ptr, std::shared_ptr<StreamState> st) {
  Stream s(st);
  Result<std::string> proto = Error(Errc::internal, "");
  {
    StreamIo io(s);
    Deadline d(executor, opts.negotiation_timeout, [st] { Stream(st).reset(); });
    proto = co_await ms_handle(&io, protocol_list());
  }
  if (!proto) {
    log().debug("peer {}: stream {} negotiation failed: {}", st->peer.to_string(), st->id, proto.error().to_string());
    s.reset();
    co_return;
  }
  st->protocol = *proto;
  auto it = handlers.find(*proto);
  if (it == handlers.end()) {  // removed meanwhile
    s.reset();
    co_return;
  }
  StreamHandler handler = it->second;
  co_await handler(s);
}

// ---------------------------------------------------------------- identify

IdentifyMessage Host::Impl::identify_message(const Multiaddr& observed) const {
  IdentifyMessage m;
  m.public_key = utils::libp2p_public_key_protobuf(key.public_key());
  for (const auto& a : bound) m.listen_addrs.push_back(a.to_bytes());
  m.protocols = protocol_list();
  if (!observed.empty()) m.observed_addr = observed.to_bytes();
  m.protocol_version = opts.protocol_version;
  m.agent_version = opts.agent_version;
  return m;
}

Result<PeerInfo> Host::Impl::apply_identify(const PeerId& peer, const IdentifyMessage& m, bool push) {
  if (m.public_key.empty()) {
    if (!push) return Error(Errc::protocol, "identify: no public key");
  } else {
    // The key must be the connection's: compare its peer id.
    pb::Reader r(m.public_key);
    std::uint64_t type = UINT64_MAX;
    Bytes data;
    while (!r.done()) {
      CIRO_TRY(auto f, r.next());
      if (f.number == 1 && f.wire_type == 0) type = f.value;
      if (f.number == 2 && f.wire_type == 2) data.assign(f.data.begin(), f.data.end());
    }
    if (type != 1 || data.size() != 32) {
      // Non-Ed25519 keys hash into the id; we only speak Ed25519 peers (Noise checked it already).
      return Error(Errc::protocol, "identify: public key is not Ed25519");
    }
    utils::Ed25519PublicKey k;
    std::memcpy(k.data(), data.data(), 32);
    if (PeerId::from_public_key(k) != peer) return Error(Errc::protocol, "identify: public key does not match peer id");
  }
  PeerInfo info;
  if (push) {
    if (auto cur = store.get(peer)) info = *cur;
    if (!m.listen_addrs.empty()) info.addrs.clear();
    if (!m.protocols.empty()) info.protocols.clear();
  }
  for (const auto& raw : m.listen_addrs) {
    auto a = Multiaddr::from_bytes(raw);
    if (a) info.addrs.push_back(a->without_peer());  // skip transports we do not know
  }
  for (const auto& p : m.protocols) info.protocols.push_back(p);
  if (m.agent_version) info.agent_version = *m.agent_version;
  if (m.protocol_version) info.protocol_version = *m.protocol_version;
  if (m.observed_addr)
    if (auto a = Multiaddr::from_bytes(*m.observed_addr)) info.observed_addr = *a;
  store.update(peer, info);
  return info;
}

Task<Result<PeerInfo>> Host::Impl::run_identify(std::shared_ptr<Impl> self_ptr, std::shared_ptr<Connection::Impl> c) {
  const PeerId peer = c->session->remote_peer();
  const std::vector<std::string> protos{IDENTIFY_PROTOCOL};
  auto s = co_await Connection(c).new_stream(protos);
  if (!s) co_return s.error();
  Stream stream = *s;
  Deadline d(executor, opts.identify_timeout, [stream]() mutable { stream.reset(); });
  auto raw = co_await read_length_prefixed(stream, MAX_IDENTIFY_MESSAGE);
  if (!raw) {
    stream.reset();
    co_return d.expired() ? Error(Errc::timeout, "identify timed out") : raw.error();
  }
  (void)co_await stream.close_write();
  auto m = decode_identify(*raw);
  if (!m) co_return m.error();
  co_return apply_identify(peer, *m, false);
}

Task<void> Host::Impl::identify_on_connect(std::shared_ptr<Impl> self_ptr, std::shared_ptr<Connection::Impl> c) {
  auto r = co_await run_identify(self_ptr, c);
  if (!r) log().debug("peer {}: identify failed: {}", c->session->remote_peer().to_string(), r.error().to_string());
  else if (!stopping && !c->session->closed()) fire(identified_cbs, c->session->remote_peer());
}

Task<void> Host::Impl::handle_identify(std::shared_ptr<Impl> self_ptr, Stream s) {
  auto w = co_await write_length_prefixed(s, encode_identify(identify_message(s.remote_addr())));
  if (!w) {
    s.reset();
    co_return;
  }
  (void)co_await s.close_write();
}

Task<void> Host::Impl::handle_identify_push(std::shared_ptr<Impl> self_ptr, Stream s) {
  Stream guard = s;
  Deadline d(executor, opts.identify_timeout, [guard]() mutable { guard.reset(); });
  auto raw = co_await read_length_prefixed(s, MAX_IDENTIFY_MESSAGE);
  if (!raw) {
    s.reset();
    co_return;
  }
  auto m = decode_identify(*raw);
  auto r = m ? apply_identify(s.remote_peer(), *m, true) : Result<PeerInfo>(m.error());
  if (!r) {
    log().debug("peer {}: bad identify push: {}", s.remote_peer().to_string(), r.error().to_string());
    s.reset();
    co_return;
  }
  if (!stopping) fire(identified_cbs, s.remote_peer());
  (void)co_await s.close_write();
}

Task<void> Host::Impl::push_to(std::shared_ptr<Impl> self_ptr, std::shared_ptr<Connection::Impl> c) {
  const std::vector<std::string> protos{IDENTIFY_PUSH_PROTOCOL};
  auto s = co_await Connection(c).new_stream(protos);
  if (!s) co_return;
  auto w = co_await write_length_prefixed(*s, encode_identify(identify_message(c->session->remote_addr())));
  if (!w) {
    s->reset();
    co_return;
  }
  (void)co_await s->close_write();
}

// ---------------------------------------------------------------- ping, perf

Task<void> Host::Impl::handle_ping(Stream s) {
  std::array<std::uint8_t, 32> buf;
  for (;;) {
    auto r = co_await s.read_exact(buf);
    if (!r) break;
    auto w = co_await s.write(buf);
    if (!w) break;
  }
  (void)co_await s.close_write();
}

namespace {
const Bytes& perf_block() {
  static const Bytes block(64 * 1024, 0);
  return block;
}
}  // namespace

Task<void> Host::Impl::handle_perf(Stream s) {
  std::array<std::uint8_t, 8> hdr;
  if (!co_await s.read_exact(hdr)) {
    s.reset();
    co_return;
  }
  std::uint64_t to_send = 0;
  for (auto b : hdr) to_send = (to_send << 8) | b;
  Bytes buf(64 * 1024);
  for (;;) {
    auto r = co_await s.read_some(buf);
    if (!r) {
      s.reset();
      co_return;
    }
    if (*r == 0) break;
  }
  const auto& block = perf_block();
  while (to_send > 0) {
    std::size_t n = std::min<std::uint64_t>(to_send, block.size());
    if (!co_await s.write(std::span(block.data(), n))) {
      s.reset();
      co_return;
    }
    to_send -= n;
  }
  (void)co_await s.close_write();
}

// ---------------------------------------------------------------- public classes

const PeerId& Connection::remote_peer() const { return m_impl->session->remote_peer(); }
const Multiaddr& Connection::remote_addr() const { return m_impl->session->remote_addr(); }
bool Connection::is_outbound() const { return m_impl->outbound; }
bool Connection::is_open() const { return m_impl && !m_impl->session->closed(); }

void Connection::close() {
  if (!m_impl) return;
  m_impl->session->go_away(yamux::GoAwayCode::Normal);
  // Give the writer a chance to send the GoAway before the socket closes.
  auto s = m_impl->session;
  asio::co_spawn(s->executor(), [](std::shared_ptr<Session> ss) -> Task<void> {
    co_await ss->flush(std::chrono::milliseconds(500));
    ss->close(Error(Errc::cancelled, "closed locally"));
  }(s), [](std::exception_ptr) {});
}

Task<Result<Stream>> Connection::new_stream(std::vector<std::string> protocols) {
  auto impl = m_impl;
  if (!impl) co_return Error(Errc::invalid_argument, "empty connection handle");
  auto st = impl->session->open_stream();
  if (!st) co_return st.error();
  Stream s(*st);
  Result<std::string> proto = Error(Errc::internal, "");
  bool expired = false;
  {
    StreamIo io(s);
    Deadline d(impl->session->executor(), impl->negotiation_timeout, [s]() mutable { s.reset(); });
    proto = co_await ms_select(&io, std::move(protocols));
    expired = d.expired();
  }
  if (!proto) {
    s.reset();
    if (expired) co_return Error(Errc::timeout, "protocol negotiation timed out");
    co_return proto.error();
  }
  (*st)->protocol = *proto;
  co_return s;
}

Host::Host(asio::any_io_executor executor, utils::NodeKey key, HostOptions options)
    : m_impl(std::make_shared<Impl>(executor, std::move(key), std::move(options))) {
  auto* impl = m_impl.get();
  std::weak_ptr<Impl> w = m_impl;
  impl->handlers[IDENTIFY_PROTOCOL] = [w](Stream s) -> Task<void> {
    auto h = w.lock();
    return h ? h->handle_identify(h, std::move(s)) : Impl::handle_gone(std::move(s));
  };
  impl->handlers[IDENTIFY_PUSH_PROTOCOL] = [w](Stream s) -> Task<void> {
    auto h = w.lock();
    return h ? h->handle_identify_push(h, std::move(s)) : Impl::handle_gone(std::move(s));
  };
  impl->handlers[PING_PROTOCOL] = &Impl::handle_ping;
  if (impl->opts.enable_perf) impl->handlers[PERF_PROTOCOL] = &Impl::handle_perf;
}

Host::~Host() {
  // Best effort when stop() was not awaited: close sockets; tasks finish on their own later.
  auto& i = *m_impl;
  i.stopping = true;
  i.gate.close();
  boost::system::error_code ec;
  for (auto& a : i.acceptors) a->close(ec);
  std::vector<std::shared_ptr<Connection::Impl>> all;
  for (auto& [p, v] : i.conns)
    for (auto& c : v) all.push_back(c);
  for (auto& c : all) c->session->close(Error(Errc::cancelled, "host destroyed"));
}

Result<void> Host::listen() {
  auto& i = *m_impl;
  for (const auto& text : i.opts.listen_addrs) {
    CIRO_TRY(auto addr, Multiaddr::parse(text));
    auto host = addr.host();
    auto port = addr.tcp_port();
    const auto code = addr.components().front().code;
    if (!host || !port || (code != Multiaddr::IP4 && code != Multiaddr::IP6))
      return Error(Errc::invalid_argument, "listen address must be /ip4|ip6/…/tcp/…: " + text);
    boost::system::error_code ec;
    auto ip = asio::ip::make_address(*host, ec);
    if (ec) return Error(Errc::invalid_argument, "bad listen ip: " + text);
    auto acc = std::make_unique<tcp::acceptor>(i.executor);
    tcp::endpoint ep(ip, *port);
    acc->open(ep.protocol(), ec);
    if (!ec) acc->set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acc->bind(ep, ec);
    if (!ec) acc->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Error(Errc::io, "listen on " + text + ": " + ec.message());
    auto local = acc->local_endpoint(ec);
    if (ec) return Error(Errc::io, "listen on " + text + ": " + ec.message());
    CIRO_TRY(auto bound, endpoint_addr(local));
    i.bound.push_back(bound);
    auto* raw = acc.get();
    i.acceptors.push_back(std::move(acc));
    i.gate.spawn(i.accept_loop(m_impl, raw));
  }
  return {};
}

std::vector<Multiaddr> Host::listen_addrs() const { return m_impl->bound; }
const PeerId& Host::peer_id() const { return m_impl->self; }
const utils::NodeKey& Host::node_key() const { return m_impl->key; }
asio::any_io_executor Host::executor() const { return m_impl->executor; }
void Host::set_handler(std::string protocol, StreamHandler handler) { m_impl->handlers[std::move(protocol)] = std::move(handler); }
void Host::remove_handler(const std::string& protocol) { m_impl->handlers.erase(protocol); }
std::vector<std::string> Host::protocols() const { return m_impl->protocol_list(); }
PeerStore& Host::peer_store() { return m_impl->store; }
void Host::on_peer_connected(PeerEvent callback) { m_impl->connected_cbs.push_back(std::move(callback)); }
void Host::on_peer_identified(PeerEvent callback) { m_impl->identified_cbs.push_back(std::move(callback)); }
void Host::on_peer_disconnected(PeerEvent callback) { m_impl->disconnected_cbs.push_back(std::move(callback)); }
std::size_t Host::connection_count() const { return m_impl->conn_count + m_impl->pending; }
std::size_t Host::inbound_count() const { return m_impl->conn_in + m_impl->pending_in; }
std::size_t Host::outbound_count() const { return m_impl->conn_out + m_impl->pending_out; }
std::uint64_t Host::refused_inbound() const { return m_impl->refused_in; }

void Host::disconnect(const PeerId& peer) {
  auto it = m_impl->conns.find(peer);
  if (it == m_impl->conns.end()) return;
  auto list = it->second;
  for (auto& c : list) Connection(c).close();
}

Task<Result<Connection>> Host::dial(Multiaddr addr) { co_return co_await m_impl->dial(m_impl, std::move(addr)); }

Task<Result<Stream>> Host::new_stream(PeerId peer, std::vector<std::string> protocols) {
  co_return co_await m_impl->new_stream(m_impl, std::move(peer), std::move(protocols));
}

Task<Result<std::chrono::microseconds>> Host::ping(PeerId peer) {
  auto impl = m_impl;
  const std::vector<std::string> protos{PING_PROTOCOL};
  auto s = co_await impl->new_stream(impl, peer, protos);
  if (!s) co_return s.error();
  Stream stream = *s;
  Deadline d(impl->executor, impl->opts.ping_timeout, [stream]() mutable { stream.reset(); });
  std::array<std::uint8_t, 32> out, in;
  randombytes_buf(out.data(), out.size());
  const auto start = Clock::now();
  auto w = co_await stream.write(out);
  if (!w) co_return d.expired() ? Error(Errc::timeout, "ping timed out") : w.error();
  auto r = co_await stream.read_exact(in);
  if (!r) co_return d.expired() ? Error(Errc::timeout, "ping timed out") : r.error();
  const auto rtt = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
  (void)co_await stream.close_write();
  if (in != out) {
    stream.reset();
    co_return Error(Errc::protocol, "ping: wrong echo");
  }
  co_return rtt;
}

Task<Result<PeerInfo>> Host::identify(PeerId peer) {
  auto impl = m_impl;
  auto c = impl->find_connection(peer);
  if (!c) co_return Error(Errc::unavailable, "not connected to " + peer.to_string());
  co_return co_await impl->run_identify(impl, c);
}

void Host::push_identify() {
  for (auto& [p, v] : m_impl->conns)
    for (auto& c : v)
      if (!c->session->closed()) m_impl->gate.spawn(m_impl->push_to(m_impl, c));
}

Task<Result<std::chrono::nanoseconds>> Host::perf(PeerId peer, std::uint64_t upload, std::uint64_t download) {
  auto impl = m_impl;
  const auto start = Clock::now();
  const std::vector<std::string> protos{PERF_PROTOCOL};
  auto s = co_await impl->new_stream(impl, peer, protos);
  if (!s) co_return s.error();
  Stream stream = *s;
  std::array<std::uint8_t, 8> hdr;
  for (int i = 0; i < 8; ++i) hdr[i] = static_cast<std::uint8_t>(download >> (56 - 8 * i));
  auto w = co_await stream.write(hdr);
  if (!w) co_return w.error();
  const auto& block = perf_block();
  for (std::uint64_t left = upload; left > 0;) {
    std::size_t n = std::min<std::uint64_t>(left, block.size());
    auto wr = co_await stream.write(std::span(block.data(), n));
    if (!wr) co_return wr.error();
    left -= n;
  }
  auto cw = co_await stream.close_write();
  if (!cw) co_return cw.error();
  Bytes buf(256 * 1024);
  std::uint64_t got = 0;
  for (;;) {
    auto r = co_await stream.read_some(buf);
    if (!r) co_return r.error();
    if (*r == 0) break;
    got += *r;
  }
  if (got != download)
    co_return Error(Errc::protocol, "perf: got " + std::to_string(got) + " bytes, asked " + std::to_string(download));
  co_return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start);
}

std::vector<Connection> Host::connections(const PeerId& peer) const {
  std::vector<Connection> out;
  auto it = m_impl->conns.find(peer);
  if (it != m_impl->conns.end())
    for (auto& c : it->second) out.emplace_back(c);
  return out;
}

std::vector<PeerId> Host::connected_peers() const {
  std::vector<PeerId> out;
  for (auto& [p, v] : m_impl->conns)
    if (!v.empty()) out.push_back(p);
  return out;
}

Task<void> Host::stop() {
  auto impl = m_impl;
  if (impl->stopping && impl->gate.closed() && impl->gate.running() == 0) co_return;
  impl->stopping = true;
  boost::system::error_code ec;
  for (auto& a : impl->acceptors) a->close(ec);
  std::vector<std::shared_ptr<Connection::Impl>> all;
  for (auto& [p, v] : impl->conns)
    for (auto& c : v) all.push_back(c);
  for (auto& c : all) c->session->go_away(yamux::GoAwayCode::Normal);
  for (auto& c : all) co_await c->session->flush(std::chrono::milliseconds(500));
  for (auto& c : all) c->session->close(Error(Errc::cancelled, "host stopping"));
  impl->gate.close();
  {
    // Tasks still running after a grace period (a handler waiting on something of its own)
    // get a terminal cancellation.
    Deadline grace(impl->executor, std::chrono::seconds(2), [impl] { impl->gate.cancel_all(); });
    co_await impl->gate.wait_idle();
  }
}

}  // namespace ciro::network
