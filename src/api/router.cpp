#include "api/router.h"

#include <nlohmann/json.hpp>

namespace ciro::api {

HttpResponse error_response(int status, const std::string& code, const std::string& message, const std::string& field) {
  nlohmann::json err = {{"code", code}, {"message", message}};
  if (!field.empty()) err["field"] = field;
  HttpResponse r;
  r.status = status;
  // Messages may quote client input (paths, ids): invalid UTF-8 is replaced, never thrown on.
  r.body = nlohmann::json{{"error", err}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  return r;
}

HttpResponse json_response(int status, const std::string& json_text) {
  HttpResponse r;
  r.status = status;
  r.body = json_text;
  if (r.body.empty() || r.body.back() != '\n') r.body += "\n";
  return r;
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= path.size()) {
    auto slash = path.find('/', start);
    std::string seg = path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (!seg.empty()) out.push_back(seg);
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return out;
}

void Router::add(std::string method, std::string pattern, Handler handler) {
  Route r{std::move(method), pattern, split_path(pattern), std::move(handler)};
  m_routes.push_back(std::move(r));
}

bool Router::match(const Route& route, const std::vector<std::string>& path,
                   std::map<std::string, std::string>& params) {
  params.clear();
  std::size_t i = 0;
  for (; i < route.segments.size(); ++i) {
    const auto& seg = route.segments[i];
    if (seg.size() > 3 && seg.rfind("{*", 0) == 0 && seg.back() == '}') {
      if (i >= path.size()) return false;
      std::string rest;
      for (std::size_t j = i; j < path.size(); ++j) rest += (j > i ? "/" : "") + path[j];
      params[seg.substr(2, seg.size() - 3)] = rest;
      return true;
    }
    if (i >= path.size()) return false;
    if (seg.size() > 2 && seg.front() == '{' && seg.back() == '}') {
      params[seg.substr(1, seg.size() - 2)] = path[i];
    } else if (seg != path[i]) {
      return false;
    }
  }
  return i == path.size();
}

boost::asio::awaitable<HttpResponse> Router::dispatch(HttpRequest request) const {
  auto started = std::chrono::steady_clock::now();
  const std::string method = request.method;
  auto path = request.segments.empty() && !request.path.empty() && request.path != "/" ? split_path(request.path)
                                                                                        : request.segments;
  std::string allowed;
  const Route* found = nullptr;
  std::map<std::string, std::string> params;
  for (const auto& route : m_routes) {
    if (!match(route, path, params)) continue;
    if (route.method == request.method || (request.method == "HEAD" && route.method == "GET")) {
      found = &route;
      break;
    }
    allowed += (allowed.empty() ? "" : ", ") + route.method;
  }
  HttpResponse response;
  std::string route_name;
  if (found != nullptr) {
    route_name = found->pattern;
    request.params = std::move(params);
    response = co_await found->handler(std::move(request));
  } else if (!allowed.empty()) {
    response = error_response(405, "method_not_allowed", request.method + " is not allowed here; allowed: " + allowed);
    response.headers.emplace_back("Allow", allowed);
  } else {
    response = error_response(404, "not_found", "no route for " + request.path);
  }
  if (m_observer) m_observer(method, route_name, response.status, std::chrono::steady_clock::now() - started);
  co_return response;
}

}  // namespace ciro::api
