// HttpClient over a Unix domain socket (the Docker daemon's socket), on
// Boost.Beast. Asio and Beast stay in this file: no public header includes
// them. Every request gets its own io_context and connection, so one client
// is safe to use from several threads at once.
#include <sys/un.h>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <spdlog/spdlog.h>

#include <cerrno>

#include "beast_exchange.h"
#include "cleanroom/http_client.h"
#include "cleanroom/trace.h"

namespace cleanroom {
namespace {

using namespace beast_exchange;
using UnixSocket = net::local::stream_protocol;
using UnixStream = beast::basic_stream<UnixSocket>;

// Failure while connecting: what it means for a socket, and whether waiting helps.
Error connectError(const std::string& request, const std::string& path, beast::error_code ec, milliseconds timeout) {
  if (ec == beast::error::timeout) {
    return Error::retryable(request + " failed: connecting to the Unix socket " + path + " timed out after " +
                            milliText(timeout));
  }
  if (ec == net::error::access_denied) {
    return Error::permanent(request + " failed: permission denied on the Unix socket " + path +
                            " (run as a user allowed to use it, e.g. in the docker group)");
  }
  std::string why = ec == net::error::connection_refused ? "connection refused (nothing listens on it)"
                    : ec.value() == ENOENT                ? "no such socket file"
                                                           : ec.message();
  return Error::retryable(request + " failed: cannot connect to the Unix socket " + path + ": " + why +
                          " (is the server running?)");
}

class UnixHttpClient : public HttpClient {
 public:
  explicit UnixHttpClient(std::string socketPath) : socketPath_(std::move(socketPath)) {}

  Result<HttpResponse> send(const HttpRequest& request, milliseconds timeout) override {
    auto started = std::chrono::steady_clock::now();
    Result<HttpResponse> result = exchange(request, timeout);
    auto ms = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - started).count();
    if (result) {
      logger().debug("step=http method={} target={} socket={} status={} ms={}", request.method, request.target,
                     socketPath_, result->status, ms);
    } else {
      logger().debug("step=http method={} target={} socket={} result=error error=\"{}\" ms={}", request.method,
                     request.target, socketPath_, result.error().message, ms);
    }
    return result;
  }

  std::string baseUrl() const override { return "unix://" + socketPath_; }

 private:
  Result<HttpResponse> exchange(const HttpRequest& request, milliseconds timeout) const {
    const std::string what = request.method + " " + baseUrl() + " " + request.target;
    net::io_context io;
    UnixStream stream(io);

    stream.expires_after(timeout);
    beast::error_code ec = runOne(io, [&](auto done) { stream.async_connect(UnixSocket::endpoint(socketPath_), done); });
    if (ec) return connectError(what, socketPath_, ec, timeout);

    http::request<http::string_body> message = toBeast(request, request.target, "docker");
    ec = writeRequest(io, stream, message, timeout);
    if (ec) return exchangeError(what, "sending the request", ec, timeout);

    Result<HttpResponse> response = readResponse(io, stream, request.method == "HEAD", timeout, what);
    beast::error_code ignored;
    stream.socket().shutdown(UnixSocket::socket::shutdown_both, ignored);
    return response;
  }

  std::string socketPath_;
};

}  // namespace

Result<std::unique_ptr<HttpClient>> makeUnixHttpClient(const std::string& socketPath, const std::string& what) {
  if (socketPath.empty() || socketPath.front() != '/') {
    return Error::permanent(what + " \"" + socketPath + "\" is not an absolute path to a Unix socket, e.g. " +
                            "/var/run/docker.sock");
  }
  if (socketPath.size() >= sizeof(sockaddr_un::sun_path)) {
    return Error::permanent(what + " \"" + socketPath + "\" is longer than a Unix socket address allows (" +
                            std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " bytes); use a shorter path");
  }
  std::unique_ptr<HttpClient> client = std::make_unique<UnixHttpClient>(socketPath);
  return client;
}

}  // namespace cleanroom
