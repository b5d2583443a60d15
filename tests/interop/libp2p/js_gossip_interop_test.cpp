// GossipSub against js-libp2p (@chainsafe/libp2p-gossipsub 14.1.2 in peer.mjs): the mesh forms
// with a js peer, messages go both ways (StrictSign both ways, js's message ids), and one js
// peer with five C++ nodes delivers every message to every node. Needs `npm ci` here.

#include <gtest/gtest.h>

#include "js_peer.h"
#include "network/gossipsub.h"
#include "network/host.h"
#include "test_util.h"

using namespace ciro;
using namespace ciro::network;
using namespace ciro::network::test;
using namespace std::chrono_literals;

namespace {

const std::string TOPIC = "ciro/interop/1";

struct CppNode {
  std::unique_ptr<Host> host;
  std::unique_ptr<Gossip> gossip;
  std::vector<std::string> got;  ///< data of every message received
  std::vector<PeerId> sources;
};

std::unique_ptr<CppNode> make_node(asio::io_context& io) {
  auto n = std::make_unique<CppNode>();
  n->host = std::make_unique<Host>(io.get_executor(), utils::NodeKey::generate());
  GossipOptions o;
  o.heartbeat_interval = 200ms;
  n->gossip = std::make_unique<Gossip>(*n->host, o);
  n->gossip->start();
  EXPECT_TRUE(n->host->listen());
  CppNode* raw = n.get();
  EXPECT_TRUE(n->gossip->subscribe(TOPIC, [raw](const GossipMessage& m) {
    raw->got.emplace_back(m.data.begin(), m.data.end());
    raw->sources.push_back(m.source);
  }));
  return n;
}

template <typename F>
Task<bool> wait_until(F cond, std::chrono::milliseconds bound) {
  const auto end = std::chrono::steady_clock::now() + bound;
  while (!cond() && std::chrono::steady_clock::now() < end) co_await sleep_for(20ms);
  co_return cond();
}

bool contains(const json& list, const std::string& s) {
  for (const auto& e : list)
    if (e.get<std::string>() == s) return true;
  return false;
}

/// Polls js (bounded) until its `kind` list ("subscribers" or "mesh") for TOPIC holds every peer.
Task<bool> js_lists(JsPeer* js, std::string kind, std::vector<std::string> peers, std::chrono::milliseconds bound) {
  const auto end = std::chrono::steady_clock::now() + bound;
  while (std::chrono::steady_clock::now() < end) {
    json cmd = {{"cmd", kind}, {"topic", TOPIC}};
    auto r = co_await js->call(cmd, P(kind.c_str()), 2s);
    if (!r) co_return false;
    bool all = true;
    for (const auto& p : peers) all = all && contains((*r)["peers"], p);
    if (all) co_return true;
    co_await sleep_for(50ms);
  }
  co_return false;
}

Task<void> both_ways_body(CppNode* c, JsPeer* js) {
  auto lj = co_await js->next(P("listening"), 15s);
  CO_ASSERT(lj.has_value());
  const std::string js_id = (*lj)["peer"];
  auto js_addr = Multiaddr::parse((*lj)["addrs"][0].get<std::string>());
  CO_ASSERT_OK(js_addr);
  json sub_cmd = {{"cmd", "subscribe"}, {"topic", TOPIC}};  // (no braced lists inside co_await: GCC 12)
  auto sub = co_await js->call(sub_cmd, P("subscribed"), 5s);
  CO_ASSERT(sub.has_value());
  CO_ASSERT_OK(co_await c->host->dial(*js_addr));
  auto js_peer = *js_addr->peer_id();
  // both sides see each other's subscription, then the mesh forms on both sides
  auto cpp_sees = co_await wait_until([&] { return !c->gossip->topic_peers(TOPIC).empty(); }, 10s);
  CO_ASSERT(cpp_sees);
  auto js_sees = co_await js_lists(js, "subscribers", P(c->host->peer_id().to_string()), 10s);
  CO_ASSERT(js_sees);
  auto cpp_mesh = co_await wait_until([&] { return !c->gossip->mesh_peers(TOPIC).empty(); }, 10s);
  CO_ASSERT(cpp_mesh);
  EXPECT_EQ(c->gossip->mesh_peers(TOPIC).at(0), js_peer);
  auto js_mesh = co_await js_lists(js, "mesh", P(c->host->peer_id().to_string()), 10s);
  EXPECT_TRUE(js_mesh) << "js never grafted the C++ peer";
  // js -> C++
  json pub_cmd = {{"cmd", "publish"}, {"topic", TOPIC}, {"data", "hello from js"}};
  auto pub = co_await js->call(pub_cmd, P("published", "publish_error"), 5s);
  CO_ASSERT(pub.has_value());
  EXPECT_EQ((*pub)["event"], "published") << pub->dump();
  auto got = co_await wait_until([&] { return !c->got.empty(); }, 5s);
  CO_ASSERT(got);
  EXPECT_EQ(c->got.at(0), "hello from js");
  EXPECT_EQ(c->sources.at(0), js_peer);
  // C++ -> js
  std::string text = "hello from c++";
  auto sent = c->gossip->publish(TOPIC, std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
  CO_ASSERT_OK(sent);
  EXPECT_EQ(*sent, 1u);
  std::function<bool(const json&)> is_message = [](const json& j) { return j["event"] == "message"; };
  auto m = co_await js->take(is_message, 5s);
  CO_ASSERT(m.has_value());
  EXPECT_EQ((*m)["data"], text);
  EXPECT_EQ((*m)["from"], c->host->peer_id().to_string());
  EXPECT_EQ((*m)["topic"], TOPIC);
  // a message of 600 bytes (js sends IDONTWANT on 1.2 for >= 512 bytes) also goes through
  std::string big(600, 'z');
  CO_ASSERT_OK(c->gossip->publish(TOPIC, std::span(reinterpret_cast<const std::uint8_t*>(big.data()), big.size())));
  std::function<bool(const json&)> is_big = [&big](const json& j) { return j["event"] == "message" && j["data"] == big; };
  auto m2 = co_await js->take(is_big, 5s);
  EXPECT_TRUE(m2.has_value());
  EXPECT_EQ(c->gossip->counters().messages_rejected, 0u);
  co_await c->gossip->stop();
  co_await c->host->stop();
}

TEST(JsGossip, MeshFormsAndMessagesFlowBothWays) {
  // given a C++ node and a js-libp2p gossipsub peer on one topic, when C++ dials js, then each
  // sees the other's subscription, both meshes hold the other, and a signed message published on
  // either side reaches the other with the right author
  ASSERT_TRUE(js_ready()) << "js-libp2p not installed: run npm ci in tests/interop/libp2p";
  asio::io_context io;
  auto c = make_node(io);
  JsPeer js(io.get_executor(), P("listen"));
  ASSERT_TRUE(js.started());
  run_task(io, both_ways_body(c.get(), &js), std::chrono::seconds(60));
}

Task<void> six_nodes_body(std::vector<std::unique_ptr<CppNode>>* nodes, JsPeer* js) {
  auto lj = co_await js->next(P("listening"), 15s);
  CO_ASSERT(lj.has_value());
  auto js_addr = Multiaddr::parse((*lj)["addrs"][0].get<std::string>());
  CO_ASSERT_OK(js_addr);
  json sub_cmd = {{"cmd", "subscribe"}, {"topic", TOPIC}};  // (no braced lists inside co_await: GCC 12)
  auto sub = co_await js->call(sub_cmd, P("subscribed"), 5s);
  CO_ASSERT(sub.has_value());
  auto& ns = *nodes;
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < ns.size(); ++i) {
    CO_ASSERT_OK(co_await ns[i]->host->dial(*js_addr));
    // and a ring among the C++ nodes, so some messages travel C++ -> C++ -> ...
    auto next = ns[(i + 1) % ns.size()].get();
    CO_ASSERT_OK(co_await ns[i]->host->dial(next->host->listen_addrs().at(0).with_peer(next->host->peer_id())));
    ids.push_back(ns[i]->host->peer_id().to_string());
  }
  auto js_sees = co_await js_lists(js, "subscribers", ids, 15s);
  CO_ASSERT(js_sees);
  auto meshes = co_await wait_until([&] {
    for (auto& n : ns)
      if (n->gossip->mesh_peers(TOPIC).empty()) return false;
    return true;
  }, 10s);
  CO_ASSERT(meshes);
  // every node publishes one message
  json pub_cmd = {{"cmd", "publish"}, {"topic", TOPIC}, {"data", "js-0"}};
  auto pub = co_await js->call(pub_cmd, P("published", "publish_error"), 5s);
  CO_ASSERT(pub.has_value() && (*pub)["event"] == "published");
  for (std::size_t i = 0; i < ns.size(); ++i) {
    std::string text = "cpp-" + std::to_string(i);
    CO_ASSERT_OK(ns[i]->gossip->publish(TOPIC, std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size())));
  }
  auto all = co_await wait_until([&] {
    for (auto& n : ns)
      if (n->got.size() < ns.size()) return false;  // 1 from js + (n - 1) from the other C++ nodes
    return true;
  }, 10s);
  EXPECT_TRUE(all);
  for (std::size_t i = 0; i < ns.size(); ++i) {
    std::set<std::string> got(ns[i]->got.begin(), ns[i]->got.end());
    EXPECT_EQ(got.size(), ns.size()) << "node " << i;
    EXPECT_EQ(ns[i]->got.size(), ns.size()) << "node " << i << " got duplicates";
    EXPECT_TRUE(got.contains("js-0"));
  }
  // js got every C++ message
  const auto end = std::chrono::steady_clock::now() + 10s;
  std::set<std::string> js_got;
  while (js_got.size() < ns.size() && std::chrono::steady_clock::now() < end) {
    std::function<bool(const json&)> is_message = [](const json& j) { return j["event"] == "message"; };
    auto m = co_await js->take(is_message, 500ms);
    if (m) js_got.insert((*m)["data"].get<std::string>());
  }
  EXPECT_EQ(js_got.size(), ns.size());
  for (auto& n : ns) co_await n->gossip->stop();
  for (auto& n : ns) co_await n->host->stop();
}

TEST(JsGossip, OneJsAndFiveCppNodesDeliverEverything) {
  // given one js peer and five C++ nodes (each connected to js and to the next C++ node) on one
  // topic, when every node publishes once, then every node receives every other node's message
  // exactly once
  ASSERT_TRUE(js_ready()) << "js-libp2p not installed: run npm ci in tests/interop/libp2p";
  asio::io_context io;
  std::vector<std::unique_ptr<CppNode>> nodes;
  for (int i = 0; i < 5; ++i) nodes.push_back(make_node(io));
  JsPeer js(io.get_executor(), P("listen"));
  ASSERT_TRUE(js.started());
  run_task(io, six_nodes_body(&nodes, &js), std::chrono::seconds(90));
}

}  // namespace
