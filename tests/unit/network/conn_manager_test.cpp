// The Host's connection manager: per-IP token bucket on inbound connections (excess closed at
// accept, before any handshake work), separate inbound and outbound limits besides the total.

#include <gtest/gtest.h>

#include "network/detail/session.h"
#include "network/host.h"
#include "test_util.h"

using namespace ciro;
using namespace ciro::network;
using namespace ciro::network::detail;
using namespace ciro::network::test;
using namespace std::chrono_literals;

namespace {

tcp::endpoint endpoint_of(const Host& h) {
  return tcp::endpoint(asio::ip::make_address("127.0.0.1"), *h.listen_addrs().at(0).tcp_port());
}

/// Connects a raw TCP socket from `from` (a loopback address) and sends nothing.
Task<Result<void>> raw_connect(tcp::socket* s, tcp::endpoint to, std::string from) {
  boost::system::error_code ec;
  s->open(tcp::v4(), ec);
  if (!ec) s->bind(tcp::endpoint(asio::ip::make_address(from), 0), ec);
  if (ec) co_return Error(Errc::io, "bind " + from + ": " + ec.message());
  auto [cec] = co_await s->async_connect(to, use_tuple);
  if (cec) co_return Error(Errc::io, cec.message());
  co_return Result<void>{};
}

/// Whether the server closes the socket within `limit` (read returns EOF or an error).
Task<bool> closed_within(tcp::socket* s, std::chrono::milliseconds limit) {
  auto ex = co_await asio::this_coro::executor;
  Deadline d(ex, limit, [s] {
    boost::system::error_code ec;
    s->cancel(ec);
  });
  std::array<std::uint8_t, 64> buf;
  auto [ec, n] = co_await s->async_read_some(asio::buffer(buf), use_tuple);
  co_return !d.expired() &&
      (ec == asio::error::eof || ec == asio::error::connection_reset || (ec && ec != asio::error::operation_aborted));
}

Task<void> rate_limit_body(asio::io_context* io, Host* server, Host* honest) {
  const auto ep = endpoint_of(*server);
  std::vector<std::unique_ptr<tcp::socket>> socks;
  for (int i = 0; i < 6; ++i) {
    socks.push_back(std::make_unique<tcp::socket>(*io));
    CO_ASSERT_OK(co_await raw_connect(socks.back().get(), ep, "127.0.0.1"));
  }
  // burst 3: the first three wait in the handshake, the other three are closed at accept
  for (int i = 3; i < 6; ++i) EXPECT_TRUE(co_await closed_within(socks[i].get(), 500ms)) << "socket " << i;
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(co_await closed_within(socks[i].get(), 10ms)) << "socket " << i;
  EXPECT_EQ(server->refused_inbound(), 3u);
  EXPECT_EQ(server->inbound_count(), 3u);
  // another IP has its own bucket
  tcp::socket other(*io);
  CO_ASSERT_OK(co_await raw_connect(&other, ep, "127.0.0.2"));
  EXPECT_FALSE(co_await closed_within(&other, 100ms)) << "127.0.0.2 must not be throttled by 127.0.0.1";
  // at 5/s one token is back after 200 ms: an honest dial from 127.0.0.1 gets through
  co_await sleep_for(250ms);
  auto c = co_await honest->dial(server->listen_addrs().at(0).with_peer(server->peer_id()));
  EXPECT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(server->refused_inbound(), 3u);
  co_await honest->stop();
  co_await server->stop();
}

Task<void> direction_limits_body(asio::io_context* io, Host* server, Host* peer1, Host* peer2) {
  const auto ep = endpoint_of(*server);
  // inbound limit 2: two silent sockets fill it, a third is closed at once
  tcp::socket s1(*io), s2(*io), s3(*io);
  CO_ASSERT_OK(co_await raw_connect(&s1, ep, "127.0.0.1"));
  CO_ASSERT_OK(co_await raw_connect(&s2, ep, "127.0.0.1"));
  for (int i = 0; i < 100 && server->inbound_count() < 2; ++i) co_await sleep_for(2ms);
  EXPECT_EQ(server->inbound_count(), 2u);
  CO_ASSERT_OK(co_await raw_connect(&s3, ep, "127.0.0.1"));
  EXPECT_TRUE(co_await closed_within(&s3, 500ms)) << "a third inbound connection must be refused";
  EXPECT_EQ(server->refused_inbound(), 1u);
  // outbound has its own limit (1): the first dial works although inbound is full
  auto c1 = co_await server->dial(peer1->listen_addrs().at(0).with_peer(peer1->peer_id()));
  CO_ASSERT_OK(c1);
  EXPECT_EQ(server->outbound_count(), 1u);
  auto c2 = co_await server->dial(peer2->listen_addrs().at(0).with_peer(peer2->peer_id()));
  CO_ASSERT(!c2);
  EXPECT_EQ(c2.error().code, Errc::limit_exceeded) << c2.error().to_string();
  // closing a silent socket frees an inbound slot: peer2 can now dial in
  boost::system::error_code ec;
  s1.close(ec);
  for (int i = 0; i < 200 && server->inbound_count() >= 2; ++i) co_await sleep_for(5ms);
  auto in = co_await peer2->dial(server->listen_addrs().at(0).with_peer(server->peer_id()));
  EXPECT_TRUE(in) << in.error().to_string();
  EXPECT_EQ(server->outbound_count(), 1u);
  co_await peer1->stop();
  co_await peer2->stop();
  co_await server->stop();
}

}  // namespace

TEST(ConnectionManager, PerIpRateLimitClosesExcessAtAccept) {
  // given 5 new connections/s per IP with a burst of 3, when one IP opens 6 at once, then 3 are
  // closed at accept (no handshake), another IP is unaffected, and after 200 ms one more gets in
  asio::io_context io;
  HostOptions so;
  so.inbound_rate_per_ip = 5;
  so.inbound_burst_per_ip = 3;
  so.handshake_timeout = 5s;
  Host server(io.get_executor(), key_from(21), so);
  Host honest(io.get_executor(), key_from(22));
  ASSERT_TRUE(server.listen());
  run_task(io, rate_limit_body(&io, &server, &honest), std::chrono::seconds(10));
}

TEST(ConnectionManager, InboundAndOutboundLimitsAreSeparate) {
  // given at most 2 inbound and 1 outbound connections, when 3 sockets connect and the host dials
  // twice, then the third socket is closed at accept, the first dial works and the second fails
  // with limit_exceeded; a freed inbound slot is usable again
  asio::io_context io;
  HostOptions so;
  so.max_inbound_connections = 2;
  so.max_outbound_connections = 1;
  so.inbound_rate_per_ip = 0;
  so.handshake_timeout = 5s;
  Host server(io.get_executor(), key_from(23), so);
  Host p1(io.get_executor(), key_from(24)), p2(io.get_executor(), key_from(25));
  ASSERT_TRUE(server.listen());
  ASSERT_TRUE(p1.listen());
  ASSERT_TRUE(p2.listen());
  run_task(io, direction_limits_body(&io, &server, &p1, &p2), std::chrono::seconds(10));
}
