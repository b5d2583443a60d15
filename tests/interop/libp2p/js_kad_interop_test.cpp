// Kademlia against js-libp2p (@libp2p/kad-dht 15.1.11 in server mode with a pass-through
// address mapper, in peer.mjs): js's FIND_NODE finds a C++ node's addresses through another C++
// node, and a C++ lookup finds a js peer's addresses through another js peer.

#include <gtest/gtest.h>

#include "js_peer.h"
#include "network/host.h"
#include "network/kademlia.h"
#include "test_util.h"

using namespace ciro;
using namespace ciro::network;
using namespace ciro::network::test;
using namespace std::chrono_literals;

namespace {

struct KadNode {
  std::unique_ptr<Host> host;
  std::unique_ptr<Kademlia> kad;
};

KadNode make_node(asio::io_context& io) {
  KadNode n;
  n.host = std::make_unique<Host>(io.get_executor(), utils::NodeKey::generate());
  n.kad = std::make_unique<Kademlia>(*n.host);
  n.kad->start();
  EXPECT_TRUE(n.host->listen());
  return n;
}

Task<void> js_finds_cpp_body(KadNode* a, KadNode* b, JsPeer* js) {
  auto lj = co_await js->next(P("listening"), 15s);
  CO_ASSERT(lj.has_value());
  // a knows b; js knows only a
  CO_ASSERT_OK(co_await a->host->dial(b->host->listen_addrs().at(0).with_peer(b->host->peer_id())));
  for (int i = 0; i < 200 && !a->kad->routing_table().contains(b->host->peer_id()); ++i) co_await sleep_for(10ms);
  CO_ASSERT(a->kad->routing_table().contains(b->host->peer_id()));
  json dial = {{"cmd", "dial"}, {"addr", a->host->listen_addrs().at(0).with_peer(a->host->peer_id()).to_string()}};
  auto d = co_await js->call(dial, P("dialed", "dial_error"), 10s);
  CO_ASSERT(d.has_value() && (*d)["event"] == "dialed");
  // js adds a to its routing table after identify + a ping; poll it (bounded)
  bool in_table = false;
  json rt = {{"cmd", "routing_table"}};
  for (int i = 0; i < 50 && !in_table; ++i) {
    auto r = co_await js->call(rt, P("routing_table"), 2s);
    CO_ASSERT(r.has_value());
    in_table = (*r)["size"].get<int>() > 0;
    if (!in_table) co_await sleep_for(100ms);
  }
  CO_ASSERT(in_table);
  json find = {{"cmd", "find_peer"}, {"peer", b->host->peer_id().to_string()}};
  auto f = co_await js->call(find, P("found_peer", "find_error"), 15s);
  CO_ASSERT(f.has_value());
  CO_ASSERT((*f)["event"] == "found_peer");
  bool has_addr = false;
  for (const auto& x : (*f)["addrs"]) has_addr |= x.get<std::string>().find(b->host->listen_addrs().at(0).to_string()) == 0;
  EXPECT_TRUE(has_addr) << f->dump();
  co_await a->kad->stop();
  co_await b->kad->stop();
  co_await a->host->stop();
  co_await b->host->stop();
}

TEST(JsKad, JsFindsCppNodeThroughCpp) {
  // given C++ nodes a and b connected, and a js peer connected to a only, when js looks up b,
  // then a's FIND_NODE answer gives js b's listen address
  ASSERT_TRUE(js_ready()) << "js-libp2p not installed: run npm ci in tests/interop/libp2p";
  asio::io_context io;
  auto a = make_node(io), b = make_node(io);
  JsPeer js(io.get_executor(), P("listen"));
  ASSERT_TRUE(js.started());
  run_task(io, js_finds_cpp_body(&a, &b, &js), std::chrono::seconds(60));
}

Task<void> cpp_finds_js_body(KadNode* c, JsPeer* j1, JsPeer* j2) {
  auto l1 = co_await j1->next(P("listening"), 15s);
  auto l2 = co_await j2->next(P("listening"), 15s);
  CO_ASSERT(l1.has_value() && l2.has_value());
  const std::string j1_addr = (*l1)["addrs"][0], j2_addr = (*l2)["addrs"][0];
  auto j2_id = PeerId::parse((*l2)["peer"].get<std::string>());
  CO_ASSERT_OK(j2_id);
  // j2 knows j1; the C++ node knows only j1
  json dial = {{"cmd", "dial"}, {"addr", j1_addr}};
  auto d = co_await j2->call(dial, P("dialed", "dial_error"), 10s);
  CO_ASSERT(d.has_value() && (*d)["event"] == "dialed");
  json rt = {{"cmd", "routing_table"}};
  bool ready = false;
  for (int i = 0; i < 50 && !ready; ++i) {
    auto r = co_await j1->call(rt, P("routing_table"), 2s);
    CO_ASSERT(r.has_value());
    ready = (*r)["size"].get<int>() > 0;
    if (!ready) co_await sleep_for(100ms);
  }
  CO_ASSERT(ready);
  auto j1_ma = Multiaddr::parse(j1_addr);
  CO_ASSERT_OK(j1_ma);
  std::vector<Multiaddr> boot{*j1_ma};
  auto b = co_await c->kad->bootstrap(boot);
  CO_ASSERT_OK(b);
  auto found = co_await c->kad->find_peer(*j2_id);
  CO_ASSERT_OK(found);
  bool has = false;
  for (const auto& a : *found) has |= a.with_peer(*j2_id).to_string() == j2_addr;
  EXPECT_TRUE(has) << "addresses found do not include " << j2_addr;
  co_await c->kad->stop();
  co_await c->host->stop();
}

TEST(JsKad, CppFindsJsNodeThroughJs) {
  // given js peers j1 and j2 connected, and a C++ node bootstrapped from j1 only, when the C++
  // node looks up j2, then j1's FIND_NODE answer gives it j2's listen address
  ASSERT_TRUE(js_ready()) << "js-libp2p not installed: run npm ci in tests/interop/libp2p";
  asio::io_context io;
  auto c = make_node(io);
  JsPeer j1(io.get_executor(), P("listen")), j2(io.get_executor(), P("listen"));
  ASSERT_TRUE(j1.started() && j2.started());
  run_task(io, cpp_finds_js_body(&c, &j1, &j2), std::chrono::seconds(60));
}

}  // namespace
