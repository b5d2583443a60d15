#include "api/http_server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <fstream>
#include <set>

#include "utils/log.h"

namespace ciro::api {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using net::awaitable;
using net::use_awaitable;
constexpr auto tuple_awaitable = net::as_tuple(use_awaitable);

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_digit(s[i + 1]) >= 0 && hex_digit(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2])));
      i += 2;
    } else if (plus_is_space && s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

HttpRequest convert(http::request<http::string_body>&& req, const std::string& remote) {
  HttpRequest r;
  r.method = std::string(req.method_string());
  r.target = std::string(req.target());
  std::string_view target(r.target);
  auto q = target.find('?');
  r.path = percent_decode(target.substr(0, q), false);
  // Split before decoding, so an encoded '/' (%2F) stays inside its segment and cannot reach
  // another route. Empty segments ("//") are kept and match no route.
  std::string_view raw = target.substr(0, q);
  if (!raw.empty() && raw.front() == '/') raw.remove_prefix(1);
  while (true) {
    const auto slash = raw.find('/');
    r.segments.push_back(percent_decode(raw.substr(0, slash), false));
    if (slash == std::string_view::npos) break;
    raw.remove_prefix(slash + 1);
  }
  if (r.segments.size() == 1 && r.segments[0].empty()) r.segments.clear();  // "/" itself
  if (q != std::string_view::npos) {
    std::string_view qs = target.substr(q + 1);
    while (!qs.empty()) {
      auto amp = qs.find('&');
      std::string_view kv = qs.substr(0, amp);
      auto eq = kv.find('=');
      std::string key = percent_decode(kv.substr(0, eq), true);
      std::string value = eq == std::string_view::npos ? "" : percent_decode(kv.substr(eq + 1), true);
      if (!key.empty()) r.query[key] = value;
      if (amp == std::string_view::npos) break;
      qs.remove_prefix(amp + 1);
    }
  }
  for (const auto& f : req) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers[name] = std::string(f.value());
  }
  r.body = std::move(req.body());
  r.remote = remote;
  return r;
}

// The request line and headers only (no body yet), for HttpServerOptions::precheck.
HttpRequest convert_header(const http::request<http::string_body>& req, const std::string& remote) {
  http::request<http::string_body> copy;
  copy.base() = req.base();
  return convert(std::move(copy), remote);
}

