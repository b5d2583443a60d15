#pragma once
// HttpServer: HTTP/1.1 on one TCP address, one coroutine per connection, on the node's single
// io_context thread. Limits: body size (413), header size, connections (503), time to read a
// request (the connection is closed). Lifecycle: construct → start() → stop() (closes the listener and every
// connection; the io_context then drains). Beast stays inside http_server.cpp.

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "api/http.h"
#include "utils/result.h"

namespace ciro::api {

struct HttpServerOptions {
  std::string bind_address = "127.0.0.1:0";  ///< host:port; port 0 = any free port
  std::uint64_t body_limit = 8ull << 20;     ///< larger bodies get 413
  std::uint32_t max_connections = 256;       ///< beyond this, 503 and close
  std::chrono::milliseconds request_timeout{
      std::chrono::seconds(30)};  ///< to read one request (then the connection is closed)
  /// Called once the headers are read, before the body: a response returned here is sent at
  /// once and the connection closed (used to refuse unauthenticated bodies early).
  std::function<std::optional<HttpResponse>(const HttpRequest& headers_only)> precheck;
};

class HttpServer {
 public:
  HttpServer(boost::asio::any_io_executor executor, HttpServerOptions options, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Binds and starts accepting. Fails when the address is malformed or taken.
  Result<void> start();
  /// Stops accepting and closes every connection (streams end). Idempotent.
  void stop();
  /// The bound port (after start()).
  std::uint16_t port() const;
  /// "host:port" actually bound.
  std::string local_address() const;
  std::size_t active_connections() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> m_impl;
};

}  // namespace ciro::api
