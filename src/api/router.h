#pragma once
// Router: maps method + path pattern to a handler. Patterns are '/'-separated; "{name}" matches
// one segment, "{*name}" the rest of the path. Owned by the composition root; immutable once
// serving starts, so it is safe on any thread.

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "api/http.h"

namespace ciro::api {

class Router {
 public:
  /// Called after every request with the pattern matched ("" for 404), status and duration.
  using Observer = std::function<void(const std::string& method, const std::string& route, int status,
                                      std::chrono::duration<double> elapsed)>;

  void add(std::string method, std::string pattern, Handler handler);
  void set_observer(Observer observer) { m_observer = std::move(observer); }
  /// 404 for an unknown path, 405 (with Allow) for a known path with another method.
  boost::asio::awaitable<HttpResponse> dispatch(HttpRequest request) const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    Handler handler;
  };
  static bool match(const Route& route, const std::vector<std::string>& path,
                    std::map<std::string, std::string>& params);
  std::vector<Route> m_routes;
  Observer m_observer;
};

/// Splits a path into segments (empty segments dropped).
std::vector<std::string> split_path(const std::string& path);

}  // namespace ciro::api
