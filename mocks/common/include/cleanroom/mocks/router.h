// Router: maps (method, path pattern) to a handler for a mock's own API.
// Patterns are literal segments plus "{name}" segments matching exactly one
// non-empty path segment, e.g. "/api/agents/{id}". Unmatched paths get a JSON
// 404, a path matched with another method gets a JSON 405 with Allow — unless a
// fallback handler is set, which then serves every request no route serves
// (for mocks whose API is not path-shaped, e.g. AWS's one-port "POST /").
#pragma once

#include <functional>
#include <map>
#include <string_view>
#include <string>
#include <vector>

#include "cleanroom/mocks/http_message.h"

namespace cleanroom::mocks {

class Router {
 public:
  // A handler runs on the connection's thread; it may block (long-poll) but must
  // return once the mock is stopping. Exceptions become a JSON 500.
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  // Adds a route. `method` "*" matches any method; a GET route also answers
  // HEAD unless a HEAD route exists. Routes are tried in insertion order.
  // Not thread-safe: add every route before the server starts.
  void add(std::string method, std::string pattern, Handler handler);
  // Sets the handler for every request no route serves (instead of the 404
  // and 405 answers). Any path depth, any method. Not thread-safe: set it
  // before the server starts.
  void fallback(Handler handler);

  // Returns the handler's response for `request` (filling request.params), or
  // the 404/405 JSON fallback. Does not block beyond what the handler blocks.
  HttpResponse dispatch(HttpRequest& request) const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;
    Handler handler;
  };
  bool matches(const Route& route, const std::vector<std::string>& segments,
               std::map<std::string, std::string>& params) const;
  std::vector<Route> routes_;
  Handler fallback_;
};

// Returns the '/'-separated segments of `path` (empty segments dropped).
std::vector<std::string> splitPath(std::string_view path);

}  // namespace cleanroom::mocks
