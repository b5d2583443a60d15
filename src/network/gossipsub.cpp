// GossipSub router: peers and their streams, message handling (StrictSign, seen cache,
// validation, forwarding), control messages, heartbeat (mesh upkeep, fanout, gossip, scores).

#include "network/gossipsub.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <map>
#include <random>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "network/detail/session.h"
#include "network/gossipsub_rpc.h"

namespace ciro::network {

using namespace detail;
using Clock = std::chrono::steady_clock;
using MsgId = std::string;  // binary message id, as a map key

namespace {

const std::vector<std::string>& meshsub_protocols() {
  static const std::vector<std::string> p{MESHSUB_V12, MESHSUB_V11, MESHSUB_V10};
  return p;
}

bool is_meshsub(const std::string& p) {
  const auto& all = meshsub_protocols();
  return std::find(all.begin(), all.end(), p) != all.end();
}

MsgId to_id(const Bytes& b) { return MsgId(b.begin(), b.end()); }
Bytes id_bytes(const MsgId& s) { return Bytes(s.begin(), s.end()); }

/// The author's Ed25519 key: from `key` when present (it must match `from`), else inlined in `from`.
/// nullopt: not an Ed25519 author (we cannot check it) or inconsistent fields.
struct Author {
  PeerId id;
  utils::Ed25519PublicKey key;
};

enum class AuthorError { malformed, unsupported };

std::variant<Author, AuthorError> author_of(const gossip::Message& m) {
  if (!m.from) return AuthorError::malformed;
  auto pid = PeerId::from_bytes(*m.from);
  if (!pid) return AuthorError::malformed;
  auto inl = pid->ed25519_key();
  if (m.key) {
    // libp2p PublicKey protobuf: 08 01 12 20 <32 bytes> for Ed25519.
    const Bytes& k = *m.key;
    if (k.size() != 36 || k[0] != 0x08 || k[1] != 0x01 || k[2] != 0x12 || k[3] != 0x20) {
      if (inl) return AuthorError::malformed;  // an Ed25519 author with some other key
      return AuthorError::unsupported;
    }
    utils::Ed25519PublicKey key;
    std::memcpy(key.data(), k.data() + 4, 32);
    if (PeerId::from_public_key(key) != *pid) return AuthorError::malformed;
    return Author{*pid, key};
  }
  if (!inl) return AuthorError::unsupported;
  return Author{*pid, *inl};
}

Bytes message_id(const utils::Ed25519PublicKey& key, const Bytes& seqno) {
  Bytes id = utils::libp2p_public_key_protobuf(key);
  id.insert(id.end(), seqno.begin(), seqno.end());
  return id;
}

}  // namespace

// ---------------------------------------------------------------- state

struct GossipPeer {
  explicit GossipPeer(asio::any_io_executor ex) : wake(ex) {}
  PeerId id;
  std::string protocol;  ///< negotiated on our outbound stream ("" until open)
  bool connected = true;
  bool writer_running = false;
  bool outbound_failed = false;  ///< the peer refused our gossip stream: we only listen to it
  Stream out;
  std::vector<Stream> inbound;
  std::deque<Bytes> queue;
  std::size_t queued_bytes = 0;
  Signal wake;
  std::set<std::string> topics;
  std::unordered_set<MsgId> dontwant;
  std::deque<std::pair<MsgId, Clock::time_point>> dontwant_order;
  std::size_t idontwant_this_heartbeat = 0;
  std::size_t ihave_ids_this_heartbeat = 0;
  std::size_t iwant_ids_this_heartbeat = 0;
};

struct PeerScore {
  double invalid = 0;
  double behaviour = 0;
  std::map<std::string, double> first_deliveries;
  std::map<std::string, std::uint64_t> mesh_deliveries;  ///< informational: messages from the peer while in our mesh
  Clock::time_point last_seen = Clock::now();
};

struct CacheEntry {
  gossip::Message msg;
  std::string topic;
  std::map<PeerId, std::size_t> iwant_count;
};

struct Gossip::Impl : std::enable_shared_from_this<Gossip::Impl> {
  Impl(Host& h, GossipOptions o)
      : host(h), opts(std::move(o)), executor(h_executor(h)), gate(executor), heartbeat_timer(executor) {
    std::uint64_t s = 0;
    randombytes_buf(&s, sizeof(s));
    seqno = s;
    rng.seed(static_cast<std::uint32_t>(s));
  }
  static asio::any_io_executor h_executor(Host& h);

  Host& host;
  GossipOptions opts;
  asio::any_io_executor executor;
  TaskGate gate;
  asio::steady_timer heartbeat_timer;
  bool started = false, stopping = false;
  std::uint64_t seqno;
  std::mt19937 rng;
  gossip::RpcLimits limits;

