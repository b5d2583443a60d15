// The connection machinery: task gate, multistream-select, Noise transport, Yamux session and
// the Stream operations. See detail/session.h.

#include "network/detail/session.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/write.hpp>
#include <cstring>

#include "network/multistream.h"

namespace ciro::network::detail {

namespace {


constexpr std::size_t READ_CHUNK = 256 * 1024;
constexpr std::size_t MAX_LS_RESPONSE = 64 * 1024;
constexpr int MAX_NEGOTIATION_ROUNDS = 64;

Error io_error(const boost::system::error_code& ec, const char* what) {
  if (ec == asio::error::operation_aborted) return Error(Errc::cancelled, std::string(what) + ": cancelled");
  if (ec == asio::error::eof) return Error(Errc::io, std::string(what) + ": connection closed by peer");
  return Error(Errc::io, std::string(what) + ": " + ec.message());
}
}  // namespace

spdlog::logger& log() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    if (auto existing = spdlog::get("network")) return existing;
    return spdlog::default_logger()->clone("network");
  }();
  return *logger;
}

// ---------------------------------------------------------------- Signal, Deadline, TaskGate

Task<bool> Signal::wait() {
  co_await m_timer.async_wait(use_tuple);
  auto cs = co_await asio::this_coro::cancellation_state;
  co_return cs.cancelled() == asio::cancellation_type::none;
}

Deadline::Deadline(asio::any_io_executor ex, std::chrono::steady_clock::duration timeout,
                   std::function<void()> on_expiry)
    : m_timer(ex, timeout) {
  // The handler may already be queued when we are destroyed; the shared flag tells it we are gone.
  m_timer.async_wait([flag = m_expired, alive = m_alive, f = std::move(on_expiry)](boost::system::error_code ec) {
    if (ec || !*alive) return;
    *flag = true;
    f();
  });
}

Deadline::~Deadline() {
  *m_alive = false;
  m_timer.cancel();
}

bool TaskGate::spawn(Task<void> task) {
  if (m_s->closed) return false;
  auto it = m_s->signals.emplace(m_s->signals.end());
  ++m_s->running;
  asio::co_spawn(m_ex, std::move(task),
                 asio::bind_cancellation_slot(it->slot(), [s = m_s, ex = m_ex, it](std::exception_ptr e) {
                   if (e) {
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& ex) {
                       log().debug("task ended with exception: {}", ex.what());
                     } catch (...) {
                       log().debug("task ended with unknown exception");
                     }
                   }
                   // Erase later: co_spawn may still touch the slot after calling us.
                   asio::post(ex, [s, it] {
                     s->signals.erase(it);
                     --s->running;
                     s->idle.notify();
                   });
                 }));
  return true;
}

void TaskGate::cancel_all() {
  for (auto& sig : m_s->signals) sig.emit(asio::cancellation_type::terminal);
}

Task<void> TaskGate::wait_idle() {
  auto s = m_s;
  while (s->running > 0) co_await s->idle.wait();
}

// ---------------------------------------------------------------- multistream-select

Task<Result<void>> read_exact(ByteIo* io, std::span<std::uint8_t> buffer) {
  std::size_t got = 0;
  while (got < buffer.size()) {
    auto r = co_await io->read_some(buffer.subspan(got));
    if (!r) co_return r.error();
    if (*r == 0) co_return Error(Errc::protocol, "unexpected end of stream");
    got += *r;
  }
  co_return Result<void>{};
}

namespace {
// Reads one length-prefixed message byte-exactly (never past its end, so what follows stays
// for the next layer). Returns the body.
Task<Result<Bytes>> read_ms_message(ByteIo* io, std::size_t max_size) {
  std::uint64_t len = 0;
  for (int i = 0;; ++i) {
    if (i >= 3) co_return Error(Errc::protocol, "multistream: length prefix too long");
    std::uint8_t b = 0;
    auto r = co_await read_exact(io, {&b, 1});
    if (!r) co_return r.error();
    len |= static_cast<std::uint64_t>(b & 0x7f) << (7 * i);
    if (!(b & 0x80)) break;
  }
  if (len == 0 || len > max_size) co_return Error(Errc::protocol, "multistream: bad message length " + std::to_string(len));
  Bytes body(len);
  auto r = co_await read_exact(io, body);
  if (!r) co_return r.error();
  co_return body;
}

Task<Result<std::string>> read_ms_text(ByteIo* io) {
  auto body = co_await read_ms_message(io, multistream::MAX_MESSAGE);
  if (!body) co_return body.error();
  co_return multistream::parse_body(*body);
}
}  // namespace

