// GossipSub: RPC codec, StrictSign, and C++ meshes on loopback (delivery, mesh upkeep, size
// limit, validation, a flooding peer that is scored down and disconnected).

#include <gtest/gtest.h>

#include <map>

#include "network/gossipsub.h"
#include "network/gossipsub_rpc.h"
#include "test_util.h"

using namespace ciro;
using namespace ciro::network;
using namespace ciro::network::test;
using namespace std::chrono_literals;

namespace {

Bytes B(std::string_view s) { return Bytes(s.begin(), s.end()); }

TEST(GossipRpc, RoundTripsEveryField) {
  // given an RPC with subscriptions, a message and every control kind, when encoded and decoded,
  // then every field comes back
  gossip::Rpc rpc;
  rpc.subscriptions.push_back({true, "a"});
  rpc.subscriptions.push_back({false, "b"});
  gossip::Message m;
  m.from = B("from");
  m.data = B("");
  m.seqno = B("12345678");
  m.topic = "a";
  m.signature = B("sig");
  m.key = B("key");
  rpc.messages.push_back(m);
  rpc.control.ihave.push_back({"a", {B("id1"), B("id2")}});
  rpc.control.iwant.push_back({{B("id3")}});
  rpc.control.graft.push_back({"a"});
  rpc.control.prune.push_back({"b", {{B("peer"), B("rec")}}, 60});
  rpc.control.idontwant.push_back({{B("id4")}});
  auto d = gossip::decode_rpc(gossip::encode_rpc(rpc));
  ASSERT_TRUE(d) << d.error().to_string();
  ASSERT_EQ(d->subscriptions.size(), 2u);
  EXPECT_FALSE(d->subscriptions[1].subscribe);
  ASSERT_EQ(d->messages.size(), 1u);
  EXPECT_EQ(d->messages[0].from, m.from);
  ASSERT_TRUE(d->messages[0].data.has_value());  // empty but present: matters for the signature
  EXPECT_TRUE(d->messages[0].data->empty());
  EXPECT_EQ(d->messages[0].key, m.key);
  EXPECT_EQ(d->control.ihave.at(0).ids.size(), 2u);
  EXPECT_EQ(d->control.iwant.at(0).ids.at(0), B("id3"));
  EXPECT_EQ(d->control.graft.at(0).topic, "a");
  EXPECT_EQ(d->control.prune.at(0).backoff, 60u);
  EXPECT_EQ(d->control.prune.at(0).peers.at(0).peer_id, B("peer"));
  EXPECT_EQ(d->control.idontwant.at(0).ids.at(0), B("id4"));
}

TEST(GossipRpc, SigningBytesMatchJsLayout) {
  // given a message, when its StrictSign input is built, then it is the prefix and fields 1-4 only
  gossip::Message m;
  m.from = B("F");
  m.data = B("D");
  m.seqno = B("S");
  m.topic = "T";
  m.signature = B("X");
  m.key = B("K");
  Bytes expect = B("libp2p-pubsub:");
  for (int b : {0x0a, 1, int('F'), 0x12, 1, int('D'), 0x1a, 1, int('S'), 0x22, 1, int('T')}) expect.push_back(static_cast<std::uint8_t>(b));
  EXPECT_EQ(gossip::signing_bytes(m), expect);
}

TEST(GossipRpc, RejectsMalformedAndOversizedInput) {
  // given truncated protobuf, a wrong wire type, or more ids than allowed, then decoding fails
  Bytes truncated{0x12, 0x05, 0x0a};
  EXPECT_FALSE(gossip::decode_rpc(truncated));
  Bytes wrong_type{0x10, 0x01};  // field 2 as varint
  EXPECT_FALSE(gossip::decode_rpc(wrong_type));
  gossip::Rpc big;
  gossip::IWant iw;
  for (int i = 0; i < 20; ++i) iw.ids.push_back(B("x"));
  big.control.iwant.push_back(iw);
  gossip::RpcLimits lim;
  lim.max_ids = 10;
  EXPECT_FALSE(gossip::decode_rpc(gossip::encode_rpc(big), lim));
  EXPECT_TRUE(gossip::decode_rpc(Bytes{}));  // an empty RPC is fine (keep-alive)
}

GossipOptions fast_options() {
  GossipOptions o;
  o.heartbeat_interval = 100ms;
  o.heartbeat_initial_delay = 20ms;
  return o;
}

struct Node {
  std::unique_ptr<Host> host;
  std::unique_ptr<Gossip> gossip;
  std::vector<GossipMessage> got;
};

struct Mesh {
  asio::io_context io;
  std::vector<std::unique_ptr<Node>> nodes;
  explicit Mesh(std::size_t n, GossipOptions go = fast_options()) {
    for (std::size_t i = 0; i < n; ++i) {
      auto node = std::make_unique<Node>();
      node->host = std::make_unique<Host>(io.get_executor(), key_from(static_cast<std::uint8_t>(10 + i)));
      node->gossip = std::make_unique<Gossip>(*node->host, go);
      node->gossip->start();
      EXPECT_TRUE(node->host->listen());
      nodes.push_back(std::move(node));
    }
  }
  Multiaddr addr(std::size_t i) const { return nodes[i]->host->listen_addrs().at(0).with_peer(nodes[i]->host->peer_id()); }
  void subscribe_all(const std::string& topic) {
    for (auto& n : nodes) {
      Node* raw = n.get();
      ASSERT_TRUE(n->gossip->subscribe(topic, [raw](const GossipMessage& m) { raw->got.push_back(m); }));
    }
  }
};

Task<void> stop_all(Mesh* m) {
  for (auto& n : m->nodes) co_await n->gossip->stop();
  for (auto& n : m->nodes) co_await n->host->stop();
}

/// Polls until cond() or the bound passes; returns cond().
template <typename F>
Task<bool> wait_until(F cond, std::chrono::milliseconds bound) {
  const auto end = std::chrono::steady_clock::now() + bound;
  while (!cond() && std::chrono::steady_clock::now() < end) co_await sleep_for(10ms);
  co_return cond();
}

Task<void> line_delivery_body(Mesh* m) {
  // 0 - 1 - 2 - 3: messages must be relayed through the mesh
  for (std::size_t i = 0; i + 1 < m->nodes.size(); ++i) {
    auto c = co_await m->nodes[i]->host->dial(m->addr(i + 1));
    CO_ASSERT_OK(c);
  }
  auto formed = co_await wait_until([m] {
    for (std::size_t i = 0; i < m->nodes.size(); ++i)
      if (m->nodes[i]->gossip->mesh_peers("t").size() < (i == 0 || i + 1 == m->nodes.size() ? 1u : 2u)) return false;
    return true;
  }, 5s);
  CO_ASSERT(formed);
  const std::string text = "hello mesh";
  auto sent = m->nodes[0]->gossip->publish("t", std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
  CO_ASSERT_OK(sent);
  EXPECT_EQ(*sent, 1u);
  auto all = co_await wait_until([m] {
    for (std::size_t i = 1; i < m->nodes.size(); ++i)
      if (m->nodes[i]->got.empty()) return false;
    return true;
  }, 5s);
  CO_ASSERT(all);
  for (std::size_t i = 1; i < m->nodes.size(); ++i) {
    EXPECT_EQ(m->nodes[i]->got.size(), 1u);
    EXPECT_EQ(std::string(m->nodes[i]->got[0].data.begin(), m->nodes[i]->got[0].data.end()), text);
    EXPECT_EQ(m->nodes[i]->got[0].source, m->nodes[0]->host->peer_id());
    EXPECT_EQ(m->nodes[i]->got[0].id.size(), 44u);  // PublicKey protobuf (36) + seqno (8), as js
  }
  EXPECT_TRUE(m->nodes[0]->got.empty());  // no echo to ourselves
  EXPECT_EQ(m->nodes[0]->gossip->counters().messages_out, 1u);
  EXPECT_GE(m->nodes[1]->gossip->counters().messages_forwarded, 1u);
  co_await stop_all(m);
}

TEST(Gossip, MessagesReachEveryNodeOfALine) {
  // given four nodes connected in a line and subscribed to one topic, when the first publishes,
  // then every other node gets the message once, relayed by the mesh, with the author's id
  Mesh m(4);
  m.subscribe_all("t");
  run_task(m.io, line_delivery_body(&m), 20s);
}

Task<void> mesh_degree_body(Mesh* m) {
  for (std::size_t i = 1; i < m->nodes.size(); ++i) {
    auto c = co_await m->nodes[0]->host->dial(m->addr(i));
    CO_ASSERT_OK(c);
  }
  auto& g = *m->nodes[0]->gossip;
  auto ok = co_await wait_until([&] { return g.topic_peers("t").size() == m->nodes.size() - 1 && g.mesh_peers("t").size() >= 4; }, 5s);
  CO_ASSERT(ok);
  co_await sleep_for(500ms);  // several heartbeats
  EXPECT_GE(g.mesh_peers("t").size(), 4u);
  EXPECT_LE(g.mesh_peers("t").size(), 12u);
  co_await stop_all(m);
}

TEST(Gossip, MeshDegreeStaysWithinBounds) {
  // given a hub connected to 14 subscribed peers, when heartbeats run, then its mesh holds
  // between D_lo and D_hi of them
  Mesh m(15);
  m.subscribe_all("t");
  run_task(m.io, mesh_degree_body(&m), 30s);
}

Task<void> too_large_body(Mesh* m) {
  auto c = co_await m->nodes[0]->host->dial(m->addr(1));
  CO_ASSERT_OK(c);
  auto ok = co_await wait_until([m] { return !m->nodes[0]->gossip->topic_peers("t").empty(); }, 5s);
  CO_ASSERT(ok);
  Bytes big(1024 * 1024 + 1, 'x');
  auto r = m->nodes[0]->gossip->publish("t", big);
  CO_ASSERT(!r);
  EXPECT_EQ(r.error().code, Errc::limit_exceeded);
  Bytes fits(1024 * 1024, 'y');
  auto r2 = m->nodes[0]->gossip->publish("t", fits);
  CO_ASSERT_OK(r2);
  auto got = co_await wait_until([m] { return !m->nodes[1]->got.empty(); }, 5s);
  CO_ASSERT(got);
  EXPECT_EQ(m->nodes[1]->got[0].data.size(), fits.size());
  EXPECT_TRUE(c->is_open());  // the refused publish cost nothing
  co_await stop_all(m);
}

TEST(Gossip, TooLargePublishFailsAndKeepsTheConnection) {
  // given two connected nodes, when one publishes 1 MiB + 1 byte, then publish fails with
  // limit_exceeded, and a 1 MiB message still goes through on the same connection
  Mesh m(2);
  m.subscribe_all("t");
  run_task(m.io, too_large_body(&m), 20s);
}

Task<void> validator_body(Mesh* m) {
  auto c = co_await m->nodes[0]->host->dial(m->addr(1));
  CO_ASSERT_OK(c);
  auto ok = co_await wait_until([m] { return !m->nodes[0]->gossip->mesh_peers("t").empty(); }, 5s);
  CO_ASSERT(ok);
  Bytes bad{'b', 'a', 'd'}, good{'o', 'k'};
  CO_ASSERT_OK(m->nodes[0]->gossip->publish("t", bad));
  CO_ASSERT_OK(m->nodes[0]->gossip->publish("t", good));
  auto got = co_await wait_until([m] { return !m->nodes[1]->got.empty(); }, 5s);
  CO_ASSERT(got);
  co_await sleep_for(50ms);
  EXPECT_EQ(m->nodes[1]->got.size(), 1u);
  EXPECT_EQ(m->nodes[1]->got[0].data, good);
  EXPECT_EQ(m->nodes[1]->gossip->counters().messages_rejected, 1u);
  EXPECT_LT(m->nodes[1]->gossip->score(m->nodes[0]->host->peer_id()), 0);
  co_await stop_all(m);
}

TEST(Gossip, ValidatorRejectsAndPenalises) {
  // given a validator that rejects "bad", when a peer sends "bad" then "ok", then only "ok" is
  // delivered and the sender's score drops
  Mesh m(2);
  m.subscribe_all("t");
  m.nodes[1]->gossip->set_validator("t", [](const GossipMessage& msg) {
    return msg.data == Bytes{'b', 'a', 'd'} ? Validation::reject : Validation::accept;
  });
  run_task(m.io, validator_body(&m), 20s);
}

// A hostile peer: speaks meshsub on a raw stream and sends messages with broken signatures.
Task<void> flood_body(Mesh* m, Host* evil) {
  auto victim = m->nodes[0]->host->peer_id();
  CO_ASSERT_OK(co_await m->nodes[1]->host->dial(m->addr(0)));
  auto c = co_await evil->dial(m->addr(0));
  CO_ASSERT_OK(c);
  auto proto = P(MESHSUB_V11);
  auto s = co_await c->new_stream(proto);
  CO_ASSERT_OK(s);
  gossip::Rpc sub;
  sub.subscriptions.push_back({true, "t"});
  CO_ASSERT_OK(co_await write_length_prefixed(*s, gossip::encode_rpc(sub)));
  auto ok = co_await wait_until([m] { return !m->nodes[0]->gossip->mesh_peers("t").empty(); }, 5s);
  CO_ASSERT(ok);
  bool disconnected = false;
  for (int i = 0; i < 200 && !disconnected; ++i) {
    gossip::Rpc rpc;
    gossip::Message msg;
    msg.from = evil->peer_id().bytes();
    msg.data = Bytes{'x'};
    Bytes seq(8, 0);
    seq[7] = static_cast<std::uint8_t>(i);
    msg.seqno = seq;
    msg.topic = "t";
    msg.signature = Bytes(64, 0x42);
    rpc.messages.push_back(msg);
    auto w = co_await write_length_prefixed(*s, gossip::encode_rpc(rpc));
    // the honest peer keeps being served meanwhile
    if (i % 10 == 0) CO_ASSERT_OK(m->nodes[0]->gossip->publish("t", Bytes{static_cast<std::uint8_t>(i)}));
    co_await sleep_for(5ms);
    disconnected = !w || evil->connections(victim).empty();
  }
  auto gone = co_await wait_until([&] { return evil->connections(victim).empty(); }, 3s);
  EXPECT_TRUE(gone);
  EXPECT_LT(m->nodes[0]->gossip->score(evil->peer_id()), -100);
  EXPECT_GE(m->nodes[0]->gossip->counters().messages_rejected, 3u);
  const auto before = m->nodes[1]->got.size();
  for (std::uint8_t k = 0; k < 3; ++k) CO_ASSERT_OK(m->nodes[0]->gossip->publish("t", Bytes{k, k}));
  auto honest = co_await wait_until([&] { return m->nodes[1]->got.size() >= before + 3; }, 3s);
  EXPECT_TRUE(honest);
  EXPECT_FALSE(m->nodes[0]->host->connections(m->nodes[1]->host->peer_id()).empty());
  // the banned peer cannot come back: its gossip stream is refused
  auto again = co_await evil->dial(m->addr(0));
  if (again) {
    auto s2 = co_await again->new_stream(proto);
    if (s2) (void)co_await write_length_prefixed(*s2, gossip::encode_rpc(sub));
    co_await sleep_for(200ms);
    EXPECT_TRUE(m->nodes[0]->gossip->topic_peers("t").size() == 1u);
  }
  co_await evil->stop();
  co_await stop_all(m);
}

TEST(Gossip, FloodOfInvalidMessagesGetsPeerDisconnected) {
  // given a node with an honest peer and a peer flooding badly signed messages, then the flooder
  // is scored below the disconnect threshold and disconnected, while the honest peer keeps
  // getting messages and its connection
  Mesh m(2);
  m.subscribe_all("t");
  Host evil(m.io.get_executor(), key_from(99));
  ASSERT_TRUE(evil.listen());
  run_task(m.io, flood_body(&m, &evil), 20s);
}

}  // namespace
