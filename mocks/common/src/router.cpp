#include "cleanroom/mocks/router.h"

#include <set>

namespace cleanroom::mocks {
namespace {

bool isParameter(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

bool methodMatches(const std::string& routeMethod, std::string_view method) {
  return routeMethod == "*" || routeMethod == method;
}

std::string joinMethods(const std::set<std::string>& methods) {
  std::string joined;
  for (const auto& method : methods) {
    if (!joined.empty()) joined += ", ";
    joined += method;
  }
  return joined;
}

}  // namespace

std::vector<std::string> splitPath(std::string_view path) {
  std::vector<std::string> segments;
  while (!path.empty()) {
    auto slash = path.find('/');
    std::string_view segment = path.substr(0, slash);
    if (!segment.empty()) segments.emplace_back(segment);
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return segments;
}

void Router::add(std::string method, std::string pattern, Handler handler) {
  routes_.push_back(Route{std::move(method), splitPath(pattern), std::move(handler)});
}

void Router::fallback(Handler handler) { fallback_ = std::move(handler); }

bool Router::matches(const Route& route, const std::vector<std::string>& segments,
                     std::map<std::string, std::string>& params) const {
  if (route.segments.size() != segments.size()) return false;
  std::map<std::string, std::string> found;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const std::string& expected = route.segments[i];
    if (isParameter(expected)) {
      found[expected.substr(1, expected.size() - 2)] = segments[i];
    } else if (expected != segments[i]) {
      return false;
    }
  }
  params = std::move(found);
  return true;
}

HttpResponse Router::dispatch(HttpRequest& request) const {
  const auto segments = splitPath(request.path);
  std::set<std::string> allowed;
  const Route* getForHead = nullptr;
  for (const auto& route : routes_) {
    std::map<std::string, std::string> params;
    if (!matches(route, segments, params)) continue;
    if (methodMatches(route.method, request.method)) {
      request.params = std::move(params);
      return route.handler(request);
    }
    if (request.method == "HEAD" && route.method == "GET" && !getForHead) {
      getForHead = &route;
      request.params = std::move(params);
    }
    allowed.insert(route.method);
  }
  if (getForHead) return getForHead->handler(request);
  if (fallback_) {
    request.params.clear();
    return fallback_(request);
  }
  if (!allowed.empty()) {
    auto response = HttpResponse::error(
        405, "method " + request.method + " not allowed on " + request.path +
                 "; allowed: " + joinMethods(allowed));
    response.headers.set("Allow", joinMethods(allowed));
    return response;
  }
  return HttpResponse::error(404, "no route for " + request.method + " " + request.path);
}

}  // namespace cleanroom::mocks