Task<Result<std::string>> ms_select(ByteIo* io, std::vector<std::string> protocols) {
  if (protocols.empty()) co_return Error(Errc::invalid_argument, "multistream: no protocol to propose");
  Bytes out;
  multistream::append_message(out, multistream::PROTOCOL);
  multistream::append_message(out, protocols[0]);
  auto w = co_await io->write_all(out);
  if (!w) co_return w.error();
  auto header = co_await read_ms_text(io);
  if (!header) co_return header.error();
  if (*header != multistream::PROTOCOL) co_return Error(Errc::protocol, "multistream: unexpected header " + *header);
  for (std::size_t i = 0; i < protocols.size(); ++i) {
    if (i > 0) {
      out.clear();
      multistream::append_message(out, protocols[i]);
      auto w2 = co_await io->write_all(out);
      if (!w2) co_return w2.error();
    }
    auto answer = co_await read_ms_text(io);
    if (!answer) co_return answer.error();
    if (*answer == protocols[i]) co_return protocols[i];
    if (*answer != multistream::NA) co_return Error(Errc::protocol, "multistream: unexpected answer " + *answer);
  }
  co_return Error(Errc::not_found, "multistream: peer supports none of the proposed protocols");
}

Task<Result<std::string>> ms_handle(ByteIo* io, std::vector<std::string> protocols) {
  auto header = co_await read_ms_text(io);
  if (!header) co_return header.error();
  if (*header != multistream::PROTOCOL) co_return Error(Errc::protocol, "multistream: unexpected header " + *header);
  Bytes out;
  multistream::append_message(out, multistream::PROTOCOL);
  auto w = co_await io->write_all(out);
  if (!w) co_return w.error();
  for (int round = 0; round < MAX_NEGOTIATION_ROUNDS; ++round) {
    auto proposal = co_await read_ms_text(io);
    if (!proposal) co_return proposal.error();
    out.clear();
    bool done = false;
    if (std::find(protocols.begin(), protocols.end(), *proposal) != protocols.end()) {
      multistream::append_message(out, *proposal);
      done = true;
    } else if (*proposal == multistream::LS) {
      out = multistream::encode_ls_response(protocols);
    } else {
      multistream::append_message(out, multistream::NA);
    }
    auto w2 = co_await io->write_all(out);
    if (!w2) co_return w2.error();
    if (done) co_return *proposal;
  }
  co_return Error(Errc::protocol, "multistream: too many proposals");
}

Task<Result<std::vector<std::string>>> ms_ls(ByteIo* io) {
  Bytes out;
  multistream::append_message(out, multistream::PROTOCOL);
  multistream::append_message(out, multistream::LS);
  auto w = co_await io->write_all(out);
  if (!w) co_return w.error();
  auto header = co_await read_ms_text(io);
  if (!header) co_return header.error();
  if (*header != multistream::PROTOCOL) co_return Error(Errc::protocol, "multistream: unexpected header " + *header);
  auto body = co_await read_ms_message(io, MAX_LS_RESPONSE);
  if (!body) co_return body.error();
  co_return multistream::parse_ls_body(*body);
}

// ---------------------------------------------------------------- byte pipes

Task<Result<std::size_t>> TcpIo::read_some(std::span<std::uint8_t> buffer) {
  auto [ec, n] = co_await m_socket.async_read_some(asio::buffer(buffer.data(), buffer.size()), use_tuple);
  if (ec) co_return io_error(ec, "tcp read");
  co_return n;
}

Task<Result<void>> TcpIo::write_all(std::span<const std::uint8_t> data) {
  auto [ec, n] = co_await asio::async_write(m_socket, asio::buffer(data.data(), data.size()), use_tuple);
  if (ec) co_return io_error(ec, "tcp write");
  co_return Result<void>{};
}

