// Hostile peers against a Host: oversized and malformed frames, unknown protocols, half-open
// TCP connections, a Noise handshake stalled halfway, a stream that never negotiates. Each test
// checks that the offender is cut off and that an honest peer is served meanwhile/afterwards.
// The raw client speaks multistream-select, Noise XX and Yamux by hand (detail/session.h).

#include <gtest/gtest.h>

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "network/detail/session.h"
#include "network/host.h"
#include "test_util.h"

using namespace ciro;
using namespace ciro::network;
using namespace ciro::network::detail;
using namespace ciro::network::test;
using namespace std::chrono_literals;

namespace {

constexpr auto SHORT = std::chrono::milliseconds(300);

Task<void> echo_handler(Stream s) {
  std::array<std::uint8_t, 1024> buf;
  for (;;) {
    auto r = co_await s.read_some(buf);
    if (!r || *r == 0) break;
    if (!co_await s.write(std::span(buf.data(), *r))) co_return;
  }
  (void)co_await s.close_write();
}

/// A server Host with short timeouts and an honest client Host.
struct Fixture {
  asio::io_context io;
  std::unique_ptr<Host> server, honest;
  explicit Fixture(HostOptions so = {}) {
    so.handshake_timeout = SHORT;
    so.negotiation_timeout = SHORT;
    server = std::make_unique<Host>(io.get_executor(), key_from(11), so);
    honest = std::make_unique<Host>(io.get_executor(), key_from(12));
    EXPECT_TRUE(server->listen());
    server->set_handler("/test/echo/1.0.0", echo_handler);
  }
  tcp::endpoint server_ep() const {
    return tcp::endpoint(asio::ip::make_address("127.0.0.1"), *server->listen_addrs().at(0).tcp_port());
  }
  Multiaddr server_addr() const { return server->listen_addrs().at(0).with_peer(server->peer_id()); }
};

/// The honest host dials (a fresh connection each time) and pings the server.
Task<Result<void>> honest_round(Fixture* f) {
  auto c = co_await f->honest->dial(f->server_addr());
  if (!c) co_return c.error();
  auto rtt = co_await f->honest->ping(f->server->peer_id());
  if (!rtt) co_return rtt.error();
  co_return Result<void>{};
}

Task<Result<void>> write_noise_frame(tcp::socket* s, Bytes msg) {
  Bytes out;
  out.push_back(static_cast<std::uint8_t>(msg.size() >> 8));
  out.push_back(static_cast<std::uint8_t>(msg.size()));
  out.insert(out.end(), msg.begin(), msg.end());
  auto [ec, n] = co_await asio::async_write(*s, asio::buffer(out), use_tuple);
  if (ec) co_return Error(Errc::io, ec.message());
  co_return Result<void>{};
}

Task<Result<Bytes>> read_noise_frame(tcp::socket* s) {
  std::array<std::uint8_t, 2> len;
  auto [ec, n] = co_await asio::async_read(*s, asio::buffer(len), use_tuple);
  if (ec) co_return Error(Errc::io, ec.message());
  Bytes msg((std::size_t(len[0]) << 8) | len[1]);
  auto [ec2, n2] = co_await asio::async_read(*s, asio::buffer(msg), use_tuple);
  if (ec2) co_return Error(Errc::io, ec2.message());
  co_return msg;
}

/// Connects and selects /noise; with `full`, completes Noise XX (early yamux) and returns the
/// channel; otherwise stops after sending message 1 and reading message 2.
struct RawClient {
  tcp::socket sock;
  std::unique_ptr<SecureChannel> chan;
  explicit RawClient(asio::any_io_executor ex) : sock(ex) {}
  tcp::socket& socket() { return chan ? chan->socket() : sock; }
};

Task<Result<void>> raw_handshake(RawClient* c, tcp::endpoint ep, bool full) {
  auto [cec] = co_await c->sock.async_connect(ep, use_tuple);
  if (cec) co_return Error(Errc::io, cec.message());
  TcpIo io(c->sock);
  const auto security = P(noise::LIBP2P_PROTOCOL);
  auto sel = co_await ms_select(&io, security);
  if (!sel) co_return sel.error();
  noise::Handshake hs(true);
  auto m1 = hs.write_message(std::span<const std::uint8_t>());
  if (!m1) co_return m1.error();
  auto w1 = co_await write_noise_frame(&c->sock, *m1);
  if (!w1) co_return w1.error();
  auto m2 = co_await read_noise_frame(&c->sock);
  if (!m2) co_return m2.error();
  auto p2 = hs.read_message(*m2);
  if (!p2) co_return p2.error();
  if (!full) co_return Result<void>{};
  const auto muxers = P(yamux::PROTOCOL);
  auto payload = noise::encode_payload(noise::make_payload(key_from(13), hs.local_static_public(), muxers));
  auto m3 = hs.write_message(payload);
  if (!m3) co_return m3.error();
  auto w3 = co_await write_noise_frame(&c->sock, *m3);
  if (!w3) co_return w3.error();
  auto [send, recv] = hs.split();
  c->chan = std::make_unique<SecureChannel>(std::move(c->sock), send, recv);
  co_return Result<void>{};
}

/// Reads (and discards) until the server closes the socket; returns how long that took, or
/// nullopt when it stayed open for `limit`.
Task<std::optional<std::chrono::milliseconds>> wait_for_close(tcp::socket* s, std::chrono::milliseconds limit) {
  const auto start = std::chrono::steady_clock::now();
  auto ex = co_await asio::this_coro::executor;
  Deadline d(ex, limit, [s] {
    boost::system::error_code ec;
    s->close(ec);
  });
  std::array<std::uint8_t, 4096> buf;
  for (;;) {
    auto [ec, n] = co_await s->async_read_some(asio::buffer(buf), use_tuple);
    if (ec) break;
  }
  if (d.expired()) co_return std::nullopt;
  co_return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
}

Bytes yamux_frame(yamux::Type t, std::uint16_t flags, std::uint32_t id, std::uint32_t len) {
  auto h = yamux::encode({t, flags, id, len});
  return Bytes(h.begin(), h.end());
}

Task<void> wait_connections(Host* h, std::size_t n) {
  for (int i = 0; i < 200 && h->connection_count() != n; ++i) co_await sleep_for(5ms);
}

// ---------------------------------------------------------------- oversized frames

Task<void> oversized_yamux_body(Fixture* f) {
  RawClient raw(f->io.get_executor());
  CO_ASSERT_OK(co_await raw_handshake(&raw, f->server_ep(), true));
  co_await wait_connections(f->server.get(), 1);
  EXPECT_EQ(f->server->connection_count(), 1u);
  // A Data frame announcing 2 GiB on a new stream: far past the 256 KiB window and any frame limit.
  const auto bad = yamux_frame(yamux::Type::Data, yamux::SYN, 1, 0x7FFFFFFF);
  CO_ASSERT_OK(co_await raw.chan->write_plaintext(bad));
  auto closed = co_await wait_for_close(&raw.socket(), 2000ms);
  EXPECT_TRUE(closed.has_value()) << "an oversized yamux frame must close the connection";
  co_await wait_connections(f->server.get(), 0);
  EXPECT_EQ(f->server->connection_count(), 0u);
  auto ok = co_await honest_round(f);
  EXPECT_TRUE(ok) << ok.error().to_string();
  co_await f->honest->stop();
  co_await f->server->stop();
}

Task<void> short_noise_frame_body(Fixture* f) {
  RawClient raw(f->io.get_executor());
  CO_ASSERT_OK(co_await raw_handshake(&raw, f->server_ep(), true));
  // A transport frame of 5 bytes cannot hold the 16-byte tag; then a 65535-byte frame of garbage.
  Bytes bad{0, 5, 1, 2, 3, 4, 5};
  auto [ec, n] = co_await asio::async_write(raw.socket(), asio::buffer(bad), use_tuple);
  CO_ASSERT(!ec);
  auto closed = co_await wait_for_close(&raw.socket(), 2000ms);
  EXPECT_TRUE(closed.has_value()) << "a Noise frame shorter than its tag must close the connection";

  RawClient raw2(f->io.get_executor());
  CO_ASSERT_OK(co_await raw_handshake(&raw2, f->server_ep(), true));
  Bytes big(2 + 65535, 0xEE);
  big[0] = 0xFF;
  big[1] = 0xFF;
  auto [ec2, n2] = co_await asio::async_write(raw2.socket(), asio::buffer(big), use_tuple);
  CO_ASSERT(!ec2);
  auto closed2 = co_await wait_for_close(&raw2.socket(), 2000ms);
  EXPECT_TRUE(closed2.has_value()) << "a maximal Noise frame that fails authentication must close the connection";
  co_await wait_connections(f->server.get(), 0);
  EXPECT_EQ(f->server->connection_count(), 0u);
  auto ok = co_await honest_round(f);
  EXPECT_TRUE(ok) << ok.error().to_string();
  co_await f->honest->stop();
  co_await f->server->stop();
}

// ---------------------------------------------------------------- unknown protocol

Task<void> unknown_protocol_body(Fixture* f) {
  auto c = co_await f->honest->dial(f->server_addr());
  CO_ASSERT_OK(c);
  auto none = co_await f->honest->new_stream(f->server->peer_id(), P("/test/unknown/9.9.9"));
  CO_ASSERT(!none);
  EXPECT_EQ(none.error().code, Errc::not_found) << none.error().to_string();
  // the same connection keeps working
  EXPECT_TRUE(c->is_open());
  auto s = co_await c->new_stream(P("/test/echo/1.0.0"));
  CO_ASSERT_OK(s);
  const Bytes msg{1, 2, 3, 4};
  CO_ASSERT_OK(co_await s->write(msg));
  Bytes back(4);
  CO_ASSERT_OK(co_await s->read_exact(back));
  EXPECT_EQ(back, msg);
  EXPECT_EQ(f->honest->connections(f->server->peer_id()).size(), 1u);
  co_await f->honest->stop();
  co_await f->server->stop();
}

// A stream opened (SYN) that never speaks multistream: reset after the negotiation timeout;
// the connection stays up (a yamux ping is still answered).
Task<void> silent_stream_body(Fixture* f) {
  RawClient raw(f->io.get_executor());
  CO_ASSERT_OK(co_await raw_handshake(&raw, f->server_ep(), true));
  const auto syn = yamux_frame(yamux::Type::WindowUpdate, yamux::SYN, 1, 0);
  CO_ASSERT_OK(co_await raw.chan->write_plaintext(syn));
  const auto start = std::chrono::steady_clock::now();
  bool rst = false, pong = false;
  Bytes in;
  for (int i = 0; i < 50 && !(rst && pong); ++i) {
    auto r = co_await raw.chan->read_plaintext(in);
    CO_ASSERT_OK(r);
    while (in.size() >= yamux::HEADER_SIZE) {
      auto h = yamux::decode(std::span<const std::uint8_t, yamux::HEADER_SIZE>(in.data(), yamux::HEADER_SIZE));
      CO_ASSERT_OK(h);
      std::size_t len = h->type == yamux::Type::Data ? h->length : 0;
      CO_ASSERT(in.size() >= yamux::HEADER_SIZE + len);
      if (h->stream_id == 1 && (h->flags & yamux::RST) && !rst) {
        rst = true;
        const auto ping = yamux_frame(yamux::Type::Ping, yamux::SYN, 0, 4242);
        CO_ASSERT_OK(co_await raw.chan->write_plaintext(ping));
      }
      if (h->type == yamux::Type::Ping && (h->flags & yamux::ACK) && h->length == 4242) pong = true;
      // the server's own identify stream (even id): refuse it so it does not linger
      if (h->stream_id % 2 == 0 && h->stream_id != 0 && (h->flags & yamux::SYN)) {
        const auto r2 = yamux_frame(yamux::Type::WindowUpdate, yamux::RST, h->stream_id, 0);
        CO_ASSERT_OK(co_await raw.chan->write_plaintext(r2));
      }
      in.erase(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(yamux::HEADER_SIZE + len));
    }
  }
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(rst) << "a stream that never negotiates must be reset";
  EXPECT_TRUE(pong) << "the connection must stay usable";
  EXPECT_GE(took, SHORT - 50ms);
  EXPECT_LT(took, 3s);
  EXPECT_EQ(f->server->connection_count(), 1u);
  co_await f->honest->stop();
  co_await f->server->stop();
}

// ---------------------------------------------------------------- half-open, stalled Noise

Task<void> half_open_body(Fixture* f) {
  tcp::socket idle(f->io.get_executor());
  auto [cec] = co_await idle.async_connect(f->server_ep(), use_tuple);
  CO_ASSERT(!cec);
  // served while the silent one hangs
  auto ok = co_await honest_round(f);
  EXPECT_TRUE(ok) << ok.error().to_string();
  auto closed = co_await wait_for_close(&idle, 3000ms);
  CO_ASSERT(closed.has_value());
  EXPECT_GE(*closed, SHORT / 2) << "closed long before the handshake timeout";
  co_await wait_connections(f->server.get(), 1);
  EXPECT_EQ(f->server->connection_count(), 1u);  // the honest one
  co_await f->honest->stop();
  co_await f->server->stop();
}

Task<void> stalled_noise_body(Fixture* f) {
  RawClient raw(f->io.get_executor());
  const auto start = std::chrono::steady_clock::now();
  CO_ASSERT_OK(co_await raw_handshake(&raw, f->server_ep(), false));  // message 1 sent, 2 read
  auto ok = co_await honest_round(f);
  EXPECT_TRUE(ok) << ok.error().to_string();
  auto closed = co_await wait_for_close(&raw.socket(), 3000ms);
  CO_ASSERT(closed.has_value());
  const auto total = std::chrono::steady_clock::now() - start;
  EXPECT_GE(total, SHORT - 50ms);
  EXPECT_LT(total, 2s);
  co_await wait_connections(f->server.get(), 1);
  EXPECT_EQ(f->server->connection_count(), 1u);
  co_await f->honest->stop();
  co_await f->server->stop();
}

}  // namespace

