#include "api/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace ciro::api {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {
struct Url {
  std::string host, port, prefix;
};

Result<Url> parse_url(const std::string& url) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0) {
    return Error(Errc::invalid_argument, "URL '" + url + "' must start with http:// (e.g. http://127.0.0.1:8080)");
  }
  std::string rest = url.substr(scheme.size());
  Url u;
  auto slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  if (slash != std::string::npos) u.prefix = rest.substr(slash);
  while (!u.prefix.empty() && u.prefix.back() == '/') u.prefix.pop_back();
  auto colon = hostport.rfind(':');
  if (!hostport.empty() && hostport.front() == '[') {
    auto close = hostport.find(']');
    u.host = hostport.substr(1, close - 1);
    u.port = close + 1 < hostport.size() && hostport[close + 1] == ':' ? hostport.substr(close + 2) : "80";
  } else if (colon != std::string::npos) {
    u.host = hostport.substr(0, colon);
    u.port = hostport.substr(colon + 1);
  } else {
    u.host = hostport;
    u.port = "80";
  }
  if (u.host.empty()) return Error(Errc::invalid_argument, "URL '" + url + "' has no host");
  return u;
}
}  // namespace

Result<ClientResponse> http_request(const std::string& base_url, const ClientRequest& request) {
  CIRO_TRY(Url url, parse_url(base_url));
  net::io_context io;
  beast::tcp_stream stream(io);
  beast::error_code ec;
  tcp::resolver resolver(io);
  auto endpoints = resolver.resolve(url.host, url.port, ec);
  if (ec) return Error(Errc::unavailable, "cannot resolve " + url.host + ": " + ec.message());
  if (request.timeout.count() > 0) stream.expires_after(request.timeout);
  stream.connect(endpoints, ec);
  if (ec) return Error(Errc::unavailable, "cannot connect to " + base_url + ": " + ec.message());

  http::request<http::string_body> req{http::string_to_verb(request.method), url.prefix + request.target, 11};
  req.set(http::field::host, url.host + ":" + url.port);
  req.set(http::field::user_agent, "ciroctl");
  for (const auto& [k, v] : request.headers) req.set(k, v);
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT") {
    req.body() = request.body;
    req.prepare_payload();
  }
  req.keep_alive(false);
  http::write(stream, req, ec);
  // A server may answer (e.g. 413) and close before taking the whole body: read its reply anyway.
  const beast::error_code write_ec = ec;

  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);
  if (request.timeout.count() > 0) stream.expires_after(request.timeout);
  ec = {};
  http::read_header(stream, buffer, parser, ec);
  if (ec && write_ec) return Error(Errc::io, "sending the request failed: " + write_ec.message());
  if (ec) return Error(Errc::io, "reading the response failed: " + ec.message());
  ClientResponse out;
  out.status = static_cast<int>(parser.get().result_int());
  for (const auto& f : parser.get()) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = std::string(f.value());
  }
  char buf[64 * 1024];
  while (!parser.is_done()) {
    parser.get().body().data = buf;
    parser.get().body().size = sizeof buf;
    if (request.timeout.count() > 0) stream.expires_after(request.timeout);
    // read_some: hand over what has arrived (a followed log line) instead of waiting for 64 KiB.
    http::read_some(stream, buffer, parser, ec);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) return Error(Errc::io, "reading the response body failed: " + ec.message());
    std::string piece(buf, sizeof buf - parser.get().body().size);
    if (piece.empty()) continue;
    if (request.on_chunk) {
      if (!request.on_chunk(piece)) break;
    } else {
      out.body += piece;
    }
  }
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  return out;
}

}  // namespace ciro::api