SecureChannel::SecureChannel(tcp::socket socket, noise::CipherState send, noise::CipherState recv)
    : m_socket(std::move(socket)), m_send(send), m_recv(recv) {}

Task<Result<void>> SecureChannel::read_plaintext(Bytes& out) {
  if (!m_pending.empty()) {
    out.insert(out.end(), m_pending.begin(), m_pending.end());
    m_pending.clear();
    co_return Result<void>{};
  }
  if (m_rbuf.size() < READ_CHUNK) m_rbuf.resize(READ_CHUNK);
  for (;;) {
    bool got = false;
    while (m_rend - m_rstart >= 2) {
      std::size_t len = (std::size_t(m_rbuf[m_rstart]) << 8) | m_rbuf[m_rstart + 1];
      if (m_rend - m_rstart < 2 + len) break;
      std::uint8_t* frame = m_rbuf.data() + m_rstart + 2;
      auto r = m_recv.decrypt_in_place(frame, len);
      if (!r) co_return r.error();
      out.insert(out.end(), frame, frame + len - noise::TAG);
      m_rstart += 2 + len;
      got = true;
    }
    if (m_rstart == m_rend) m_rstart = m_rend = 0;
    if (got) co_return Result<void>{};
    if (m_rstart > 0 && m_rbuf.size() - m_rend < 2 + noise::MAX_MESSAGE) {
      std::memmove(m_rbuf.data(), m_rbuf.data() + m_rstart, m_rend - m_rstart);
      m_rend -= m_rstart;
      m_rstart = 0;
    }
    auto [ec, n] = co_await m_socket.async_read_some(asio::buffer(m_rbuf.data() + m_rend, m_rbuf.size() - m_rend),
                                                     use_tuple);
    if (ec) co_return io_error(ec, "noise read");
    m_rend += n;
  }
}

Task<Result<void>> SecureChannel::write_plaintext(std::span<const std::uint8_t> data) {
  const std::size_t chunks = (data.size() + noise::MAX_PLAINTEXT - 1) / noise::MAX_PLAINTEXT;
  m_wbuf.resize(data.size() + chunks * (2 + noise::TAG));
  std::size_t w = 0;
  for (std::size_t off = 0; off < data.size(); off += noise::MAX_PLAINTEXT) {
    std::size_t n = std::min(noise::MAX_PLAINTEXT, data.size() - off);
    std::size_t len = n + noise::TAG;
    m_wbuf[w] = static_cast<std::uint8_t>(len >> 8);
    m_wbuf[w + 1] = static_cast<std::uint8_t>(len);
    std::memcpy(m_wbuf.data() + w + 2, data.data() + off, n);
    auto r = m_send.encrypt_in_place(m_wbuf.data() + w + 2, n);
    if (!r) co_return r.error();
    w += 2 + len;
  }
  auto [ec, n] = co_await asio::async_write(m_socket, asio::buffer(m_wbuf.data(), w), use_tuple);
  if (ec) co_return io_error(ec, "noise write");
  co_return Result<void>{};
}

Task<Result<std::size_t>> NoiseIo::read_some(std::span<std::uint8_t> buffer) {
  if (m_off == m_buf.size()) {
    m_buf.clear();
    m_off = 0;
    auto r = co_await m_ch.read_plaintext(m_buf);
    if (!r) co_return r.error();
  }
  std::size_t n = std::min(buffer.size(), m_buf.size() - m_off);
  std::memcpy(buffer.data(), m_buf.data() + m_off, n);
  m_off += n;
  co_return n;
}

Task<Result<void>> NoiseIo::write_all(std::span<const std::uint8_t> data) {
  co_return co_await m_ch.write_plaintext(data);
}

void NoiseIo::give_back() {
  if (m_off < m_buf.size()) m_ch.unread(Bytes(m_buf.begin() + static_cast<std::ptrdiff_t>(m_off), m_buf.end()));
  m_buf.clear();
  m_off = 0;
}

Task<Result<std::size_t>> StreamIo::read_some(std::span<std::uint8_t> buffer) {
  co_return co_await m_stream.read_some(buffer);
}

