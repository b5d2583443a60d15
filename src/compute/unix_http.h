#pragma once
// UnixHttpClient: a small HTTP/1.1 client over a Unix stream socket (the Docker Engine API).
// One connection per request ("Connection: close"), every I/O step under a timeout, errors as
// Result values (nothing throws out). Beast stays in unix_http.cpp: this header only needs Asio's
// awaitable and executor types.
// Lives on the caller's executor (the node's io_context thread); objects are cheap to copy.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "utils/result.h"

namespace ciro::compute {

struct HttpResponse {
  unsigned status = 0;
  std::string content_type;
  std::string body;
};

/// A response whose body is read piece by piece (followed logs, archives). close() may be called
/// from another coroutine on the same executor to abort a pending read(); that read then returns
/// Errc::cancelled.
class HttpStream {
 public:
  struct Impl;
  explicit HttpStream(std::unique_ptr<Impl> impl);
  ~HttpStream();
  HttpStream(const HttpStream&) = delete;
  HttpStream& operator=(const HttpStream&) = delete;

  unsigned status() const noexcept;
  /// Reads up to buf.size() body bytes (chunked encoding removed). Returns 0 at the end of the
  /// body. idle_timeout bounds the wait for the next bytes; zero means no bound.
  boost::asio::awaitable<Result<std::size_t>> read(std::span<char> buf, std::chrono::milliseconds idle_timeout);
  /// Reads the rest of the body into a string (at most limit bytes; more is an error).
  boost::asio::awaitable<Result<std::string>> read_all(std::size_t limit, std::chrono::milliseconds timeout);
  /// Closes the connection; a pending read() completes with Errc::cancelled.
  void close() noexcept;

 private:
  std::unique_ptr<Impl> m_impl;
};

class UnixHttpClient {
 public:
  /// Largest body request() accepts (engine replies are small JSON; archives use open()).
  static constexpr std::size_t MAX_BODY = 64u << 20;

  UnixHttpClient(boost::asio::any_io_executor ex, std::filesystem::path socket);

  /// Sends one request (body, when given, as application/json) and reads the whole response
  /// within timeout. Errors: Errc::unavailable when the socket does not accept, Errc::timeout,
  /// Errc::io on a broken connection, Errc::protocol on a malformed response. Non-2xx statuses
  /// are not errors: the caller reads status and body.
  boost::asio::awaitable<Result<HttpResponse>> request(std::string method, std::string target,
                                                       std::optional<std::string> body,
                                                       std::chrono::milliseconds timeout) const;

  /// Sends a request and returns once the response header is read (within header_timeout); the
  /// body is then read through the HttpStream.
  boost::asio::awaitable<Result<std::shared_ptr<HttpStream>>> open(std::string method, std::string target,
                                                                   std::optional<std::string> body,
                                                                   std::chrono::milliseconds header_timeout) const;

  const std::filesystem::path& socket() const noexcept { return m_socket; }

 private:
  boost::asio::any_io_executor m_ex;
  std::filesystem::path m_socket;
};

}  // namespace ciro::compute
