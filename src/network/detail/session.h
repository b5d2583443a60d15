#pragma once
// Private to ciro_network: the connection machinery under Host. Includes Asio; never include
// this from a public header.
//   TaskGate       owns spawned coroutines; closes, cancels and awaits them (two-phase stop)
//   Signal         a wake-up for coroutines waiting on state (a timer that never fires by itself)
//   ByteIo         a byte pipe (raw TCP, Noise before the muxer, Yamux stream) for multistream
//   SecureChannel  a Noise transport over a TCP socket
//   Session        a Yamux session over a SecureChannel; its streams are StreamState
// Everything lives on the one io_context thread.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <unordered_map>

#include "network/multiaddr.h"
#include "network/noise.h"
#include "network/stream.h"
#include "network/yamux_frame.h"

namespace spdlog {
class logger;
}

namespace ciro::network::detail {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
inline constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

/// The "network" logger (created on first use).
spdlog::logger& log();

class Signal {
 public:
  explicit Signal(asio::any_io_executor ex) : m_timer(ex, asio::steady_timer::time_point::max()) {}
  /// Returns after the next notify(); false when the waiting task was cancelled. Callers
  /// re-check their condition either way.
  Task<bool> wait();
  void notify() { m_timer.cancel(); }

 private:
  asio::steady_timer m_timer;
};

/// Fires `on_expiry` once after `timeout` unless destroyed first. For bounding waits by closing
/// or resetting what is waited on.
class Deadline {
 public:
  Deadline(asio::any_io_executor ex, std::chrono::steady_clock::duration timeout, std::function<void()> on_expiry);
  ~Deadline();
  bool expired() const { return *m_expired; }

 private:
  asio::steady_timer m_timer;
  std::shared_ptr<bool> m_expired = std::make_shared<bool>(false);
  std::shared_ptr<bool> m_alive = std::make_shared<bool>(true);
};

class TaskGate {
 public:
  explicit TaskGate(asio::any_io_executor ex) : m_ex(ex), m_s(std::make_shared<State>(ex)) {}
  /// Spawns the task unless the gate is closed; returns whether it was spawned.
  bool spawn(Task<void> task);
  void close() { m_s->closed = true; }
  bool closed() const { return m_s->closed; }
  /// Requests terminal cancellation of every running task.
  void cancel_all();
  Task<void> wait_idle();
  std::size_t running() const { return m_s->running; }

 private:
  // Shared with the completion handlers, which may run after the gate's owner is gone.
  struct State {
    explicit State(asio::any_io_executor ex) : idle(ex) {}
    Signal idle;
    std::list<asio::cancellation_signal> signals;
    std::size_t running = 0;
    bool closed = false;
  };
  asio::any_io_executor m_ex;
  std::shared_ptr<State> m_s;
};

struct ByteIo {
  virtual ~ByteIo() = default;
  virtual Task<Result<std::size_t>> read_some(std::span<std::uint8_t> buffer) = 0;
  virtual Task<Result<void>> write_all(std::span<const std::uint8_t> data) = 0;
};
Task<Result<void>> read_exact(ByteIo* io, std::span<std::uint8_t> buffer);

/// multistream-select as dialer: proposes protocols in order; returns the accepted one.
Task<Result<std::string>> ms_select(ByteIo* io, std::vector<std::string> protocols);
/// multistream-select as listener: answers `ls` and `na` until the dialer picks a supported one.
Task<Result<std::string>> ms_handle(ByteIo* io, std::vector<std::string> protocols);
/// Asks the listener for its protocols (`ls`).
Task<Result<std::vector<std::string>>> ms_ls(ByteIo* io);

class TcpIo final : public ByteIo {
 public:
  explicit TcpIo(tcp::socket& socket) : m_socket(socket) {}
  Task<Result<std::size_t>> read_some(std::span<std::uint8_t> buffer) override;
  Task<Result<void>> write_all(std::span<const std::uint8_t> data) override;

 private:
  tcp::socket& m_socket;
};

class SecureChannel {
 public:
  SecureChannel(tcp::socket socket, noise::CipherState send, noise::CipherState recv);
  /// Reads at least one whole Noise message and appends every decrypted message buffered to out.
  Task<Result<void>> read_plaintext(Bytes& out);
  /// Encrypts data as messages of at most 65519 plaintext bytes and writes them all.
  Task<Result<void>> write_plaintext(std::span<const std::uint8_t> data);
  tcp::socket& socket() { return m_socket; }
  /// Puts plaintext back in front of what read_plaintext returns next.
  void unread(Bytes data) { m_pending = std::move(data); }

 private:
  Bytes m_pending;
  tcp::socket m_socket;
  noise::CipherState m_send, m_recv;
  Bytes m_rbuf;
  std::size_t m_rstart = 0, m_rend = 0;
  Bytes m_wbuf;
};

/// multistream-select inside Noise, before the muxer (when the peer did not negotiate early).
class NoiseIo final : public ByteIo {
 public:
  explicit NoiseIo(SecureChannel& ch) : m_ch(ch) {}
  Task<Result<std::size_t>> read_some(std::span<std::uint8_t> buffer) override;
  Task<Result<void>> write_all(std::span<const std::uint8_t> data) override;
  /// Hands plaintext read but not consumed back to the channel (for the muxer).
  void give_back();