Task<Result<void>> StreamIo::write_all(std::span<const std::uint8_t> data) {
  co_return co_await m_stream.write(data);
}

// ---------------------------------------------------------------- Session

Session::Session(asio::any_io_executor ex, std::unique_ptr<SecureChannel> channel, SessionOptions options,
                 PeerId remote, Multiaddr remote_addr)
    : m_ex(ex),
      m_chan(std::move(channel)),
      m_opts(options),
      m_remote(std::move(remote)),
      m_remote_addr(std::move(remote_addr)),
      m_next_id(options.client ? 1 : 2),
      m_out_ready(ex),
      m_out_space(ex) {
  // Measure the RTT once (it drives receive-window growth), as js-libp2p does.
  m_ping_opaque = static_cast<std::uint32_t>(std::chrono::steady_clock::now().time_since_epoch().count()) | 1;
  m_ping_sent = std::chrono::steady_clock::now();
  send_frame({yamux::Type::Ping, yamux::SYN, 0, m_ping_opaque});
}

Session::~Session() = default;

void Session::send_frame(const yamux::Header& h, std::span<const std::uint8_t> payload) {
  if (m_closed) return;
  auto hdr = yamux::encode(h);
  m_out.insert(m_out.end(), hdr.begin(), hdr.end());
  m_out.insert(m_out.end(), payload.begin(), payload.end());
  m_out_ready.notify();
}

Task<void> Session::run_writer(std::shared_ptr<Session> self) {
  while (true) {
    if (m_out.empty()) {
      if (m_closed) break;
      if (!co_await m_out_ready.wait()) break;
      continue;
    }
    if (m_closed) break;
    m_sending.clear();
    std::swap(m_sending, m_out);
    m_writing = true;
    m_out_space.notify();
    auto r = co_await m_chan->write_plaintext(m_sending);
    m_writing = false;
    m_out_space.notify();
    if (!r) {
      close(r.error());
      break;
    }
  }
}

Task<void> Session::run_reader(std::shared_ptr<Session> self) {
  Bytes in;
  std::size_t off = 0;
  while (!m_closed) {
    while (in.size() - off >= yamux::HEADER_SIZE) {
      auto h = yamux::decode(std::span<const std::uint8_t, yamux::HEADER_SIZE>(in.data() + off, yamux::HEADER_SIZE));
      if (!h) {
        protocol_failure(h.error());
        co_return;
      }
      std::size_t need = 0;
      if (h->type == yamux::Type::Data) {
        auto it = m_streams.find(h->stream_id);
        std::uint32_t limit = it != m_streams.end() ? it->second->recv_credit : yamux::INITIAL_WINDOW;
        if (h->length > limit) {
          protocol_failure(Error(Errc::protocol, "yamux: data frame of " + std::to_string(h->length) +
                                                     " bytes exceeds the receive window on stream " +
                                                     std::to_string(h->stream_id)));
          co_return;
        }
        need = h->length;
      }
      if (in.size() - off - yamux::HEADER_SIZE < need) break;
      auto r = handle_frame(*h, std::span<const std::uint8_t>(in.data() + off + yamux::HEADER_SIZE, need));
      off += yamux::HEADER_SIZE + need;
      if (!r) {
        protocol_failure(r.error());
        co_return;
      }
      if (m_closed) co_return;
    }
    if (off > 0) {
      in.erase(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(off));
      off = 0;
    }
    auto r = co_await m_chan->read_plaintext(in);
    if (!r) {
      close(r.error());
      co_return;
    }
  }
}

void Session::protocol_failure(const Error& e) {
  log().debug("peer {}: closing connection: {}", m_remote.to_string(), e.to_string());
  // Best effort: the GoAway is queued but the socket closes at once; a misbehaving peer gets no grace.
  go_away(yamux::GoAwayCode::ProtocolError);
  close(e);
}

