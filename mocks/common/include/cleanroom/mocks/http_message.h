// HTTP request and response values exchanged between MockHttpServer and the route
// handlers of a mock. Plain data: no sockets, no Boost; handlers build an
// HttpResponse and return it, the server does the wire work (keep-alive,
// Content-Length, HEAD/204/304 without body).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace cleanroom::mocks {

// Ordered header list with case-insensitive lookup (names keep their spelling).
class HttpHeaders {
 public:
  // Appends a header, keeping earlier ones with the same name.
  void add(std::string name, std::string value);
  // Replaces every header named `name` (any case) by one with `value`.
  void set(std::string name, std::string value);
  // Removes every header named `name` (any case).
  void remove(std::string_view name);
  // Returns the first value of `name` (any case), or nullopt.
  std::optional<std::string> get(std::string_view name) const;
  // Returns the first value of `name`, or `fallback` when absent.
  std::string value(std::string_view name, std::string_view fallback = {}) const;
  // Returns true if and only if a header named `name` (any case) exists.
  bool has(std::string_view name) const;

  using Entry = std::pair<std::string, std::string>;
  std::vector<Entry>::const_iterator begin() const { return entries_.begin(); }
  std::vector<Entry>::const_iterator end() const { return entries_.end(); }
  bool empty() const { return entries_.empty(); }

 private:
  std::vector<Entry> entries_;
};

// One parsed request. `path` and `query` are percent-decoded; `target` is raw.
struct HttpRequest {
  std::string method;   // "GET", "POST", ... as sent
  std::string target;   // raw request target, e.g. "/api/agents?status=running"
  std::string path;     // decoded path without the query, e.g. "/api/agents"
  std::string rawQuery; // the part after '?', undecoded ("" if none)
  std::multimap<std::string, std::string> query;  // decoded; '+' means space
  HttpHeaders headers;
  std::string body;     // de-chunked request body
  std::map<std::string, std::string> params;  // {name} path parameters from the router

  // Returns the path parameter `name` (from a "{name}" route segment), or "".
  std::string param(const std::string& name) const;
  // Returns the first query value of `name`, or nullopt when absent.
  std::optional<std::string> queryValue(const std::string& name) const;
  // Returns every query value of `name` in request order (empty when absent).
  std::vector<std::string> queryValues(const std::string& name) const;
};

// One response. The server adds Content-Length, Date and Connection itself.
struct HttpResponse {
  int status = 200;
  HttpHeaders headers;
  std::string body;
  // Optional streamed body: when set, the server sends the status line and the
  // headers at once (Transfer-Encoding: chunked), then calls `stream` until it
  // returns nullopt, sending each string it returns as one chunk; `body` is
  // ignored. `stream` runs on the connection's thread and may block (e.g. the
  // answer to a long-poll whose client needs the headers first); it must
  // return once the mock is stopping.
  std::function<std::optional<std::string>()> stream;

  // Returns a response with `value` serialized as the body and
  // Content-Type: application/json.
  static HttpResponse json(int status, const nlohmann::json& value);
  // Returns a response with `body` and the given Content-Type.
  static HttpResponse text(int status, std::string body,
                           std::string contentType = "text/plain; charset=utf-8");
  // Returns a response with no body (e.g. 204).
  static HttpResponse empty(int status);
  // Returns a response whose headers are sent at once and whose body comes
  // from `stream` (see the member), with the given Content-Type.
  static HttpResponse streamed(int status, std::string contentType,
                               std::function<std::optional<std::string>()> stream);
  // Returns a JSON error response {"error": message}.
  static HttpResponse error(int status, std::string message);
};

// Returns `text` with %XX sequences decoded (and '+' as space if `plusIsSpace`).
// Malformed escapes are kept literally.
std::string percentDecode(std::string_view text, bool plusIsSpace);

// Returns the decoded key/value pairs of a query string "a=1&b=x%20y".
std::multimap<std::string, std::string> parseQuery(std::string_view rawQuery);

// Returns the standard reason phrase of an HTTP status ("Not Found"), or "".
std::string_view reasonPhrase(int status);

}  // namespace cleanroom::mocks
