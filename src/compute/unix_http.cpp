#include "compute/unix_http.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <limits>

namespace ciro::compute {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Stream = beast::basic_stream<net::local::stream_protocol, net::any_io_executor, beast::unlimited_rate_policy>;
constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

Error io_error(std::string_view step, const boost::system::error_code& ec, const std::filesystem::path& sock) {
  std::string where = std::string(step) + " (" + sock.string() + "): " + ec.message();
  if (ec == beast::error::timeout) return make_error(Errc::timeout, "engine request timed out during " + where);
  if (ec == net::error::connection_refused || ec == boost::system::errc::no_such_file_or_directory) {
    return make_error(Errc::unavailable, "engine socket does not accept connections: " + where);
  }
  if (ec == net::error::operation_aborted) return make_error(Errc::cancelled, "engine request cancelled during " + where);
  if (ec.category() == http::make_error_code(http::error::bad_version).category()) {
    return make_error(Errc::protocol, "malformed HTTP response from engine during " + where);
  }
  return make_error(Errc::io, "engine connection failed during " + where);
}

void set_expiry(Stream& s, std::chrono::milliseconds t) {
  if (t.count() > 0) {
    s.expires_after(t);
  } else {
    s.expires_never();
  }
}

/// Connects and writes the request. The caller owns the stream and awaits this directly.
net::awaitable<Result<void>> connect_and_send(Stream& s, const std::filesystem::path& sock, std::string method,
                                              std::string target, std::optional<std::string> body,
                                              std::chrono::milliseconds timeout) {
  http::verb verb = http::string_to_verb(method);
  if (verb == http::verb::unknown) co_return make_error(Errc::invalid_argument, "unknown HTTP method " + method);
  set_expiry(s, timeout);
  auto [cec] = co_await s.async_connect(net::local::stream_protocol::endpoint(sock.string()), use_tuple);
  if (cec) co_return io_error("connect", cec, sock);

  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "localhost");
  req.set(http::field::user_agent, "ciro-worker");
  req.keep_alive(false);
  if (body) {
    req.set(http::field::content_type, "application/json");
    req.body() = std::move(*body);
  }
  req.prepare_payload();
  auto [wec, wn] = co_await http::async_write(s, req, use_tuple);
  if (wec) co_return io_error("write " + method + " " + target, wec, sock);
  co_return Result<void>{};
}

}  // namespace

struct HttpStream::Impl {
  explicit Impl(net::any_io_executor ex, std::filesystem::path sock) : stream(std::move(ex)), socket(std::move(sock)) {
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  }
  Stream stream;
  std::filesystem::path socket;
  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  bool closed = false;
};

HttpStream::HttpStream(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
HttpStream::~HttpStream() = default;

unsigned HttpStream::status() const noexcept { return m_impl->parser.get().result_int(); }

net::awaitable<Result<std::size_t>> HttpStream::read(std::span<char> buf, std::chrono::milliseconds idle_timeout) {
  Impl& im = *m_impl;
  if (buf.empty()) co_return make_error(Errc::invalid_argument, "HttpStream::read: empty buffer");
  while (true) {
    if (im.closed) co_return make_error(Errc::cancelled, "engine stream closed");
    if (im.parser.is_done()) co_return std::size_t{0};
    im.parser.get().body().data = buf.data();
    im.parser.get().body().size = buf.size();
    set_expiry(im.stream, idle_timeout);
    // read_some returns after one socket read: a followed log must not wait for a full buffer.
    auto [ec, n] = co_await http::async_read_some(im.stream, im.buffer, im.parser, use_tuple);
    if (ec == http::error::need_buffer) ec = {};
    if (ec == http::error::end_of_stream && im.parser.is_done()) ec = {};
    if (im.closed) co_return make_error(Errc::cancelled, "engine stream closed");
    if (ec) co_return io_error("read body", ec, im.socket);
    std::size_t got = buf.size() - im.parser.get().body().size;
    if (got > 0) co_return got;
  }
}

net::awaitable<Result<std::string>> HttpStream::read_all(std::size_t limit, std::chrono::milliseconds timeout) {
  std::string out;
  char buf[16384];
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) co_return make_error(Errc::timeout, "engine response body not read in time");
    auto r = co_await read(std::span<char>(buf, sizeof buf), left);
    if (!r) co_return std::move(r).error();
    if (*r == 0) co_return out;
    if (out.size() + *r > limit) co_return make_error(Errc::limit_exceeded, "engine response body too large");
    out.append(buf, *r);
  }
}

void HttpStream::close() noexcept {
  m_impl->closed = true;
  boost::system::error_code ec;
  m_impl->stream.socket().cancel(ec);
  m_impl->stream.socket().close(ec);
}

UnixHttpClient::UnixHttpClient(net::any_io_executor ex, std::filesystem::path socket)
    : m_ex(std::move(ex)), m_socket(std::move(socket)) {}

net::awaitable<Result<HttpResponse>> UnixHttpClient::request(std::string method, std::string target,
                                                             std::optional<std::string> body,
                                                             std::chrono::milliseconds timeout) const {
  Stream s(m_ex);
  std::string what = method + " " + target;
  auto sent = co_await connect_and_send(s, m_socket, method, target, std::move(body), timeout);
  if (!sent) co_return std::move(sent).error();
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(MAX_BODY);
  auto [ec, n] = co_await http::async_read(s, buffer, parser, use_tuple);
  if (ec) co_return io_error("read " + what, ec, m_socket);
  HttpResponse out;
  auto& msg = parser.get();
  out.status = msg.result_int();
  out.content_type = std::string(msg[http::field::content_type]);
  out.body = std::move(msg.body());
  boost::system::error_code ignored;
  s.socket().shutdown(net::socket_base::shutdown_both, ignored);
  co_return out;
}

net::awaitable<Result<std::shared_ptr<HttpStream>>> UnixHttpClient::open(std::string method, std::string target,
                                                                         std::optional<std::string> body,
                                                                         std::chrono::milliseconds header_timeout) const {
  auto impl = std::make_unique<HttpStream::Impl>(m_ex, m_socket);
  std::string what = method + " " + target;
  auto sent = co_await connect_and_send(impl->stream, m_socket, method, target, std::move(body), header_timeout);
  if (!sent) co_return std::move(sent).error();
  auto [ec, n] = co_await http::async_read_header(impl->stream, impl->buffer, impl->parser, use_tuple);
  if (ec) co_return io_error("read header " + what, ec, m_socket);
  co_return std::make_shared<HttpStream>(std::move(impl));
}

}  // namespace ciro::compute
