// WorkerNetwork facade: bootstrap, job announcements, worker announcements, stats, redial after
// the bootstrap peer restarts.

#include <gtest/gtest.h>

#include "network/worker_network.h"
#include "test_util.h"

using namespace ciro;
using namespace ciro::network;
using namespace ciro::network::test;
using namespace std::chrono_literals;

namespace {

WorkerNetworkOptions opts(std::uint16_t port, std::vector<std::string> bootstrap) {
  WorkerNetworkOptions o;
  o.listen_host = "127.0.0.1";
  o.listen_port = port;
  o.bootstrap_peers = std::move(bootstrap);
  o.announce_interval = 100ms;
  o.heartbeat_interval = 100ms;
  o.kad_protocol = "/ciro/kad/1.0.0";
  o.reconnect_min = 50ms;
  o.reconnect_max = 200ms;
  return o;
}

template <typename F>
Task<bool> wait_until(F cond, std::chrono::milliseconds bound) {
  const auto end = std::chrono::steady_clock::now() + bound;
  while (!cond() && std::chrono::steady_clock::now() < end) co_await sleep_for(10ms);
  co_return cond();
}

struct Pair {
  asio::io_context io;
  std::unique_ptr<WorkerNetwork> a, b;
  std::vector<std::pair<std::string, std::string>> jobs_at_b;
  std::uint16_t a_port = 0;
  std::string a_addr;
};

Task<void> body(Pair* p) {
  auto ok = co_await wait_until([p] { return p->b->stats().peers == 1 && p->a->stats().peers == 1; }, 5s);
  CO_ASSERT(ok);
  // announcements from b arrive at a
  ok = co_await wait_until([p] { return p->a->stats().gossip_in >= 2; }, 5s);
  CO_ASSERT(ok);
  EXPECT_GE(p->b->stats().gossip_out, 2u);
  EXPECT_GT(p->a->stats().bytes_in, 0u);
  // a job announcement from a reaches b's callback
  ok = co_await wait_until([p] {
    if (p->jobs_at_b.empty()) (void)p->a->publish_job("{\"job\":1}");
    return !p->jobs_at_b.empty();
  }, 5s);
  CO_ASSERT(ok);
  EXPECT_EQ(p->jobs_at_b[0].first, p->a->peer_id());
  EXPECT_EQ(p->jobs_at_b[0].second, "{\"job\":1}");
  auto peers = p->b->peers();
  CO_ASSERT(!peers.empty());
  bool found = false;
  for (const auto& pi : peers)
    if (pi.peer_id == p->a->peer_id()) {
      found = true;
      EXPECT_TRUE(pi.connected);
      EXPECT_TRUE(std::find(pi.protocols.begin(), pi.protocols.end(), "/ciro/kad/1.0.0") != pi.protocols.end());
      EXPECT_EQ(pi.agent, "ciro/0.1.0");
    }
  EXPECT_TRUE(found);
  // the bootstrap peer goes away and comes back on the same address: b redials it
  co_await p->a->stop();
  ok = co_await wait_until([p] { return p->b->stats().peers == 0; }, 5s);
  CO_ASSERT(ok);
  auto key = key_from(41);
  p->a = std::make_unique<WorkerNetwork>(p->io.get_executor(), key, opts(p->a_port, {}));
  CO_ASSERT_OK(p->a->start());
  ok = co_await wait_until([p] { return p->b->stats().peers == 1; }, 5s);
  EXPECT_TRUE(ok) << "b did not redial its bootstrap peer";
  co_await p->b->stop();
  co_await p->a->stop();
}

TEST(WorkerNetwork, BootstrapAnnounceJobsAndRedial) {
  // given worker a and worker b bootstrapping from a, then they connect, b's announcements reach
  // a, a's job announcement reaches b's callback, and after a restarts b reconnects by itself
  Pair p;
  auto ka = key_from(41), kb = key_from(42);
  p.a = std::make_unique<WorkerNetwork>(p.io.get_executor(), ka, opts(0, {}));
  ASSERT_TRUE(p.a->start());
  p.a_addr = p.a->listen_addrs().at(0);
  p.a_port = Multiaddr::parse(p.a_addr).value().tcp_port().value();
  p.b = std::make_unique<WorkerNetwork>(p.io.get_executor(), kb, opts(0, {p.a_addr}));
  p.b->set_announcement([] { return std::string("{\"worker\":\"b\"}"); });
  p.b->on_job_announcement([&p](const std::string& from, const std::string& json) { p.jobs_at_b.emplace_back(from, json); });
  ASSERT_TRUE(p.b->start());
  run_task(p.io, body(&p), 40s);
}

TEST(WorkerNetwork, RejectsBadBootstrapAddress) {
  // given a bootstrap address without /p2p, then start fails and names the key
  asio::io_context io;
  WorkerNetwork w(io.get_executor(), key_from(43), opts(0, {"/ip4/127.0.0.1/tcp/1"}));
  auto r = w.start();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("network.bootstrap_peers"), std::string::npos);
}

}  // namespace
