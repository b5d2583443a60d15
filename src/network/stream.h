#pragma once
// Stream: one Yamux stream of an authenticated connection, after its protocol was negotiated.
// A cheap handle (shared state); lives on the Host's io_context and must only be used there.
// The stream stays open until both sides closed their write side, either side reset it, or the
// connection closed. Includes only the light Asio awaitable header (no sockets).

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "network/multiaddr.h"
#include "network/peer_id.h"
#include "utils/result.h"

namespace ciro::network {

template <typename T>
using Task = boost::asio::awaitable<T>;

namespace detail {
struct StreamState;
}

class Stream {
 public:
  Stream() = default;
  explicit Stream(std::shared_ptr<detail::StreamState> state);

  /// Reads what is buffered (waiting for data if none); 0 means the peer closed its write side.
  /// Fails when the stream was reset or the connection closed.
  Task<Result<std::size_t>> read_some(std::span<std::uint8_t> buffer);
  /// Fills the whole buffer; fails on EOF before that (Errc::protocol), reset or close.
  Task<Result<void>> read_exact(std::span<std::uint8_t> buffer);
  /// Writes all of data, waiting for the peer's flow-control window as needed.
  /// Fails when the stream was reset, its write side closed, or the connection closed.
  Task<Result<void>> write(std::span<const std::uint8_t> data);
  /// Sends FIN: the peer reads EOF after what was written. Reading still works.
  Task<Result<void>> close_write();
  /// Aborts both directions (RST); pending reads and writes fail. Safe to call twice.
  void reset();

  bool valid() const { return m_state != nullptr; }
  const std::string& protocol() const;
  const PeerId& remote_peer() const;
  const Multiaddr& remote_addr() const;
  std::uint32_t id() const;

 private:
  std::shared_ptr<detail::StreamState> m_state;
};

/// unsigned-varint length, then the message. Fails when the length exceeds max_size.
Task<Result<Bytes>> read_length_prefixed(Stream stream, std::size_t max_size);
Task<Result<void>> write_length_prefixed(Stream stream, Bytes message);

}  // namespace ciro::network