std::optional<tcp::endpoint> parse_endpoint(const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty() || host == "localhost") host = "127.0.0.1";
  boost::system::error_code ec;
  auto ip = net::ip::make_address(host, ec);
  if (ec) return std::nullopt;
  try {
    int port = std::stoi(address.substr(colon + 1));
    if (port < 0 || port > 65535) return std::nullopt;
    return tcp::endpoint(ip, static_cast<unsigned short>(port));
  } catch (...) {
    return std::nullopt;
  }
}

}  // namespace

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  net::any_io_executor executor;
  HttpServerOptions options;
  Handler handler;
  tcp::acceptor acceptor;
  std::set<std::shared_ptr<beast::tcp_stream>> connections;
  bool stopped = false;
  std::shared_ptr<spdlog::logger> log = utils::logger("api");

  Impl(net::any_io_executor ex, HttpServerOptions opts, Handler h)
      : executor(ex), options(std::move(opts)), handler(std::move(h)), acceptor(ex) {}

  awaitable<void> accept_loop() {
    auto self = shared_from_this();
    while (!stopped) {
      auto [ec, socket] = co_await acceptor.async_accept(tuple_awaitable);
      if (ec) {
        if (stopped || ec == net::error::operation_aborted) break;
        log->warn("accept failed: {}", ec.message());
        continue;
      }
      auto stream = std::make_shared<beast::tcp_stream>(std::move(socket));
      if (connections.size() >= options.max_connections) {
        net::co_spawn(executor, reject_busy(stream), net::detached);
        continue;
      }
      connections.insert(stream);
      net::co_spawn(executor, session(stream), net::detached);
    }
  }

  awaitable<void> reject_busy(std::shared_ptr<beast::tcp_stream> stream) {
    auto self = shared_from_this();
    http::response<http::string_body> res{http::status::service_unavailable, 11};
    res.set(http::field::content_type, "application/json");
    res.set(http::field::retry_after, "1");
    res.body() = R"({"error":{"code":"too_many_connections","message":"connection limit reached; retry later"}})"
                 "\n";
    res.keep_alive(false);
    res.prepare_payload();
    stream->expires_after(std::chrono::seconds(5));
    co_await http::async_write(*stream, res, tuple_awaitable);
    beast::error_code ignored;
    stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
  }

  // An error answered from the headers, then the connection is closed; a HEAD gets no body.
  static awaitable<void> write_refusal(beast::tcp_stream& stream, HttpResponse r, bool head) {
    auto res = make_plain(std::move(r), 11, false);
    if (head) {
      http::response<http::empty_body> h{res.result(), 11};
      h.base() = res.base();
      h.content_length(res.body().size());
      co_await write_simple(stream, h);
    } else {
      co_await write_simple(stream, res);
    }
  }

  template <typename Body>
  static awaitable<beast::error_code> write_simple(beast::tcp_stream& stream, http::response<Body>& res) {
    auto [ec, n] = co_await http::async_write(stream, res, tuple_awaitable);
    co_return ec;
  }

  awaitable<void> session(std::shared_ptr<beast::tcp_stream> stream) {
    auto self = shared_from_this();
    beast::flat_buffer buffer;
    std::string remote;
    {
      beast::error_code ec;
      auto ep = stream->socket().remote_endpoint(ec);
      if (!ec) remote = ep.address().to_string() + ":" + std::to_string(ep.port());
    }
    while (!stopped) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(options.body_limit);
      parser.header_limit(16 * 1024);
      // Headers first, with a shorter clock: an idle or trickling client cannot hold a slot long.
      stream->expires_after(std::min<std::chrono::milliseconds>(options.request_timeout, std::chrono::seconds(10)));
      auto [hec, hn] = co_await http::async_read_header(*stream, buffer, parser, tuple_awaitable);
      beast::error_code ec = hec;
      if (!ec) {
        if (auto refused = framing_error(parser.get())) {
          // Answered and closed: what follows on this connection cannot be trusted to be a request.
          co_await write_refusal(*stream, std::move(*refused), parser.get().method() == http::verb::head);
          break;
        }
      }
      if (!ec && options.precheck) {
        // Refuse (e.g. 401) before reading a body nobody is entitled to make us hold.
        HttpRequest head_only = convert_header(parser.get(), remote);
        if (auto refused = options.precheck(head_only)) {
          co_await write_refusal(*stream, std::move(*refused), parser.get().method() == http::verb::head);
          break;
        }
      }
      if (!ec && !parser.is_done() && beast::iequals(parser.get()[http::field::expect], "100-continue")) {
        http::response<http::empty_body> go_on{http::status::continue_, 11};
        stream->expires_after(options.request_timeout);
        co_await write_simple(*stream, go_on);
      }
      if (!ec && !parser.is_done()) {
        stream->expires_after(options.request_timeout);
        auto [bec, bn] = co_await http::async_read(*stream, buffer, parser, tuple_awaitable);
        ec = bec;
      }
      if (ec) {
        if (ec == http::error::body_limit) {
          auto res = make_plain(error_response(413, "body_too_large",
                                               "request body is larger than the limit of " +
                                                   std::to_string(options.body_limit) + " bytes (api.body_limit)"),
                                11, false);
          co_await write_simple(*stream, res);
        } else if (ec == http::error::header_limit) {
          auto res = make_plain(error_response(431, "headers_too_large", "request headers exceed 16 KiB"), 11, false);
          co_await write_simple(*stream, res);
        } else if (ec.category() == http::make_error_code(http::error::bad_version).category() &&
                   ec != http::error::end_of_stream && ec != http::error::partial_message && !stopped) {
          auto res =
              make_plain(error_response(400, "bad_request", "malformed HTTP request: " + ec.message()), 11, false);
          co_await write_simple(*stream, res);
        }
        break;
      }
      auto req = parser.release();
      const bool keep_alive = req.keep_alive();
      const unsigned version = req.version();
      const bool head = req.method() == http::verb::head;
      HttpRequest request = convert(std::move(req), remote);
      stream->expires_never();
      HttpResponse response;
      try {
        response = co_await handler(std::move(request));
      } catch (const std::exception& e) {
        log->error("handler threw: {}", e.what());
        response = error_response(500, "internal", "internal error");
      }
      beast::error_code wec;
      if (response.stream || !response.file.empty()) {
        wec = co_await write_streamed(*stream, std::move(response), version, head);
        if (wec || !keep_alive || version < 11) break;  // a 1.0 body ends with the connection
        continue;
      }
      auto res = make_plain(std::move(response), version, keep_alive);
      if (head) {
        http::response<http::empty_body> h{res.result(), version};
        h.base() = res.base();
        h.content_length(res.body().size());
        stream->expires_after(options.request_timeout);
        wec = co_await write_simple(*stream, h);
      } else {
        stream->expires_after(options.request_timeout);
        wec = co_await write_simple(*stream, res);
      }
      if (wec || !keep_alive) break;
    }
    beast::error_code ignored;
    stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
    connections.erase(stream);
  }

  // Requests whose framing or target we will not guess at (RFC 9112 §6.3: an unknown transfer
  // coding, or one next to a Content-Length, is answered 400 and the connection closed).
  static std::optional<HttpResponse> framing_error(const http::request<http::string_body>& req) {
    const std::string_view target = req.target();
    if (target.empty() || (target.front() != '/' && !(target == "*" && req.method() == http::verb::options))) {
      return error_response(400, "bad_request", "the request target must be a path starting with '/'");
    }
    if (req.count(http::field::transfer_encoding) > 1 || req.count(http::field::content_length) > 1) {
      return error_response(400, "bad_request", "Transfer-Encoding or Content-Length given more than once");
    }
    if (req.find(http::field::transfer_encoding) != req.end()) {
      if (!beast::iequals(req[http::field::transfer_encoding], "chunked")) {
        return error_response(400, "bad_request", "Transfer-Encoding: only 'chunked' is accepted");
      }
      if (req.find(http::field::content_length) != req.end()) {
        return error_response(400, "bad_request", "Transfer-Encoding and Content-Length together are refused");
      }
    }
    if (req.find(http::field::expect) != req.end() && !beast::iequals(req[http::field::expect], "100-continue")) {
      return error_response(417, "expectation_failed", "Expect: only '100-continue' is supported");
    }
    return std::nullopt;
  }

  static http::response<http::string_body> make_plain(HttpResponse r, unsigned version, bool keep_alive) {
    http::response<http::string_body> res{static_cast<http::status>(r.status), version};
    res.set(http::field::server, "ciro-worker");
    res.set(http::field::content_type, r.content_type);
    for (const auto& [k, v] : r.headers) res.set(k, v);
    res.body() = std::move(r.body);
    res.keep_alive(keep_alive);
    res.prepare_payload();
    return res;
  }

  // Chunked transfer: the header, then one chunk per piece the stream yields.
  awaitable<beast::error_code> write_streamed(beast::tcp_stream& stream, HttpResponse r, unsigned version, bool head) {
    http::response<http::empty_body> res{static_cast<http::status>(r.status), version};
    res.set(http::field::server, "ciro-worker");
    res.set(http::field::content_type, r.content_type);
    for (const auto& [k, v] : r.headers) res.set(k, v);
    // HTTP/1.1: chunked. HTTP/1.0 knows no chunks: the body is sent as is and ended by the close
    // (the caller closes after a streamed reply to a 1.0 client, which never keeps alive here).
    const bool chunked = version >= 11;
    if (chunked) {
      res.chunked(true);
    } else {
      res.keep_alive(false);
    }
    http::response_serializer<http::empty_body> sr{res};
    stream.expires_after(options.request_timeout);
    auto [ec, n] = co_await http::async_write_header(stream, sr, tuple_awaitable);
    if (ec || head) co_return ec;
    BodyStream source = std::move(r.stream);
    std::shared_ptr<std::ifstream> file;
    if (!r.file.empty()) {
      file = std::make_shared<std::ifstream>(r.file, std::ios::binary);
    }
    std::string piece;
    for (;;) {
      std::optional<std::string> next;
      if (file) {
        piece.resize(64 * 1024);
        file->read(piece.data(), static_cast<std::streamsize>(piece.size()));
        piece.resize(static_cast<std::size_t>(file->gcount()));
        if (!piece.empty()) next = std::move(piece);
      } else {
        next = co_await source();
      }
      if (!next || stopped) break;
      if (next->empty()) continue;
      stream.expires_after(options.request_timeout);
      beast::error_code wec;
      if (chunked) {
        auto [e, wn] = co_await net::async_write(stream, http::make_chunk(net::buffer(*next)), tuple_awaitable);
        wec = e;
      } else {
        auto [e, wn] = co_await net::async_write(stream, net::buffer(*next), tuple_awaitable);
        wec = e;
      }
      if (wec) co_return wec;
    }
    if (!chunked) co_return beast::error_code{};
    auto [lec, ln] = co_await net::async_write(stream, http::make_chunk_last(), tuple_awaitable);
    co_return lec;
  }
};