Result<void> Session::handle_frame(const yamux::Header& h, std::span<const std::uint8_t> payload) {
  switch (h.type) {
    case yamux::Type::Ping:
      if (h.stream_id != 0) return Error(Errc::protocol, "yamux: ping on a stream");
      if (h.flags & yamux::SYN) send_frame({yamux::Type::Ping, yamux::ACK, 0, h.length});
      else if ((h.flags & yamux::ACK) && h.length == m_ping_opaque)
        m_rtt = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - m_ping_sent);
      return {};
    case yamux::Type::GoAway:
      if (h.stream_id != 0) return Error(Errc::protocol, "yamux: go-away on a stream");
      m_remote_goaway = true;
      log().debug("peer {}: go-away code {}", m_remote.to_string(), h.length);
      return {};
    case yamux::Type::Data:
    case yamux::Type::WindowUpdate:
      break;
  }
  if (h.stream_id == 0) return Error(Errc::protocol, "yamux: data or window update on stream 0");
  bool fresh = false;
  CIRO_TRY(auto st, stream_for(h, fresh));
  if (!st) return {};  // a stream we already dropped (reset or refused): discard
  if (h.type == yamux::Type::WindowUpdate) {
    st->send_window += h.length;
    if (st->send_window > UINT32_MAX) return Error(Errc::protocol, "yamux: send window overflow");
    st->writable.notify();
  } else if (!payload.empty()) {
    if (payload.size() > st->recv_credit) return Error(Errc::protocol, "yamux: data exceeds the receive window");
    st->recv_credit -= static_cast<std::uint32_t>(payload.size());
    if (st->remote_fin) return Error(Errc::protocol, "yamux: data after FIN");
    st->recv.emplace_back(payload.begin(), payload.end());
    st->recv_buffered += payload.size();
    st->readable.notify();
  }
  if (h.flags & yamux::RST) {
    fail_stream(*st, Error(Errc::io, "stream reset by peer"));
    return {};
  }
  if (h.flags & yamux::FIN) {
    st->remote_fin = true;
    st->readable.notify();
    if (st->local_fin) remove_stream(*st);
  }
  if (fresh && m_on_inbound) m_on_inbound(st);
  return {};
}

Result<std::shared_ptr<StreamState>> Session::stream_for(const yamux::Header& h, bool& fresh) {
  auto it = m_streams.find(h.stream_id);
  if (it != m_streams.end()) {
    if (h.flags & yamux::SYN) return Error(Errc::protocol, "yamux: SYN for an open stream");
    if ((h.flags & yamux::ACK) && !it->second->outbound) return Error(Errc::protocol, "yamux: ACK on an inbound stream");
    return it->second;
  }
  if (!(h.flags & yamux::SYN)) return std::shared_ptr<StreamState>();
  const bool remote_parity = m_opts.client ? (h.stream_id % 2 == 0) : (h.stream_id % 2 == 1);
  if (!remote_parity) return Error(Errc::protocol, "yamux: SYN with our own stream id parity");
  if (m_local_goaway || m_inbound >= m_opts.max_streams) {
    log().debug("peer {}: refusing stream {} ({} inbound streams open)", m_remote.to_string(), h.stream_id, m_inbound);
    send_frame({yamux::Type::WindowUpdate, yamux::RST, h.stream_id, 0});
    return std::shared_ptr<StreamState>();
  }
  auto st = std::make_shared<StreamState>(m_ex, weak_from_this(), h.stream_id, false);
  st->peer = m_remote;
  st->remote_addr = m_remote_addr;
  m_streams.emplace(h.stream_id, st);
  ++m_inbound;
  send_frame({yamux::Type::WindowUpdate, yamux::ACK, h.stream_id, 0});
  fresh = true;
  return st;
}

Result<std::shared_ptr<StreamState>> Session::open_stream() {
  if (m_closed) return Error(Errc::unavailable, "connection closed");
  if (m_local_goaway || m_remote_goaway) return Error(Errc::unavailable, "connection is going away");
  if (m_outbound >= m_opts.max_streams) return Error(Errc::limit_exceeded, "too many outbound streams");
  if (m_next_id > UINT32_MAX - 2) return Error(Errc::limit_exceeded, "stream ids exhausted");
  const std::uint32_t id = m_next_id;
  m_next_id += 2;
  auto st = std::make_shared<StreamState>(m_ex, weak_from_this(), id, true);
  st->peer = m_remote;
  st->remote_addr = m_remote_addr;
  m_streams.emplace(id, st);
  ++m_outbound;
  send_frame({yamux::Type::WindowUpdate, yamux::SYN, id, 0});
  return st;
}

