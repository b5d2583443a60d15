#include <gtest/gtest.h>

#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/this_coro.hpp>

#include "network/host.h"
#include "test_util.h"

using namespace ciro;
using namespace ciro::network;
using namespace ciro::network::test;
using namespace std::chrono_literals;

namespace {

Task<void> echo_handler(Stream s) {
  std::array<std::uint8_t, 4096> buf;
  for (;;) {
    auto r = co_await s.read_some(buf);
    if (!r || *r == 0) break;
    if (!co_await s.write(std::span(buf.data(), *r))) co_return;
  }
  (void)co_await s.close_write();
}

// Reads everything, then answers with the byte count as 8 big-endian bytes.
Task<void> sink_handler(Stream s) {
  Bytes buf(64 * 1024);
  std::uint64_t total = 0;
  for (;;) {
    auto r = co_await s.read_some(buf);
    if (!r) co_return;
    if (*r == 0) break;
    total += *r;
  }
  std::array<std::uint8_t, 8> out;
  for (int i = 0; i < 8; ++i) out[i] = static_cast<std::uint8_t>(total >> (56 - 8 * i));
  (void)co_await s.write(out);
  (void)co_await s.close_write();
}

Task<void> reset_handler(Stream s) {
  s.reset();
  co_return;
}

Task<void> fin_handler(Stream s) { (void)co_await s.close_write(); }

Task<void> hold_handler(Stream s) {
  std::array<std::uint8_t, 16> buf;
  while (true) {
    auto r = co_await s.read_some(buf);
    if (!r || *r == 0) break;
  }
}

struct TwoHosts {
  asio::io_context io;
  std::unique_ptr<Host> a, b;
  explicit TwoHosts(HostOptions ob = {}) {
    a = std::make_unique<Host>(io.get_executor(), key_from(1));
    b = std::make_unique<Host>(io.get_executor(), key_from(2), ob);
    EXPECT_TRUE(a->listen());
    EXPECT_TRUE(b->listen());
    b->set_handler("/test/echo/1.0.0", echo_handler);
    b->set_handler("/test/sink/1.0.0", sink_handler);
    b->set_handler("/test/reset/1.0.0", reset_handler);
    b->set_handler("/test/fin/1.0.0", fin_handler);
    b->set_handler("/test/hold/1.0.0", hold_handler);
  }
  Multiaddr b_addr() const { return b->listen_addrs().at(0).with_peer(b->peer_id()); }
};

Task<void> ping_identify_body(TwoHosts* t) {
  auto c = co_await t->a->dial(t->b_addr());
  CO_ASSERT_OK(c);
  EXPECT_EQ(c->remote_peer(), t->b->peer_id());
  auto rtt = co_await t->a->ping(t->b->peer_id());
  CO_ASSERT_OK(rtt);
  EXPECT_LT(rtt->count(), 1000000);
  auto info = co_await t->a->identify(t->b->peer_id());
  CO_ASSERT_OK(info);
  
  EXPECT_TRUE(has(info->protocols, PING_PROTOCOL));
  EXPECT_TRUE(has(info->protocols, "/test/echo/1.0.0"));
  EXPECT_EQ(info->agent_version, "ciro/0.1.0");
  CO_ASSERT(info->addrs.size() == 1u);
  EXPECT_EQ(info->addrs[0], t->b->listen_addrs()[0]);
  CO_ASSERT(info->observed_addr.has_value());
  EXPECT_EQ(*info->observed_addr->host(), "127.0.0.1");
  // b identifies a on its own (identify on connect).
  for (int i = 0; i < 100 && !t->b->peer_store().get(t->a->peer_id()); ++i) co_await sleep_for(10ms);
  auto binfo = t->b->peer_store().get(t->a->peer_id());
  CO_ASSERT(binfo.has_value());
  EXPECT_TRUE(has(binfo->protocols, IDENTIFY_PROTOCOL));
  // push: a learns a new protocol of b
  t->b->set_handler("/test/new/1.0.0", echo_handler);
  t->b->push_identify();
  bool seen = false;
  for (int i = 0; i < 100 && !seen; ++i) {
    co_await sleep_for(10ms);
    auto p = t->a->peer_store().get(t->b->peer_id());
    seen = p && has(p->protocols, "/test/new/1.0.0");
  }
  EXPECT_TRUE(seen) << "identify push not applied";
  co_await t->b->stop();
  for (int i = 0; i < 100 && !t->a->connected_peers().empty(); ++i) co_await sleep_for(10ms);
  EXPECT_TRUE(t->a->connected_peers().empty()) << "a did not notice b's GoAway/close";
  co_await t->a->stop();
}

}  // namespace

TEST(HostTest, PingAndIdentifyBothWays) {
  // given two hosts on 127.0.0.1 port 0, when a dials b, then ping works, identify reports b's
  // protocols and listen address, b learns a by identify-on-connect, push updates a, and stop()
  // closes the connection on both sides
  TwoHosts t;
  run_task(t.io, ping_identify_body(&t));
}

namespace {
Task<void> wrong_peer_body(TwoHosts* t) {
  auto addr = t->b->listen_addrs().at(0).with_peer(PeerId::from_public_key(key_from(9).public_key()));
  auto c = co_await t->a->dial(addr);
  CO_ASSERT(!c);
  EXPECT_EQ(c.error().code, Errc::permission_denied) << c.error().to_string();
  co_await t->a->stop();
  co_await t->b->stop();
}
}  // namespace

TEST(HostTest, DialWithWrongPeerIdFails) {
  // given b's address with another peer id, when a dials it, then Noise authenticates b and the
  // dial fails with permission_denied
  TwoHosts t;
  run_task(t.io, wrong_peer_body(&t));
}

