#pragma once
// Plain HTTP request/response values shared by the server, the router and the route handlers.
// No Beast here: handlers include this header only.

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ciro::api {

struct HttpRequest {
  std::string method;                          ///< "GET", "POST", ...
  std::string target;                          ///< as sent: path and query
  std::string path;                            ///< percent-decoded path without the query
  std::vector<std::string> segments;           ///< the path split at '/' first, each then decoded
  std::map<std::string, std::string> query;    ///< decoded query parameters (last one wins)
  std::map<std::string, std::string> headers;  ///< lower-case names
  std::map<std::string, std::string> params;   ///< filled by the router from {name} segments
  std::string body;
  std::string remote;  ///< peer address, for logs
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

/// A streamed body: each call returns the next chunk; nullopt ends the body. Called on the
/// server's executor; it may wait (co_await) for data.
using BodyStream = std::function<boost::asio::awaitable<std::optional<std::string>>()>;

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  BodyStream stream;  ///< when set, the body is sent chunked from it and `body` is ignored
  std::string file;   ///< when set, the body is this file's contents (sent in pieces)
};

/// JSON error body {"error": {"code": ..., "message": ..., "field": ...}}.
HttpResponse error_response(int status, const std::string& code, const std::string& message,
                            const std::string& field = "");
HttpResponse json_response(int status, const std::string& json_text);

using Handler = std::function<boost::asio::awaitable<HttpResponse>(HttpRequest)>;

}  // namespace ciro::api
