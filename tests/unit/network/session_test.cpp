// Multistream over an in-memory pipe, and a Yamux session fed raw (possibly malformed) frames
// over a real loopback socket with Noise keys agreed in memory.

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include "network/detail/session.h"
#include "network/multistream.h"
#include <boost/asio/detached.hpp>
#include <cstring>
#include "test_util.h"

using namespace ciro;
using namespace ciro::network;
using namespace ciro::network::detail;
using namespace ciro::network::test;
using namespace std::chrono_literals;

namespace {

struct Pipe {
  explicit Pipe(asio::any_io_executor ex) : sig(ex) {}
  Bytes data;
  Signal sig;
};

class MemIo final : public ByteIo {
 public:
  MemIo(std::shared_ptr<Pipe> in, std::shared_ptr<Pipe> out) : m_in(std::move(in)), m_out(std::move(out)) {}
  Task<Result<std::size_t>> read_some(std::span<std::uint8_t> b) override {
    while (m_in->data.empty()) co_await m_in->sig.wait();
    std::size_t n = std::min(b.size(), m_in->data.size());
    std::memcpy(b.data(), m_in->data.data(), n);
    m_in->data.erase(m_in->data.begin(), m_in->data.begin() + static_cast<std::ptrdiff_t>(n));
    co_return n;
  }
  Task<Result<void>> write_all(std::span<const std::uint8_t> d) override {
    m_out->data.insert(m_out->data.end(), d.begin(), d.end());
    m_out->sig.notify();
    co_return Result<void>{};
  }

 private:
  std::shared_ptr<Pipe> m_in, m_out;
};

Task<void> listener(MemIo* io, std::vector<std::string> protos, Result<std::string>* out) {
  *out = co_await ms_handle(io, protos);
}

Task<void> multistream_body(MemIo* dialer, MemIo* lst) {
  auto ex = co_await asio::this_coro::executor;
  Result<std::string> got = Error(Errc::internal, "not run");
  asio::co_spawn(ex, listener(lst, P("/a/1", "/b/1"), &got), asio::detached);
  auto sel = co_await ms_select(dialer, P("/x/1", "/b/1"));
  CO_ASSERT_OK(sel);
  EXPECT_EQ(*sel, "/b/1");
  co_await sleep_for(1ms);
  CO_ASSERT_OK(got);
  EXPECT_EQ(*got, "/b/1");
  // a second negotiation: ls, then propose /a/1 by hand
  Result<std::string> got2 = Error(Errc::internal, "not run");
  asio::co_spawn(ex, listener(lst, P("/a/1", "/b/1"), &got2), asio::detached);
  auto list = co_await ms_ls(dialer);
  CO_ASSERT_OK(list);
  EXPECT_EQ(*list, P("/a/1", "/b/1"));
  Bytes prop;
  multistream::append_message(prop, "/a/1");
  CO_ASSERT_OK(co_await dialer->write_all(prop));
  Bytes echo(prop.size());
  CO_ASSERT_OK(co_await read_exact(dialer, echo));
  EXPECT_EQ(echo, prop);
  co_await sleep_for(1ms);
  CO_ASSERT_OK(got2);
  EXPECT_EQ(*got2, "/a/1");
  // a message without its newline is refused by the listener
  Result<std::string> got3 = Error(Errc::internal, "not run");
  asio::co_spawn(ex, listener(lst, P("/a/1"), &got3), asio::detached);
  Bytes bad(4, 'a');
  bad[0] = 3;
  CO_ASSERT_OK(co_await dialer->write_all(bad));
  co_await sleep_for(1ms);
  EXPECT_FALSE(got3);
}

}  // namespace

TEST(MultistreamNegotiation, NaLsAndMalformed) {
  // given a listener supporting /a/1 and /b/1 over an in-memory pipe, when the dialer proposes an
  // unknown one then /b/1, asks ls, or sends a message without newline, then it gets na + echo,
  // the list, and an error respectively
  asio::io_context io;
  auto p1 = std::make_shared<Pipe>(io.get_executor());
  auto p2 = std::make_shared<Pipe>(io.get_executor());
  MemIo dialer(p1, p2), lst(p2, p1);
  run_task(io, multistream_body(&dialer, &lst), std::chrono::seconds(5));
}