  std::map<PeerId, std::shared_ptr<GossipPeer>> peers;
  std::map<PeerId, PeerScore> scores;
  std::map<PeerId, Clock::time_point> banned;
  std::map<std::string, GossipHandler> subscriptions;
  std::map<std::string, GossipValidator> validators;
  std::map<std::string, std::set<PeerId>> mesh;
  std::map<std::string, std::set<PeerId>> fanout;
  std::map<std::string, Clock::time_point> fanout_last_publish;
  std::map<std::string, std::map<PeerId, Clock::time_point>> backoff;
  // message cache: windows of ids, newest first
  std::deque<std::vector<MsgId>> mcache_windows{1};
  std::unordered_map<MsgId, CacheEntry> mcache;
  // seen cache
  std::unordered_set<MsgId> seen;
  std::deque<std::pair<MsgId, Clock::time_point>> seen_order;
  GossipCounters counters;

  // --- peers and streams
  std::shared_ptr<GossipPeer> ensure_peer(const PeerId& id);
  void drop_peer(const PeerId& id);
  void send(const std::shared_ptr<GossipPeer>& p, const gossip::Rpc& rpc);
  Task<void> writer(std::shared_ptr<Impl> self, std::shared_ptr<GossipPeer> p);
  Task<void> reader(std::shared_ptr<Impl> self, Stream s);
  Task<void> heartbeat_loop(std::shared_ptr<Impl> self);
  gossip::Rpc hello() const;

  // --- scores
  double score_of(const PeerId& id) const;
  PeerScore& score_rec(const PeerId& id) {
    auto& s = scores[id];
    s.last_seen = Clock::now();
    return s;
  }
  void check_score(const PeerId& id);
  bool is_banned(const PeerId& id) const {
    auto it = banned.find(id);
    return it != banned.end() && it->second > Clock::now();
  }

