// HttpClient: the small HTTP client interface every HTTP backend uses.
//
// One request, one timeout, the answer or an expected failure as a value:
// connection failures and timeouts are Retryable errors naming the URL; an
// HTTP answer of any status is a response (map statuses with httpError()).
// The TCP implementation sits on cpp-httplib; the Unix-socket one (Docker)
// on Boost.Beast. Implementations are safe to use from several
// threads at once.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cleanroom/clock.h"
#include "cleanroom/result.h"

namespace cleanroom {

struct HttpRequest {
  std::string method = "GET";
  std::string target;  // path and query, e.g. "/api/agents/x?force=true"
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string contentType;  // set with a non-empty body
};

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // keys lower-cased
  std::string body;

  // Returns the header's value (name case-insensitive), or "".
  std::string header(const std::string& name) const;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Sends one request and returns the answer. Blocks for at most `timeout`
  // for connecting and at most `timeout` between bytes of the answer.
  virtual Result<HttpResponse> send(const HttpRequest& request, milliseconds timeout) = 0;
  // Returns the base URL, e.g. "http://127.0.0.1:8080".
  virtual std::string baseUrl() const = 0;
};

// Returns a client for `baseUrl` ("http://host:port[/prefix]" or
// "https://host[:port][/prefix]"; the prefix is prepended to every target),
// or a Permanent error naming `what` when the URL is malformed. https://
// speaks TLS: the server's certificate must chain to a CA the system trusts
// (SSL_CERT_FILE / SSL_CERT_DIR name others, as for OpenSSL) and name the
// host; one that does not verify is a Permanent error naming the host. One
// connection per request either way.
Result<std::unique_ptr<HttpClient>> makeHttpClient(const std::string& baseUrl, const std::string& what);

// Returns a client that speaks HTTP/1.1 over the Unix domain socket at
// `socketPath` (an absolute path; Host header "docker", one request per
// connection), or a Permanent error naming `what` when the path is empty,
// relative or too long for a socket address. baseUrl() is "unix://<path>".
// A socket nobody listens on (missing file, connection refused) is a
// Retryable error naming the path; permission denied is Permanent.
Result<std::unique_ptr<HttpClient>> makeUnixHttpClient(const std::string& socketPath, const std::string& what);

// Maps a non-2xx answer to an Error: 404/410 Gone; 408, 429 and 5xx
// Retryable (with Retry-After parsed, seconds or HTTP date); other 4xx
// Permanent. The message names `what` (e.g. "DELETE /api/agents/x") and
// carries the status and a short body excerpt.
Error httpError(const HttpResponse& response, const std::string& what);

// Percent-encodes a path segment or query value.
std::string urlEncode(const std::string& text);

}  // namespace cleanroom
