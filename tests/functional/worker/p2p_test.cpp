// The worker on the P2P network: two real workers, the second bootstrapping from the first.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <thread>

#include "worker_process.h"

using namespace ciro::test;
using nlohmann::json;

// Given worker A with P2P on and worker B bootstrapping from A's listen address, when both run,
// then B lists A as a connected peer in /api/v1/peers, both show their peer id and listen
// addresses in /api/v1/node, A receives B's signed announcements (gossip in > 0), and /health
// and /metrics report the network.
TEST(WorkerP2p, BootstrapPeersAndAnnouncements) {
  auto dir = fresh_dir("p2p");
  std::vector<std::string> common = {"--set", "network.enabled=true",
                                     "--set", "network.listen_port=0",
                                     "--set", "network.listen_host=\"127.0.0.1\"",
                                     "--set", "network.announce_interval=\"1s\""};
  WorkerProcess a(dir / "a" / "data", common);
  ASSERT_TRUE(a.start().ok()) << a.log_text();
  auto node_a = json::parse(a.get("/api/v1/node")->body);
  ASSERT_TRUE(node_a["p2p"]["enabled"].get<bool>());
  ASSERT_FALSE(node_a["p2p"]["listen_addrs"].empty()) << node_a.dump();
  const std::string addr_a = node_a["p2p"]["listen_addrs"][0];
  const std::string peer_a = node_a["peer_id"];
  EXPECT_NE(addr_a.find("/p2p/" + peer_a), std::string::npos) << addr_a;

  auto args_b = common;
  args_b.insert(args_b.end(), {"--set", "network.bootstrap_peers=[\"" + addr_a + "\"]"});
  WorkerProcess b(dir / "b" / "data", args_b);
  ASSERT_TRUE(b.start().ok()) << b.log_text();

  bool connected = false;
  for (int i = 0; i < 100 && !connected; ++i) {
    auto peers = json::parse(b.get("/api/v1/peers")->body);
    for (const auto& p : peers["peers"])
      connected = connected || (p["peer_id"] == peer_a && p["connected"].get<bool>());
    if (!connected) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(connected) << b.get("/api/v1/peers")->body << b.log_text();

  std::uint64_t gossip_in = 0;
  for (int i = 0; i < 100 && gossip_in == 0; ++i) {
    gossip_in = json::parse(a.get("/api/v1/node")->body)["p2p"]["gossip"]["in"].get<std::uint64_t>();
    if (gossip_in == 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_GT(gossip_in, 0u) << a.get("/api/v1/node")->body;
  auto health_b = json::parse(b.get("/health", false)->body);
  EXPECT_EQ(health_b["checks"]["network"]["status"], "ok") << health_b.dump();
  std::string metrics;
  for (int i = 0; i < 150; ++i) {  // the housekeeping loop refreshes the P2P figures every 10 s
    metrics = a.get("/metrics", false)->body;
    if (metrics.find("ciro_gossip_messages_total{direction=\"in\"}") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(metrics.find("ciro_p2p_peers"), std::string::npos);
  EXPECT_NE(metrics.find("ciro_gossip_messages_total{direction=\"in\"}"), std::string::npos);
  EXPECT_EQ(b.terminate(), 0);
  EXPECT_EQ(a.terminate(), 0);
  std::filesystem::remove_all(dir);
}

// Given P2P off (the development default), when /api/v1/peers is asked, then 404 saying so.
TEST(WorkerP2p, PeersRouteWhenDisabled) {
  auto dir = fresh_dir("nop2p");
  WorkerProcess w(dir / "data");
  ASSERT_TRUE(w.start().ok());
  auto r = w.get("/api/v1/peers");
  EXPECT_EQ(r->status, 404);
  EXPECT_NE(r->body.find("p2p_disabled"), std::string::npos);
  EXPECT_FALSE(json::parse(w.get("/api/v1/node")->body)["p2p"]["enabled"].get<bool>());
  EXPECT_EQ(w.terminate(), 0);
  std::filesystem::remove_all(dir);
}