namespace {
Task<void> negotiate_body(TwoHosts* t) {
  CO_ASSERT_OK(co_await t->a->dial(t->b_addr()));
  auto s = co_await t->a->new_stream(t->b->peer_id(), P("/test/nope/1.0.0", "/test/echo/1.0.0"));
  CO_ASSERT_OK(s);
  EXPECT_EQ(s->protocol(), "/test/echo/1.0.0");
  const std::string msg = "hello yamux";
  CO_ASSERT_OK(co_await s->write(std::span(reinterpret_cast<const std::uint8_t*>(msg.data()), msg.size())));
  CO_ASSERT_OK(co_await s->close_write());
  std::string got;
  std::array<std::uint8_t, 64> buf;
  for (;;) {
    auto r = co_await s->read_some(buf);
    CO_ASSERT_OK(r);
    if (*r == 0) break;
    got.append(reinterpret_cast<char*>(buf.data()), *r);
  }
  EXPECT_EQ(got, msg);
  auto none = co_await t->a->new_stream(t->b->peer_id(), P("/test/nope/1.0.0"));
  CO_ASSERT(!none);
  EXPECT_EQ(none.error().code, Errc::not_found);
  co_await t->a->stop();
  co_await t->b->stop();
}
}  // namespace

TEST(HostTest, MultistreamNaThenEcho) {
  // given b handles /test/echo, when a proposes an unknown protocol first, then b answers na and
  // the second is accepted; echo then FIN works; proposing only unknown ones fails with not_found
  TwoHosts t;
  run_task(t.io, negotiate_body(&t));
}

namespace {
Task<void> transfer_body(TwoHosts* t) {
  CO_ASSERT_OK(co_await t->a->dial(t->b_addr()));
  auto s = co_await t->a->new_stream(t->b->peer_id(), P("/test/sink/1.0.0"));
  CO_ASSERT_OK(s);
  Bytes data(4 * 1024 * 1024);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i * 31);
  CO_ASSERT_OK(co_await s->write(data));
  CO_ASSERT_OK(co_await s->close_write());
  std::array<std::uint8_t, 8> count;
  CO_ASSERT_OK(co_await s->read_exact(count));
  std::uint64_t n = 0;
  for (auto b : count) n = (n << 8) | b;
  EXPECT_EQ(n, data.size());
  // perf both directions, 4 MiB each: needs window updates in both directions
  auto perf = co_await t->a->perf(t->b->peer_id(), 4 << 20, 4 << 20);
  CO_ASSERT_OK(perf);
  co_await t->a->stop();
  co_await t->b->stop();
}
}  // namespace

TEST(HostTest, FourMiBTransferUsesWindowUpdates) {
  // given the 256 KiB initial window, when 4 MiB is sent on one stream and /perf moves 4 MiB each
  // way, then everything arrives (the receiver's window updates keep the sender going)
  TwoHosts t;
  run_task(t.io, transfer_body(&t));
}

namespace {
Task<void> reset_fin_body(TwoHosts* t) {
  CO_ASSERT_OK(co_await t->a->dial(t->b_addr()));
  auto r = co_await t->a->new_stream(t->b->peer_id(), P("/test/reset/1.0.0"));
  CO_ASSERT_OK(r);
  std::array<std::uint8_t, 8> buf;
  auto rd = co_await r->read_some(buf);
  EXPECT_FALSE(rd) << "read on a reset stream must fail";
  auto f = co_await t->a->new_stream(t->b->peer_id(), P("/test/fin/1.0.0"));
  CO_ASSERT_OK(f);
  auto eof = co_await f->read_some(buf);
  CO_ASSERT_OK(eof);
  EXPECT_EQ(*eof, 0u);
  // half-closed: our side can still write, then close
  CO_ASSERT_OK(co_await f->write(std::span(buf.data(), 4)));
  CO_ASSERT_OK(co_await f->close_write());
  co_await t->a->stop();
  co_await t->b->stop();
}
}  // namespace

TEST(HostTest, ResetAndFin) {
  // given handlers that reset or close their write side at once, when a reads, then the reset
  // surfaces as an error and the FIN as EOF (with writing still allowed)
  TwoHosts t;
  run_task(t.io, reset_fin_body(&t));
}

namespace {
Task<void> limit_body(TwoHosts* t) {
  CO_ASSERT_OK(co_await t->a->dial(t->b_addr()));
  auto s1 = co_await t->a->new_stream(t->b->peer_id(), P("/test/hold/1.0.0"));
  auto s2 = co_await t->a->new_stream(t->b->peer_id(), P("/test/hold/1.0.0"));
  CO_ASSERT_OK(s1);
  CO_ASSERT_OK(s2);
  auto s3 = co_await t->a->new_stream(t->b->peer_id(), P("/test/hold/1.0.0"));
  EXPECT_FALSE(s3) << "third inbound stream must be refused";
  co_await t->a->stop();
  co_await t->b->stop();
}
}  // namespace

TEST(HostTest, InboundStreamLimit) {
  // given b allows 2 inbound streams per connection (identify uses none once finished), when a
  // opens a third while two are held, then b resets it and a's negotiation fails
  HostOptions ob;
  ob.max_streams_per_connection = 2;
  TwoHosts t(ob);
  // a's identify stream to b would count: wait for it to finish before holding two.
  run_task(t.io, [](TwoHosts* tt) -> Task<void> {
    CO_ASSERT_OK(co_await tt->a->dial(tt->b_addr()));
    for (int i = 0; i < 100; ++i) {
      auto p = tt->a->peer_store().get(tt->b->peer_id());
      if (p && !p->protocols.empty()) break;
      co_await sleep_for(10ms);
    }
    co_await sleep_for(50ms);
    co_await limit_body(tt);
  }(&t));
}