  // --- messages
  void handle_rpc(const std::shared_ptr<GossipPeer>& p, gossip::Rpc rpc);
  void handle_message(const std::shared_ptr<GossipPeer>& p, gossip::Message m);
  void handle_control(const std::shared_ptr<GossipPeer>& p, gossip::Control& c);
  void forward(const gossip::Message& m, const MsgId& id, const PeerId& from, const PeerId& author);
  bool mark_seen(const MsgId& id);
  void cache_put(const MsgId& id, const gossip::Message& m);
  bool in_backoff(const std::string& topic, const PeerId& peer) const;
  void add_backoff(const std::string& topic, const PeerId& peer, std::chrono::milliseconds d);
  void heartbeat();
  std::vector<PeerId> pick(std::vector<PeerId> candidates, std::size_t n);
};

asio::any_io_executor Gossip::Impl::h_executor(Host& h) { return h.executor(); }

gossip::Rpc Gossip::Impl::hello() const {
  gossip::Rpc rpc;
  for (const auto& [t, _] : subscriptions) rpc.subscriptions.push_back({true, t});
  return rpc;
}

std::shared_ptr<GossipPeer> Gossip::Impl::ensure_peer(const PeerId& id) {
  auto it = peers.find(id);
  if (it != peers.end()) return it->second;
  auto p = std::make_shared<GossipPeer>(executor);
  p->id = id;
  peers[id] = p;
  score_rec(id);
  auto h = hello();
  if (!h.empty()) send(p, h);  // our subscriptions go first on the new outbound stream
  if (!p->writer_running) {
    p->writer_running = true;
    if (!gate.spawn(writer(shared_from_this(), p))) p->writer_running = false;
  }
  log().debug("gossip: peer {} added", id.to_string());
  return p;
}

void Gossip::Impl::drop_peer(const PeerId& id) {
  auto it = peers.find(id);
  if (it == peers.end()) return;
  auto p = it->second;
  peers.erase(it);
  p->connected = false;
  p->queue.clear();
  p->queued_bytes = 0;
  p->wake.notify();
  if (p->out.valid()) p->out.reset();
  for (auto& s : p->inbound) s.reset();
  for (auto& [t, m] : mesh) m.erase(id);
  for (auto& [t, m] : fanout) m.erase(id);
  log().debug("gossip: peer {} removed", id.to_string());
}

void Gossip::Impl::send(const std::shared_ptr<GossipPeer>& p, const gossip::Rpc& rpc) {
  if (!p->connected || stopping || p->outbound_failed) return;
  Bytes body = gossip::encode_rpc(rpc);
  if (p->queued_bytes + body.size() > opts.max_send_queue) {
    ++counters.rpcs_dropped;
    log().debug("gossip: peer {}: send queue full, RPC dropped", p->id.to_string());
    return;
  }
  p->queued_bytes += body.size();
  p->queue.push_back(std::move(body));
  p->wake.notify();
  if (!p->writer_running) {
    p->writer_running = true;
    if (!gate.spawn(writer(shared_from_this(), p))) p->writer_running = false;
  }
}

Task<void> Gossip::Impl::writer(std::shared_ptr<Impl> self, std::shared_ptr<GossipPeer> p) {
  if (!p->out.valid()) {
    Connection conn;
    for (auto& c : host.connections(p->id))
      if (c.is_open()) conn = c;
    if (!conn.is_open()) {
      p->writer_running = false;
      co_return;
    }
    auto s = co_await conn.new_stream(meshsub_protocols());
    if (!s) {
      log().debug("gossip: peer {}: cannot open stream: {}", p->id.to_string(), s.error().to_string());
      p->writer_running = false;
      p->outbound_failed = true;
      p->queue.clear();
      p->queued_bytes = 0;
      // The peer does not take gossip from us (or went away): forget it unless it sends to us.
      if (auto it = peers.find(p->id); it != peers.end() && it->second == p && p->inbound.empty()) drop_peer(p->id);
      co_return;
    }
    if (!p->connected || stopping) {
      s->reset();
      p->writer_running = false;
      co_return;
    }
    p->out = *s;
    p->protocol = s->protocol();
    // If the stream is a reopen, our subscriptions must be restated first.
    if (p->queue.empty() || p->queue.front() != gossip::encode_rpc(hello())) {
      auto h = gossip::encode_rpc(hello());
      if (!h.empty()) {
        p->queued_bytes += h.size();
        p->queue.push_front(std::move(h));
      }
    }
  }
  while (p->connected && !stopping) {
    if (p->queue.empty()) {
      co_await p->wake.wait();
      continue;
    }
    Bytes rpc = std::move(p->queue.front());
    p->queue.pop_front();
    p->queued_bytes -= rpc.size();
    const auto n = rpc.size();
    auto w = co_await write_length_prefixed(p->out, std::move(rpc));
    if (!w) {
      log().debug("gossip: peer {}: write failed: {}", p->id.to_string(), w.error().to_string());
      p->out.reset();
      p->out = Stream();
      break;
    }
    counters.bytes_out += n;
  }
  p->writer_running = false;
}

Task<void> Gossip::Impl::reader(std::shared_ptr<Impl> self, Stream s) {
  const PeerId peer = s.remote_peer();
  if (is_banned(peer) || stopping) {
    s.reset();
    host.disconnect(peer);
    co_return;
  }
  auto p = ensure_peer(peer);
  p->inbound.push_back(s);
  for (;;) {
    auto raw = co_await read_length_prefixed(s, opts.max_rpc_size);
    if (!raw) {
      if (raw.error().code == Errc::limit_exceeded) {
        log().debug("gossip: peer {}: {}", peer.to_string(), raw.error().to_string());
        score_rec(peer).behaviour += 1;
        check_score(peer);
      }
      break;
    }
    if (stopping || !p->connected) break;
    counters.bytes_in += raw->size();
    if (score_of(peer) < opts.graylist_threshold) {
      // Graylisted: not read. A peer that keeps sending sinks further, to the disconnect threshold.
      ++counters.rpcs_dropped;
      score_rec(peer).behaviour += 1;
      check_score(peer);
      continue;
    }
    auto rpc = gossip::decode_rpc(*raw, limits);
    if (!rpc) {
      ++counters.rpcs_dropped;
      log().debug("gossip: peer {}: bad RPC: {}", peer.to_string(), rpc.error().to_string());
      score_rec(peer).behaviour += 1;
      check_score(peer);
      continue;
    }
    handle_rpc(p, std::move(*rpc));
  }
  s.reset();
  std::erase_if(p->inbound, [&](const Stream& x) { return x.id() == s.id(); });
}

// ---------------------------------------------------------------- scoring

double Gossip::Impl::score_of(const PeerId& id) const {
  auto it = scores.find(id);
  if (it == scores.end()) return 0;
  const auto& s = it->second;
  double total = 0;
  for (const auto& [t, v] : s.first_deliveries) total += std::min(v, opts.first_delivery_cap) * opts.first_delivery_weight;
  total += s.invalid * s.invalid * opts.invalid_message_weight;
  total += s.behaviour * s.behaviour * opts.behaviour_penalty_weight;
  return total;
}

void Gossip::Impl::check_score(const PeerId& id) {
  const double sc = score_of(id);
  if (sc >= opts.disconnect_threshold || is_banned(id)) return;
  log().info("gossip: peer {} scored {:.1f}, below {:.1f}: disconnecting and banning for {} s", id.to_string(), sc,
             opts.disconnect_threshold, opts.ban_duration.count() / 1000);
  banned[id] = Clock::now() + opts.ban_duration;
  drop_peer(id);
  host.disconnect(id);
}

// ---------------------------------------------------------------- messages

bool Gossip::Impl::mark_seen(const MsgId& id) {
  if (!seen.insert(id).second) return false;
  seen_order.emplace_back(id, Clock::now());
  return true;
}

void Gossip::Impl::cache_put(const MsgId& id, const gossip::Message& m) {
  if (mcache.contains(id)) return;
  mcache[id] = CacheEntry{m, m.topic, {}};
  mcache_windows.front().push_back(id);
}

bool Gossip::Impl::in_backoff(const std::string& topic, const PeerId& peer) const {
  auto t = backoff.find(topic);
  if (t == backoff.end()) return false;
  auto p = t->second.find(peer);
  return p != t->second.end() && p->second > Clock::now();
}

void Gossip::Impl::add_backoff(const std::string& topic, const PeerId& peer, std::chrono::milliseconds d) {
  auto until = Clock::now() + d;
  auto& cur = backoff[topic][peer];
  cur = std::max(cur, until);
}

void Gossip::Impl::handle_rpc(const std::shared_ptr<GossipPeer>& p, gossip::Rpc rpc) {
  for (auto& s : rpc.subscriptions) {
    if (s.topic.empty()) continue;
    if (s.subscribe) {
      if (p->topics.size() < 1024) p->topics.insert(s.topic);
    } else {
      p->topics.erase(s.topic);
      if (auto m = mesh.find(s.topic); m != mesh.end()) m->second.erase(p->id);
      if (auto f = fanout.find(s.topic); f != fanout.end()) f->second.erase(p->id);
    }
  }
  for (auto& m : rpc.messages) {
    if (!p->connected) return;  // disconnected by its own earlier messages
    handle_message(p, std::move(m));
  }
  if (p->connected && !rpc.control.empty()) handle_control(p, rpc.control);
}

void Gossip::Impl::handle_message(const std::shared_ptr<GossipPeer>& p, gossip::Message m) {
  auto reject = [&](const char* why) {
    ++counters.messages_rejected;
    log().debug("gossip: peer {}: message rejected: {}", p->id.to_string(), why);
    score_rec(p->id).invalid += 1;
    check_score(p->id);
  };
  if (!subscriptions.contains(m.topic)) {
    ++counters.messages_ignored;  // not our topic: neither delivered nor relayed
    return;
  }
  if (m.data && m.data->size() > opts.max_message_size) return reject("data over max_message_size");
  if (!m.seqno || m.seqno->size() != 8) return reject("seqno missing or not 8 bytes");
  if (!m.signature) return reject("no signature");
  auto author = author_of(m);
  if (std::holds_alternative<AuthorError>(author)) {
    if (std::get<AuthorError>(author) == AuthorError::malformed) return reject("bad from/key");
    ++counters.messages_ignored;  // a key type we cannot check
    return;
  }
  const auto& a = std::get<Author>(author);
  const MsgId id = to_id(message_id(a.key, *m.seqno));
  if (seen.contains(id)) {
    ++counters.duplicates;
    if (auto mt = mesh.find(m.topic); mt != mesh.end() && mt->second.contains(p->id))
      ++score_rec(p->id).mesh_deliveries[m.topic];
    return;
  }
  if (!utils::ed25519_verify(a.key, gossip::signing_bytes(m), *m.signature)) return reject("bad signature");
  mark_seen(id);
  GossipMessage gm{a.id, p->id, m.topic, m.data.value_or(Bytes{}), *m.seqno, id_bytes(id)};
  if (auto v = validators.find(m.topic); v != validators.end() && v->second) {
    auto verdict = v->second(gm);
    if (verdict == Validation::reject) return reject("validator rejected");
    if (verdict == Validation::ignore) {
      ++counters.messages_ignored;
      return;
    }
  }
  ++counters.messages_in;
  auto& sc = score_rec(p->id);
  sc.first_deliveries[m.topic] += 1;
  if (auto mt = mesh.find(m.topic); mt != mesh.end() && mt->second.contains(p->id)) ++sc.mesh_deliveries[m.topic];
  cache_put(id, m);
  forward(m, id, p->id, a.id);
  if (auto h = subscriptions.find(m.topic); h != subscriptions.end() && h->second) {
    auto handler = h->second;  // may unsubscribe from inside
    handler(gm);
  }
}

void Gossip::Impl::forward(const gossip::Message& m, const MsgId& id, const PeerId& from, const PeerId& author) {
  auto mt = mesh.find(m.topic);
  if (mt == mesh.end()) return;
  const bool big = m.data && m.data->size() >= opts.idontwant_min_size;
  gossip::Rpc rpc;
  rpc.messages.push_back(m);
  gossip::Rpc dont;
  if (big) dont.control.idontwant.push_back({{id_bytes(id)}});
  for (const auto& peer : std::vector<PeerId>(mt->second.begin(), mt->second.end())) {
    auto it = peers.find(peer);
    if (it == peers.end()) continue;
    auto& q = it->second;
    if (big && q->protocol == MESHSUB_V12) send(q, dont);
    if (peer == from || peer == author || q->dontwant.contains(id)) continue;
    send(q, rpc);
    ++counters.messages_forwarded;
  }
}

void Gossip::Impl::handle_control(const std::shared_ptr<GossipPeer>& p, gossip::Control& c) {
  gossip::Rpc reply;
  const double sc = score_of(p->id);
  for (auto& g : c.graft) {
    if (!subscriptions.contains(g.topic)) {
      reply.control.prune.push_back({g.topic, {}, std::nullopt});
      continue;
    }
    auto& m = mesh[g.topic];
    if (m.contains(p->id)) continue;
    if (in_backoff(g.topic, p->id)) {
      score_rec(p->id).behaviour += 1;
      reply.control.prune.push_back({g.topic, {}, static_cast<std::uint64_t>(opts.prune_backoff.count() / 1000)});
      continue;
    }
    if (sc < 0 || m.size() >= opts.d_hi) {
      add_backoff(g.topic, p->id, opts.prune_backoff);
      reply.control.prune.push_back({g.topic, {}, static_cast<std::uint64_t>(opts.prune_backoff.count() / 1000)});
      continue;
    }
    p->topics.insert(g.topic);
    m.insert(p->id);
  }
  for (auto& pr : c.prune) {
    if (auto m = mesh.find(pr.topic); m != mesh.end()) m->second.erase(p->id);
    auto d = pr.backoff ? std::chrono::milliseconds(std::min<std::uint64_t>(*pr.backoff, 3600) * 1000) : opts.prune_backoff;
    add_backoff(pr.topic, p->id, d);
  }
  if (sc >= opts.gossip_threshold) {
    std::vector<Bytes> want;
    for (auto& ih : c.ihave) {
      if (!subscriptions.contains(ih.topic)) continue;
      for (auto& id : ih.ids) {
        if (p->ihave_ids_this_heartbeat >= opts.max_ihave_length) break;
        ++p->ihave_ids_this_heartbeat;
        if (!seen.contains(to_id(id))) want.push_back(std::move(id));
      }
    }
    if (!want.empty()) reply.control.iwant.push_back({std::move(want)});
    for (auto& iw : c.iwant) {
      for (auto& id : iw.ids) {
        if (p->iwant_ids_this_heartbeat >= opts.max_ihave_length) break;
        ++p->iwant_ids_this_heartbeat;
        auto e = mcache.find(to_id(id));
        if (e == mcache.end()) continue;
        auto& n = e->second.iwant_count[p->id];
        if (n >= opts.max_iwant_replies) continue;
        ++n;
        gossip::Rpc one;
        one.messages.push_back(e->second.msg);
        send(p, one);
      }
    }
  }
  for (auto& d : c.idontwant) {
    for (auto& id : d.ids) {
      if (p->idontwant_this_heartbeat >= opts.max_idontwant_per_heartbeat) break;
      ++p->idontwant_this_heartbeat;
      auto key = to_id(id);
      if (p->dontwant.insert(key).second) p->dontwant_order.emplace_back(std::move(key), Clock::now());
    }
  }
  if (!reply.empty()) send(p, reply);
}

// ---------------------------------------------------------------- heartbeat

std::vector<PeerId> Gossip::Impl::pick(std::vector<PeerId> candidates, std::size_t n) {
  std::shuffle(candidates.begin(), candidates.end(), rng);
  if (candidates.size() > n) candidates.resize(n);
  return candidates;
}

Task<void> Gossip::Impl::heartbeat_loop(std::shared_ptr<Impl> self) {
  auto delay = opts.heartbeat_initial_delay;
  while (!stopping) {
    heartbeat_timer.expires_after(delay);
    co_await heartbeat_timer.async_wait(use_tuple);
    if (stopping) break;
    heartbeat();
    delay = opts.heartbeat_interval;
  }
}

void Gossip::Impl::heartbeat() {
  const auto now = Clock::now();
  std::map<PeerId, gossip::Rpc> out;
  const auto backoff_s = static_cast<std::uint64_t>(opts.prune_backoff.count() / 1000);

  // scores decay; records of peers long gone and back at zero are forgotten
  for (auto it = scores.begin(); it != scores.end();) {
    auto& s = it->second;
    auto decay = [&](double& v) { v = (v *= opts.score_decay) < 0.01 ? 0 : v; };
    decay(s.invalid);
    decay(s.behaviour);
    for (auto& [t, v] : s.first_deliveries) decay(v);
    const bool idle = s.invalid == 0 && s.behaviour == 0 && !peers.contains(it->first) &&
                      now - s.last_seen > std::chrono::minutes(10);
    it = idle ? scores.erase(it) : std::next(it);
  }
  std::erase_if(banned, [&](const auto& kv) { return kv.second <= now; });
  for (auto& [t, m] : backoff) std::erase_if(m, [&](const auto& kv) { return kv.second <= now; });
  std::erase_if(backoff, [](const auto& kv) { return kv.second.empty(); });
  while (!seen_order.empty() && now - seen_order.front().second > opts.seen_ttl) {
    seen.erase(seen_order.front().first);
    seen_order.pop_front();
  }
  const auto dontwant_ttl = opts.heartbeat_interval * static_cast<long>(opts.mcache_len);
  for (auto& [id, p] : peers) {
    p->idontwant_this_heartbeat = p->ihave_ids_this_heartbeat = p->iwant_ids_this_heartbeat = 0;
    while (!p->dontwant_order.empty() && now - p->dontwant_order.front().second > dontwant_ttl) {
      p->dontwant.erase(p->dontwant_order.front().first);
      p->dontwant_order.pop_front();
    }
  }

  auto usable = [&](const PeerId& id, const std::string& topic) {
    auto it = peers.find(id);
    return it != peers.end() && it->second->connected && it->second->topics.contains(topic) && !is_banned(id);
  };
  auto gossip_ids = [&](const std::string& topic) {
    std::vector<Bytes> ids;
    for (std::size_t w = 0; w < std::min(opts.mcache_gossip, mcache_windows.size()); ++w)
      for (const auto& id : mcache_windows[w])
        if (auto e = mcache.find(id); e != mcache.end() && e->second.topic == topic && ids.size() < opts.max_ihave_length)
          ids.push_back(id_bytes(id));
    return ids;
  };
  auto emit_gossip = [&](const std::string& topic, const std::set<PeerId>& exclude) {
    auto ids = gossip_ids(topic);
    if (ids.empty()) return;
    std::vector<PeerId> cands;
    for (const auto& [id, p] : peers)
      if (!exclude.contains(id) && p->topics.contains(topic) && score_of(id) >= opts.gossip_threshold) cands.push_back(id);
    for (const auto& id : pick(cands, opts.d_lazy)) out[id].control.ihave.push_back({topic, ids});
  };

  for (auto& [topic, m] : mesh) {
    for (auto it = m.begin(); it != m.end();) {
      if (!usable(*it, topic)) {
        it = m.erase(it);
      } else if (score_of(*it) < 0) {
        out[*it].control.prune.push_back({topic, {}, backoff_s});
        add_backoff(topic, *it, opts.prune_backoff);
        it = m.erase(it);
      } else {
        ++it;
      }
    }
    if (m.size() < opts.d_lo) {
      std::vector<PeerId> cands;
      for (const auto& [id, p] : peers)
        if (!m.contains(id) && usable(id, topic) && !p->protocol.empty() && !in_backoff(topic, id) && score_of(id) >= 0)
          cands.push_back(id);
      for (const auto& id : pick(cands, opts.d - m.size())) {
        m.insert(id);
        out[id].control.graft.push_back({topic});
      }
    } else if (m.size() > opts.d_hi) {
      auto keep = pick(std::vector<PeerId>(m.begin(), m.end()), opts.d);
      std::set<PeerId> kept(keep.begin(), keep.end());
      for (const auto& id : m)
        if (!kept.contains(id)) {
          out[id].control.prune.push_back({topic, {}, backoff_s});
          add_backoff(topic, id, opts.prune_backoff);
        }
      m = std::move(kept);
    }
    emit_gossip(topic, m);
  }

  for (auto it = fanout.begin(); it != fanout.end();) {
    const auto& topic = it->first;
    if (now - fanout_last_publish[topic] > opts.fanout_ttl) {
      fanout_last_publish.erase(topic);
      it = fanout.erase(it);
      continue;
    }
    auto& f = it->second;
    std::erase_if(f, [&](const PeerId& id) { return !usable(id, topic) || score_of(id) < opts.publish_threshold; });
    if (f.size() < opts.d) {
      std::vector<PeerId> cands;
      for (const auto& [id, p] : peers)
        if (!f.contains(id) && usable(id, topic) && score_of(id) >= opts.publish_threshold) cands.push_back(id);
      for (const auto& id : pick(cands, opts.d - f.size())) f.insert(id);
    }
    emit_gossip(topic, f);
    ++it;
  }

  // message cache shift
  mcache_windows.emplace_front();
  while (mcache_windows.size() > opts.mcache_len) {
    for (const auto& id : mcache_windows.back()) mcache.erase(id);
    mcache_windows.pop_back();
  }

  for (auto& [id, rpc] : out)
    if (auto it = peers.find(id); it != peers.end()) send(it->second, rpc);
}

// ---------------------------------------------------------------- Gossip

Gossip::Gossip(Host& host, GossipOptions options) : m_impl(std::make_shared<Impl>(host, std::move(options))) {}

Gossip::~Gossip() {
  auto& i = *m_impl;
  i.stopping = true;
  i.gate.close();
  i.heartbeat_timer.cancel();
  std::vector<PeerId> ids;
  for (auto& [id, _] : i.peers) ids.push_back(id);
  for (auto& id : ids) i.drop_peer(id);
}

void Gossip::start() {
  auto& i = *m_impl;
  if (i.started) return;
  i.started = true;
  std::weak_ptr<Impl> w = m_impl;
  for (const auto& proto : meshsub_protocols()) {
    i.host.set_handler(proto, [w](Stream s) -> Task<void> {
      auto g = w.lock();
      if (!g) {
        s.reset();
        return [](Stream) -> Task<void> { co_return; }(s);
      }
      return g->reader(g, std::move(s));
    });
  }
  auto on_identified = [w](const PeerId& peer) {
    auto g = w.lock();
    if (!g || g->stopping) return;
    if (g->is_banned(peer)) {
      g->host.disconnect(peer);
      return;
    }
    if (g->peers.contains(peer)) return;
    auto info = g->host.peer_store().get(peer);
    if (!info) return;
    for (const auto& p : info->protocols)
      if (is_meshsub(p)) {
        g->ensure_peer(peer);
        return;
      }
  };
  i.host.on_peer_identified(on_identified);
  i.host.on_peer_disconnected([w](const PeerId& peer) {
    if (auto g = w.lock()) g->drop_peer(peer);
  });
  i.gate.spawn(i.heartbeat_loop(m_impl));
}

Task<void> Gossip::stop() {
  auto impl = m_impl;
  impl->stopping = true;
  impl->heartbeat_timer.cancel();
  std::vector<PeerId> ids;
  for (auto& [id, _] : impl->peers) ids.push_back(id);
  for (auto& id : ids) impl->drop_peer(id);
  for (const auto& proto : meshsub_protocols()) impl->host.remove_handler(proto);
  impl->gate.close();
  Deadline grace(impl->executor, std::chrono::seconds(2), [impl] { impl->gate.cancel_all(); });
  co_await impl->gate.wait_idle();
}

Result<void> Gossip::subscribe(std::string topic, GossipHandler handler) {
  auto& i = *m_impl;
  if (topic.empty()) return Error(Errc::invalid_argument, "gossip topic must not be empty");
  const bool fresh = !i.subscriptions.contains(topic);
  i.subscriptions[topic] = std::move(handler);
  if (!fresh) return {};
  gossip::Rpc sub;
  sub.subscriptions.push_back({true, topic});
  for (auto& [id, p] : i.peers) i.send(p, sub);
  // Join: fanout peers first, then other topic peers, up to d; they get GRAFT.
  auto& m = i.mesh[topic];
  if (auto f = i.fanout.find(topic); f != i.fanout.end()) {
    for (const auto& id : f->second)
      if (m.size() < i.opts.d && i.score_of(id) >= 0) m.insert(id);
    i.fanout.erase(f);
    i.fanout_last_publish.erase(topic);
  }
  std::vector<PeerId> cands;
  for (const auto& [id, p] : i.peers)
    if (!m.contains(id) && p->topics.contains(topic) && !i.in_backoff(topic, id) && i.score_of(id) >= 0) cands.push_back(id);
  for (const auto& id : i.pick(cands, i.opts.d > m.size() ? i.opts.d - m.size() : 0)) m.insert(id);
  gossip::Rpc graft;
  graft.control.graft.push_back({topic});
  for (const auto& id : m)
    if (auto it = i.peers.find(id); it != i.peers.end()) i.send(it->second, graft);
  return {};
}

void Gossip::unsubscribe(const std::string& topic) {
  auto& i = *m_impl;
  if (i.subscriptions.erase(topic) == 0) return;
  gossip::Rpc unsub;
  unsub.subscriptions.push_back({false, topic});
  auto mesh = std::move(i.mesh[topic]);
  i.mesh.erase(topic);
  gossip::Rpc prune;
  prune.control.prune.push_back({topic, {}, static_cast<std::uint64_t>(i.opts.unsubscribe_backoff.count() / 1000)});
  for (auto& [id, p] : i.peers) {
    i.send(p, unsub);
    if (mesh.contains(id)) {
      i.send(p, prune);
      i.add_backoff(topic, id, i.opts.unsubscribe_backoff);
    }
  }
}

void Gossip::set_validator(std::string topic, GossipValidator validator) {
  m_impl->validators[std::move(topic)] = std::move(validator);
}

Result<std::size_t> Gossip::publish(const std::string& topic, std::span<const std::uint8_t> data) {
  auto& i = *m_impl;
  if (topic.empty()) return Error(Errc::invalid_argument, "gossip topic must not be empty");
  if (data.size() > i.opts.max_message_size)
    return Error(Errc::limit_exceeded, "gossip message of " + std::to_string(data.size()) + " bytes exceeds max_message_size " +
                                           std::to_string(i.opts.max_message_size));
  if (i.stopping) return Error(Errc::unavailable, "gossip is stopping");
  const auto& key = i.host.node_key();
  gossip::Message m;
  m.from = i.host.peer_id().bytes();
  m.data = Bytes(data.begin(), data.end());
  Bytes seq(8);
  const std::uint64_t s = ++i.seqno;
  for (int k = 0; k < 8; ++k) seq[k] = static_cast<std::uint8_t>(s >> (56 - 8 * k));
  m.seqno = seq;
  m.topic = topic;
  auto sig = key.sign(gossip::signing_bytes(m));
  m.signature = Bytes(sig.begin(), sig.end());
  m.key = utils::libp2p_public_key_protobuf(key.public_key());
  const MsgId id = to_id(message_id(key.public_key(), seq));
  i.mark_seen(id);
  i.cache_put(id, m);

  std::set<PeerId> to;
  if (i.opts.flood_publish) {
    for (const auto& [pid, p] : i.peers)
      if (p->topics.contains(topic) && i.score_of(pid) >= i.opts.publish_threshold) to.insert(pid);
  }
  if (auto mt = i.mesh.find(topic); mt != i.mesh.end()) {
    to.insert(mt->second.begin(), mt->second.end());
  } else if (!i.opts.flood_publish || to.empty()) {
    auto& f = i.fanout[topic];
    if (f.empty()) {
      std::vector<PeerId> cands;
      for (const auto& [pid, p] : i.peers)
        if (p->topics.contains(topic) && i.score_of(pid) >= i.opts.publish_threshold) cands.push_back(pid);
      for (const auto& pid : i.pick(cands, i.opts.d)) f.insert(pid);
    }
    to.insert(f.begin(), f.end());
  }
  if (!i.mesh.contains(topic)) i.fanout_last_publish[topic] = Clock::now();
  gossip::Rpc rpc;
  rpc.messages.push_back(std::move(m));
  std::size_t sent = 0;
  for (const auto& pid : to)
    if (auto it = i.peers.find(pid); it != i.peers.end() && !it->second->dontwant.contains(id)) {
      i.send(it->second, rpc);
      ++sent;
    }
  ++i.counters.messages_out;
  return sent;
}

std::vector<PeerId> Gossip::mesh_peers(const std::string& topic) const {
  auto it = m_impl->mesh.find(topic);
  if (it == m_impl->mesh.end()) return {};
  return {it->second.begin(), it->second.end()};
}

std::vector<PeerId> Gossip::topic_peers(const std::string& topic) const {
  std::vector<PeerId> out;
  for (const auto& [id, p] : m_impl->peers)
    if (p->topics.contains(topic)) out.push_back(id);
  return out;
}

std::vector<std::string> Gossip::topics() const {
  std::vector<std::string> out;
  for (const auto& [t, _] : m_impl->subscriptions) out.push_back(t);
  return out;
}

double Gossip::score(const PeerId& peer) const { return m_impl->score_of(peer); }
GossipCounters Gossip::counters() const { return m_impl->counters; }

}  // namespace ciro::network