namespace {

// A server Session on one end of a loopback TCP pair, and a raw SecureChannel on the other.
struct RawPeer {
  asio::io_context io;
  std::shared_ptr<Session> server;
  std::unique_ptr<SecureChannel> client;
  bool closed = false;
  Error why;
  std::vector<std::shared_ptr<StreamState>> inbound;

  RawPeer() {
    tcp::acceptor acc(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    tcp::socket s1(io), s2(io);
    s1.connect(acc.local_endpoint());
    acc.accept(s2);
    noise::Handshake hi(true), hr(false);
    auto m1 = hi.write_message({});
    (void)hr.read_message(*m1);
    auto m2 = hr.write_message({});
    (void)hi.read_message(*m2);
    auto m3 = hi.write_message({});
    (void)hr.read_message(*m3);
    auto [is, ir] = hi.split();
    auto [rs, rr] = hr.split();
    SessionOptions so;
    so.client = false;
    so.max_streams = 4;
    server = std::make_shared<Session>(io.get_executor(), std::make_unique<SecureChannel>(std::move(s2), rs, rr), so,
                                       PeerId::from_public_key(key_from(5).public_key()), Multiaddr());
    server->on_close([this](const Error& e) {
      closed = true;
      why = e;
    });
    server->on_inbound([this](std::shared_ptr<StreamState> st) { inbound.push_back(st); });
    asio::co_spawn(io, server->run_reader(server), asio::detached);
    asio::co_spawn(io, server->run_writer(server), asio::detached);
    client = std::make_unique<SecureChannel>(std::move(s1), is, ir);
  }
  ~RawPeer() {
    server->close(Error(Errc::cancelled, "test end"));
    io.restart();
    io.run_for(std::chrono::milliseconds(20));
  }
};

Bytes frame(yamux::Type t, std::uint16_t flags, std::uint32_t id, std::uint32_t len, Bytes payload = {}) {
  auto h = yamux::encode({t, flags, id, len});
  Bytes out(h.begin(), h.end());
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

Task<void> wait_closed(RawPeer* p) {
  for (int i = 0; i < 200 && !p->closed; ++i) co_await sleep_for(5ms);
}

Task<void> bad_version_body(RawPeer* p) {
  auto f = frame(yamux::Type::Data, yamux::SYN, 1, 0);
  f[0] = 1;
  CO_ASSERT_OK(co_await p->client->write_plaintext(f));
  co_await wait_closed(p);
  EXPECT_TRUE(p->closed);
  EXPECT_EQ(p->why.code, Errc::protocol) << p->why.to_string();
}

Task<void> window_overrun_body(RawPeer* p) {
  CO_ASSERT_OK(co_await p->client->write_plaintext(frame(yamux::Type::WindowUpdate, yamux::SYN, 1, 0)));
  // The server may close before it has read all of this, so the write itself may fail.
  (void)co_await p->client->write_plaintext(frame(yamux::Type::Data, 0, 1, 300 * 1024, Bytes(300 * 1024, 1)));
  co_await wait_closed(p);
  EXPECT_TRUE(p->closed);
  EXPECT_EQ(p->why.code, Errc::protocol) << p->why.to_string();
}

Task<void> good_stream_body(RawPeer* p) {
  // ping, then SYN + data + FIN, then our own-parity SYN (protocol error)
  CO_ASSERT_OK(co_await p->client->write_plaintext(frame(yamux::Type::Ping, yamux::SYN, 0, 77)));
  const Bytes abc(3, 'a');
  CO_ASSERT_OK(co_await p->client->write_plaintext(frame(yamux::Type::Data, yamux::SYN | yamux::FIN, 1, 3, abc)));
  Bytes in;
  bool ping_ack = false, stream_ack = false;
  for (int i = 0; i < 10 && !(ping_ack && stream_ack); ++i) {
    CO_ASSERT_OK(co_await p->client->read_plaintext(in));
    while (in.size() >= 12) {
      auto h = yamux::decode(std::span<const std::uint8_t, 12>(in.data(), 12));
      CO_ASSERT_OK(h);
      if (h->type == yamux::Type::Ping && (h->flags & yamux::ACK) && h->length == 77) ping_ack = true;
      if (h->type == yamux::Type::WindowUpdate && (h->flags & yamux::ACK) && h->stream_id == 1) stream_ack = true;
      std::size_t len = h->type == yamux::Type::Data ? h->length : 0;
      in.erase(in.begin(), in.begin() + 12 + static_cast<std::ptrdiff_t>(len));
    }
  }
  EXPECT_TRUE(ping_ack);
  EXPECT_TRUE(stream_ack);
  CO_ASSERT(p->inbound.size() == 1);
  Stream s(p->inbound[0]);
  std::array<std::uint8_t, 8> buf;
  auto r = co_await s.read_some(buf);
  CO_ASSERT_OK(r);
  EXPECT_EQ(*r, 3u);
  auto eof = co_await s.read_some(buf);
  CO_ASSERT_OK(eof);
  EXPECT_EQ(*eof, 0u);
  CO_ASSERT_OK(co_await p->client->write_plaintext(frame(yamux::Type::WindowUpdate, yamux::SYN, 2, 0)));
  co_await wait_closed(p);
  EXPECT_TRUE(p->closed) << "a SYN with the server's own parity must close the session";
}

Task<void> tampered_body(RawPeer* p) {
  // a Noise frame whose ciphertext was altered: decryption fails and the session closes
  Bytes raw(22, 0xAB);
  raw[0] = 0;
  raw[1] = 20;
  auto [ec, n] = co_await asio::async_write(p->client->socket(), asio::buffer(raw), use_tuple);
  CO_ASSERT(!ec);
  co_await wait_closed(p);
  EXPECT_TRUE(p->closed);
  EXPECT_EQ(p->why.code, Errc::protocol) << p->why.to_string();
}

Task<void> too_many_streams_body(RawPeer* p) {
  for (std::uint32_t id = 1; id <= 11; id += 2)
    CO_ASSERT_OK(co_await p->client->write_plaintext(frame(yamux::Type::WindowUpdate, yamux::SYN, id, 0)));
  Bytes in;
  bool rst = false;
  for (int i = 0; i < 10 && !rst; ++i) {
    CO_ASSERT_OK(co_await p->client->read_plaintext(in));
    while (in.size() >= 12) {
      auto h = yamux::decode(std::span<const std::uint8_t, 12>(in.data(), 12));
      CO_ASSERT_OK(h);
      if (h->flags & yamux::RST) rst = true;
      in.erase(in.begin(), in.begin() + 12);
    }
  }
  EXPECT_TRUE(rst) << "streams past the limit must be reset";
  EXPECT_EQ(p->inbound.size(), 4u);
  EXPECT_FALSE(p->closed);
}

}  // namespace

TEST(YamuxSession, BadVersionClosesConnection) {
  // given a session, when the peer sends a frame with version 1, then it closes with a protocol error
  RawPeer p;
  run_task(p.io, bad_version_body(&p), std::chrono::seconds(5));
}

TEST(YamuxSession, DataPastWindowClosesConnection) {
  // given a new stream with a 256 KiB window, when the peer sends 300 KiB at once, then the
  // session closes with a protocol error
  RawPeer p;
  run_task(p.io, window_overrun_body(&p), std::chrono::seconds(5));
}

TEST(YamuxSession, PingSynDataFinAndParityCheck) {
  // given a session, when the peer pings and opens a stream with data and FIN, then it gets the
  // ping ACK and the stream ACK, the data reads back then EOF; a SYN with our parity closes it
  RawPeer p;
  run_task(p.io, good_stream_body(&p), std::chrono::seconds(5));
}

TEST(YamuxSession, TamperedNoiseFrameClosesConnection) {
  // given a session, when a Noise frame fails authentication, then the session closes
  RawPeer p;
  run_task(p.io, tampered_body(&p), std::chrono::seconds(5));
}

TEST(YamuxSession, StreamLimitResetsExtraStreams) {
  // given a limit of 4 inbound streams, when the peer opens 6, then the extra ones get RST and
  // the connection stays up
  RawPeer p;
  run_task(p.io, too_many_streams_body(&p), std::chrono::seconds(5));
}