 private:
  SecureChannel& m_ch;
  Bytes m_buf;
  std::size_t m_off = 0;
};

class Session;
/// js-libp2p's maxMessageSize (64 KiB) includes the 12-byte header.
inline constexpr std::size_t MAX_DATA_FRAME_PAYLOAD = 64 * 1024 - yamux::HEADER_SIZE;

struct StreamState {
  StreamState(asio::any_io_executor ex, std::weak_ptr<Session> s, std::uint32_t id_, bool outbound_)
      : session(std::move(s)), id(id_), outbound(outbound_), readable(ex), writable(ex) {}
  std::weak_ptr<Session> session;
  std::uint32_t id;
  bool outbound;
  std::string protocol;
  PeerId peer;
  Multiaddr remote_addr;

  std::deque<Bytes> recv;
  std::size_t recv_front_off = 0;
  std::size_t recv_buffered = 0;
  std::uint32_t recv_credit = yamux::INITIAL_WINDOW;  ///< what the peer may still send
  std::uint32_t recv_window = yamux::INITIAL_WINDOW;  ///< current window size (grows)
  std::chrono::steady_clock::time_point last_update = std::chrono::steady_clock::now();
  std::uint64_t send_window = yamux::INITIAL_WINDOW;
  bool remote_fin = false, local_fin = false, reset = false, removed = false;
  Error failure;  ///< why the stream failed (reset, connection closed)
  Signal readable, writable;
};

struct SessionOptions {
  bool client = true;  ///< the dialer: odd stream ids
  std::size_t max_streams = 256;
  std::uint32_t max_window = yamux::MAX_WINDOW;
  std::size_t max_send_queue = 4 * 1024 * 1024;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  using InboundHandler = std::function<void(std::shared_ptr<StreamState>)>;
  using CloseHandler = std::function<void(const Error&)>;

  Session(asio::any_io_executor ex, std::unique_ptr<SecureChannel> channel, SessionOptions options,
          PeerId remote, Multiaddr remote_addr);
  ~Session();
  void on_inbound(InboundHandler h) { m_on_inbound = std::move(h); }
  void on_close(CloseHandler h) { m_on_close = std::move(h); }

  /// The two loops of the session; the owner spawns both and keeps the session alive meanwhile.
  Task<void> run_reader(std::shared_ptr<Session> self);
  Task<void> run_writer(std::shared_ptr<Session> self);

  /// Opens an outbound stream (SYN sent). Fails when closed, after GoAway, or at the limit.
  Result<std::shared_ptr<StreamState>> open_stream();
  /// Queues a GoAway; no new streams either way afterwards.
  void go_away(yamux::GoAwayCode code);
  /// Waits (bounded) until the send queue drained, so a GoAway reaches the wire.
  Task<void> flush(std::chrono::milliseconds timeout);
  /// Closes the socket, fails every stream, calls the close handler once.
  void close(const Error& reason);
  bool closed() const { return m_closed; }
  const PeerId& remote_peer() const { return m_remote; }
  const Multiaddr& remote_addr() const { return m_remote_addr; }
  bool is_client() const { return m_opts.client; }
  std::chrono::microseconds rtt() const { return m_rtt; }
  asio::any_io_executor executor() const { return m_ex; }

  // Used by Stream.
  void send_frame(const yamux::Header& h, std::span<const std::uint8_t> payload = {});
  bool send_queue_full() const { return m_out.size() >= m_opts.max_send_queue; }
  Signal& send_space() { return m_out_space; }
  void consumed(StreamState& st);
  void remove_stream(StreamState& st);
  void fail_stream_public(StreamState& st, Error e) { fail_stream(st, std::move(e)); }

 private:
  void protocol_failure(const Error& e);
  Result<void> handle_frame(const yamux::Header& h, std::span<const std::uint8_t> payload);
  Result<std::shared_ptr<StreamState>> stream_for(const yamux::Header& h, bool& fresh);
  void fail_stream(StreamState& st, Error e);

  asio::any_io_executor m_ex;
  std::unique_ptr<SecureChannel> m_chan;
  SessionOptions m_opts;
  PeerId m_remote;
  Multiaddr m_remote_addr;
  std::unordered_map<std::uint32_t, std::shared_ptr<StreamState>> m_streams;
  std::size_t m_inbound = 0, m_outbound = 0;
  std::uint32_t m_next_id;
  Bytes m_out, m_sending;
  Signal m_out_ready, m_out_space;
  bool m_writing = false;
  bool m_closed = false, m_local_goaway = false, m_remote_goaway = false;
  InboundHandler m_on_inbound;
  CloseHandler m_on_close;
  std::uint32_t m_ping_opaque = 0;
  std::chrono::steady_clock::time_point m_ping_sent;
  std::chrono::microseconds m_rtt{0};
};

/// ByteIo over a Yamux stream (for multistream-select on new streams).
class StreamIo final : public ByteIo {
 public:
  explicit StreamIo(Stream s) : m_stream(std::move(s)) {}
  Task<Result<std::size_t>> read_some(std::span<std::uint8_t> buffer) override;
  Task<Result<void>> write_all(std::span<const std::uint8_t> data) override;

 private:
  Stream m_stream;
};

}  // namespace ciro::network::detail