void Session::consumed(StreamState& st) {
  if (st.removed || st.reset || st.remote_fin) return;
  const std::uint64_t outstanding = std::uint64_t(st.recv_credit) + st.recv_buffered;
  if (outstanding >= st.recv_window) return;
  const std::uint64_t uncredited = st.recv_window - outstanding;
  if (uncredited < st.recv_window / 2) return;
  // Grow the window when the reader keeps up: half a window consumed within 4 RTTs.
  const auto now = std::chrono::steady_clock::now();
  const auto rtt = std::max<std::chrono::microseconds>(m_rtt, std::chrono::milliseconds(1));
  if (st.recv_window < m_opts.max_window && now - st.last_update < 4 * rtt)
    st.recv_window = static_cast<std::uint32_t>(std::min<std::uint64_t>(std::uint64_t(st.recv_window) * 2, m_opts.max_window));
  st.last_update = now;
  const std::uint32_t delta = static_cast<std::uint32_t>(st.recv_window - outstanding);
  st.recv_credit += delta;
  send_frame({yamux::Type::WindowUpdate, 0, st.id, delta});
}

void Session::remove_stream(StreamState& st) {
  if (st.removed) return;
  st.removed = true;
  if (st.outbound) --m_outbound;
  else --m_inbound;
  m_streams.erase(st.id);
}

void Session::fail_stream(StreamState& st, Error e) {
  if (!st.reset) {
    st.reset = true;
    st.failure = std::move(e);
  }
  st.readable.notify();
  st.writable.notify();
  remove_stream(st);
}

void Session::go_away(yamux::GoAwayCode code) {
  if (m_local_goaway || m_closed) return;
  m_local_goaway = true;
  send_frame({yamux::Type::GoAway, 0, 0, static_cast<std::uint32_t>(code)});
}

Task<void> Session::flush(std::chrono::milliseconds timeout) {
  auto self = shared_from_this();
  Deadline d(m_ex, timeout, [self] { self->m_out_space.notify(); });
  while (!m_closed && !d.expired() && (!m_out.empty() || m_writing)) {
    if (!co_await m_out_space.wait()) break;
  }
}

void Session::close(const Error& reason) {
  if (m_closed) return;
  m_closed = true;
  boost::system::error_code ec;
  m_chan->socket().shutdown(tcp::socket::shutdown_both, ec);
  m_chan->socket().close(ec);
  std::vector<std::shared_ptr<StreamState>> streams;
  for (auto& [id, st] : m_streams) streams.push_back(st);
  for (auto& st : streams) fail_stream(*st, Error(Errc::unavailable, "connection closed: " + reason.message));
  m_out.clear();
  m_out_ready.notify();
  m_out_space.notify();
  if (m_on_close) {
    auto h = std::move(m_on_close);
    m_on_close = nullptr;
    h(reason);
  }
  m_on_inbound = nullptr;
}

}  // namespace ciro::network::detail

// ---------------------------------------------------------------- Stream