TEST(Hostile, OversizedYamuxFrameClosesOnlyThatConnection) {
  // given an authenticated raw peer, when it sends a Data frame announcing 2 GiB, then the server
  // closes that connection and still serves an honest peer
  Fixture f;
  run_task(f.io, oversized_yamux_body(&f), std::chrono::seconds(10));
}

TEST(Hostile, MalformedNoiseFramesCloseOnlyThatConnection) {
  // given authenticated raw peers, when one sends a Noise frame too short for its tag and another
  // a maximal 65535-byte frame of garbage, then both are closed and an honest peer is served
  Fixture f;
  run_task(f.io, short_noise_frame_body(&f), std::chrono::seconds(10));
}

TEST(Hostile, UnknownProtocolIsRefusedAndConnectionStaysUsable) {
  // given a connection, when the client proposes a protocol the server lacks, then it gets na
  // (not_found) and a second stream on the same connection works
  Fixture f;
  run_task(f.io, unknown_protocol_body(&f), std::chrono::seconds(10));
}

TEST(Hostile, StreamThatNeverNegotiatesIsResetAfterTimeout) {
  // given a negotiation timeout of 300 ms, when a raw peer opens a stream and stays silent, then
  // the stream is reset after about 300 ms and the connection still answers a ping
  Fixture f;
  run_task(f.io, silent_stream_body(&f), std::chrono::seconds(10));
}

TEST(Hostile, HalfOpenTcpIsClosedAfterHandshakeTimeout) {
  // given a handshake timeout of 300 ms, when a TCP client connects and never sends, then an
  // honest peer is served meanwhile and the silent socket is closed after the timeout
  Fixture f;
  run_task(f.io, half_open_body(&f), std::chrono::seconds(10));
}

TEST(Hostile, NoiseHandshakeStalledAfterMessageOneTimesOut) {
  // given a handshake timeout of 300 ms, when a peer sends Noise message 1 then nothing, then an
  // honest peer is served meanwhile and the staller is closed after the timeout
  Fixture f;
  run_task(f.io, stalled_noise_body(&f), std::chrono::seconds(10));
}
