#pragma once
// A small blocking HTTP/1.1 client for ciroctl and the functional tests: one request per
// connection, plain http:// only, optional streaming of the body as it arrives.

#include <chrono>
#include <functional>
#include <map>
#include <string>

#include "utils/result.h"

namespace ciro::api {

struct ClientResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  ///< lower-case names
  std::string body;                            ///< empty when streamed to on_chunk
};

struct ClientRequest {
  std::string method = "GET";
  std::string target = "/";  ///< path and query
  std::string body;
  std::map<std::string, std::string> headers;
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};  ///< per read/write; 0 = none
  /// When set, body bytes are passed here as they arrive instead of kept in body; returning
  /// false stops reading.
  std::function<bool(const std::string&)> on_chunk;
};

/// base_url: "http://host:port" (a trailing path prefix is kept). Errors: invalid_argument for a
/// bad URL, unavailable when the server cannot be reached, io/protocol for the rest.
Result<ClientResponse> http_request(const std::string& base_url, const ClientRequest& request);

}  // namespace ciro::api
