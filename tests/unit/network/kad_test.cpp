// Kademlia: codec, routing table, and lookups across a line of C++ hosts.

#include <gtest/gtest.h>

#include "network/kademlia.h"
#include "test_util.h"

using namespace ciro;
using namespace ciro::network;
using namespace ciro::network::test;
using namespace std::chrono_literals;

namespace {

TEST(KadCodec, RoundTripsAndRejectsGarbage) {
  // given a FIND_NODE response with peers, when encoded and decoded, then it is unchanged;
  // malformed input fails
  kad::Message m;
  m.type = static_cast<std::uint32_t>(kad::MessageType::find_node);
  m.key = PeerId::from_public_key(key_from(1).public_key()).bytes();
  kad::Peer p;
  p.id = PeerId::from_public_key(key_from(2).public_key()).bytes();
  p.addrs.push_back(Multiaddr::parse("/ip4/127.0.0.1/tcp/4001").value().to_bytes());
  p.connection = 1;
  m.closer_peers.push_back(p);
  auto d = kad::decode(kad::encode(m));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->type, 4u);
  EXPECT_EQ(d->key, m.key);
  ASSERT_EQ(d->closer_peers.size(), 1u);
  EXPECT_EQ(d->closer_peers[0].id, p.id);
  EXPECT_EQ(d->closer_peers[0].addrs, p.addrs);
  EXPECT_EQ(d->closer_peers[0].connection, 1u);
  Bytes bad{0x08};  // truncated varint
  EXPECT_FALSE(kad::decode(bad));
  Bytes wrong{0x0a, 0x00};  // type as bytes
  EXPECT_FALSE(kad::decode(wrong));
}

TEST(KadRoutingTable, ClosestIsOrderedAndBucketsAreCapped) {
  // given many peers in a table with k = 2, then buckets hold at most 2 peers and closest()
  // returns peers sorted by XOR distance
  auto self = PeerId::from_public_key(key_from(1).public_key());
  kad::RoutingTable t(self, 2);
  std::vector<PeerId> all;
  for (int i = 2; i < 60; ++i) {
    auto p = PeerId::from_public_key(key_from(static_cast<std::uint8_t>(i)).public_key());
    all.push_back(p);
    t.add(p);
  }
  EXPECT_FALSE(t.add(self));
  EXPECT_LT(t.size(), all.size());  // the far buckets filled up
  auto target = kad::key_of(all[0].bytes());
  auto c = t.closest(target, 5);
  ASSERT_FALSE(c.empty());
  auto dist = [&](const PeerId& p) {
    auto k = kad::key_of(p.bytes());
    for (std::size_t i = 0; i < k.size(); ++i) k[i] ^= target[i];
    return k;
  };
  for (std::size_t i = 1; i < c.size(); ++i) EXPECT_LT(dist(c[i - 1]), dist(c[i]));
}

struct KadNode {
  std::unique_ptr<Host> host;
  std::unique_ptr<Kademlia> kad;
};

Task<void> line_lookup_body(std::vector<KadNode>* ns) {
  auto& n = *ns;
  for (std::size_t i = 0; i + 1 < n.size(); ++i) {
    auto c = co_await n[i].host->dial(n[i + 1].host->listen_addrs().at(0).with_peer(n[i + 1].host->peer_id()));
    CO_ASSERT_OK(c);
  }
  // identify fills the routing tables
  for (int i = 0; i < 200 && n[0].kad->routing_table().size() == 0; ++i) co_await sleep_for(10ms);
  CO_ASSERT(n[0].kad->routing_table().size() >= 1);
  for (int i = 0; i < 200 && n[2].kad->routing_table().size() < 2; ++i) co_await sleep_for(10ms);
  auto last = n.back().host->peer_id();
  auto r = co_await n[0].kad->find_peer(last);
  CO_ASSERT_OK(r);
  CO_ASSERT(!r->empty());
  EXPECT_EQ(r->at(0), n.back().host->listen_addrs().at(0));
  // an unknown peer: not found, within the bound
  auto missing = co_await n[0].kad->find_peer(PeerId::from_public_key(key_from(200).public_key()));
  EXPECT_FALSE(missing);
  // a direct FIND_NODE returns the peer's neighbours with addresses
  auto direct = co_await n[0].kad->find_node(n[1].host->peer_id(), n[2].host->peer_id().bytes());
  CO_ASSERT_OK(direct);
  bool saw2 = false;
  for (const auto& p : *direct) saw2 |= p.id == n[2].host->peer_id().bytes() && !p.addrs.empty();
  EXPECT_TRUE(saw2);
  for (auto& x : n) co_await x.kad->stop();
  for (auto& x : n) co_await x.host->stop();
}

TEST(Kademlia, FindPeerWalksALine) {
  // given five hosts connected in a line, when the first looks up the last, then the iterative
  // FIND_NODE lookup returns the last host's listen address
  asio::io_context io;
  std::vector<KadNode> ns(5);
  for (std::size_t i = 0; i < ns.size(); ++i) {
    ns[i].host = std::make_unique<Host>(io.get_executor(), key_from(static_cast<std::uint8_t>(30 + i)));
    ns[i].kad = std::make_unique<Kademlia>(*ns[i].host);
    ns[i].kad->start();
    ASSERT_TRUE(ns[i].host->listen());
  }
  run_task(io, line_lookup_body(&ns), 30s);
}

}  // namespace