namespace ciro::network {

using detail::Session;
using detail::StreamState;

Stream::Stream(std::shared_ptr<detail::StreamState> state) : m_state(std::move(state)) {}

const std::string& Stream::protocol() const { return m_state->protocol; }
const PeerId& Stream::remote_peer() const { return m_state->peer; }
const Multiaddr& Stream::remote_addr() const { return m_state->remote_addr; }
std::uint32_t Stream::id() const { return m_state->id; }

Task<Result<std::size_t>> Stream::read_some(std::span<std::uint8_t> buffer) {
  auto st = m_state;
  if (!st) co_return Error(Errc::invalid_argument, "read on an empty stream handle");
  if (buffer.empty()) co_return std::size_t{0};
  for (;;) {
    if (st->recv_buffered > 0) {
      std::size_t n = 0;
      while (n < buffer.size() && !st->recv.empty()) {
        auto& front = st->recv.front();
        std::size_t take = std::min(buffer.size() - n, front.size() - st->recv_front_off);
        std::memcpy(buffer.data() + n, front.data() + st->recv_front_off, take);
        n += take;
        st->recv_front_off += take;
        if (st->recv_front_off == front.size()) {
          st->recv.pop_front();
          st->recv_front_off = 0;
        }
      }
      st->recv_buffered -= n;
      if (auto s = st->session.lock()) s->consumed(*st);
      co_return n;
    }
    if (st->reset) co_return st->failure;
    if (st->remote_fin) co_return std::size_t{0};
    if (!co_await st->readable.wait()) co_return Error(Errc::cancelled, "read cancelled");
  }
}

Task<Result<void>> Stream::read_exact(std::span<std::uint8_t> buffer) {
  std::size_t got = 0;
  while (got < buffer.size()) {
    auto r = co_await read_some(buffer.subspan(got));
    if (!r) co_return r.error();
    if (*r == 0) co_return Error(Errc::protocol, "stream ended early");
    got += *r;
  }
  co_return Result<void>{};
}

Task<Result<void>> Stream::write(std::span<const std::uint8_t> data) {
  auto st = m_state;
  if (!st) co_return Error(Errc::invalid_argument, "write on an empty stream handle");
  std::size_t off = 0;
  while (off < data.size()) {
    if (st->reset) co_return st->failure;
    if (st->local_fin) co_return Error(Errc::invalid_argument, "write after close_write");
    auto s = st->session.lock();
    if (!s || s->closed()) co_return Error(Errc::unavailable, "connection closed");
    if (st->send_window == 0) {
      if (!co_await st->writable.wait()) co_return Error(Errc::cancelled, "write cancelled");
      continue;
    }
    if (s->send_queue_full()) {
      if (!co_await s->send_space().wait()) co_return Error(Errc::cancelled, "write cancelled");
      continue;
    }
    std::size_t n = std::min<std::uint64_t>({data.size() - off, st->send_window, detail::MAX_DATA_FRAME_PAYLOAD});
    s->send_frame({yamux::Type::Data, 0, st->id, static_cast<std::uint32_t>(n)}, data.subspan(off, n));
    st->send_window -= n;
    off += n;
  }
  co_return Result<void>{};
}

Task<Result<void>> Stream::close_write() {
  auto st = m_state;
  if (!st) co_return Error(Errc::invalid_argument, "close on an empty stream handle");
  if (st->reset) co_return st->failure;
  if (st->local_fin) co_return Result<void>{};
  auto s = st->session.lock();
  if (!s || s->closed()) co_return Error(Errc::unavailable, "connection closed");
  st->local_fin = true;
  s->send_frame({yamux::Type::WindowUpdate, yamux::FIN, st->id, 0});
  if (st->remote_fin) s->remove_stream(*st);
  co_return Result<void>{};
}

void Stream::reset() {
  auto st = m_state;
  if (!st || st->reset) return;
  if (st->removed) {  // closed both ways already; just fail local waiters
    st->reset = true;
    st->failure = Error(Errc::cancelled, "stream reset locally");
    return;
  }
  if (auto s = st->session.lock()) {
    s->send_frame({yamux::Type::WindowUpdate, yamux::RST, st->id, 0});
    s->fail_stream_public(*st, Error(Errc::cancelled, "stream reset locally"));
  }
}

Task<Result<Bytes>> read_length_prefixed(Stream stream, std::size_t max_size) {
  std::uint64_t len = 0;
  for (int i = 0;; ++i) {
    if (i >= 9) co_return Error(Errc::protocol, "length prefix too long");
    std::uint8_t b = 0;
    auto r = co_await stream.read_exact({&b, 1});
    if (!r) co_return r.error();
    len |= static_cast<std::uint64_t>(b & 0x7f) << (7 * i);
    if (!(b & 0x80)) break;
  }
  if (len > max_size) co_return Error(Errc::limit_exceeded, "message of " + std::to_string(len) + " bytes exceeds " + std::to_string(max_size));
  Bytes out(len);
  auto r = co_await stream.read_exact(out);
  if (!r) co_return r.error();
  co_return out;
}

Task<Result<void>> write_length_prefixed(Stream stream, Bytes message) {
  Bytes out;
  utils::varint_append(out, message.size());
  out.insert(out.end(), message.begin(), message.end());
  co_return co_await stream.write(out);
}

}  // namespace ciro::network