HttpServer::HttpServer(net::any_io_executor executor, HttpServerOptions options, Handler handler)
    : m_impl(std::make_shared<Impl>(executor, std::move(options), std::move(handler))) {}

HttpServer::~HttpServer() { stop(); }

Result<void> HttpServer::start() {
  auto ep = parse_endpoint(m_impl->options.bind_address);
  if (!ep) {
    return Error(Errc::invalid_argument, "bind address '" + m_impl->options.bind_address + "' is not IP:port");
  }
  beast::error_code ec;
  auto& a = m_impl->acceptor;
  a.open(ep->protocol(), ec);
  if (!ec) a.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(*ep, ec);
  if (!ec) a.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return Error(Errc::io, "cannot listen on " + m_impl->options.bind_address + ": " + ec.message());
  }
  net::co_spawn(m_impl->executor, m_impl->accept_loop(), net::detached);
  return {};
}

void HttpServer::stop() {
  if (!m_impl || m_impl->stopped) return;
  m_impl->stopped = true;
  beast::error_code ec;
  m_impl->acceptor.close(ec);
  for (const auto& c : m_impl->connections) {
    c->socket().shutdown(tcp::socket::shutdown_both, ec);
    c->socket().close(ec);
  }
}

std::uint16_t HttpServer::port() const {
  beast::error_code ec;
  auto ep = m_impl->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

std::string HttpServer::local_address() const {
  beast::error_code ec;
  auto ep = m_impl->acceptor.local_endpoint(ec);
  if (ec) return "";
  auto host = ep.address().to_string();
  if (ep.address().is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(ep.port());
}

std::size_t HttpServer::active_connections() const { return m_impl->connections.size(); }

}  // namespace ciro::api
