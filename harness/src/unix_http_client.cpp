// HttpClient over a Unix domain socket (the Docker daemon's socket), on
// Boost.Beast. Asio and Beast stay in this file: no public header includes
// them. Every request gets its own io_context and connection, so one client
// is safe to use from several threads at once.
#include <sys/un.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <functional>

#include "cleanroom/http_client.h"
#include "cleanroom/trace.h"

namespace cleanroom {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using UnixSocket = net::local::stream_protocol;
using UnixStream = beast::basic_stream<UnixSocket>;

constexpr uint64_t kBodyLimit = 256u * 1024u * 1024u;
constexpr const char* kUserAgent = "cleanroom";

std::string lowerCase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// Starts one asynchronous operation (its handler takes an error code first),
// runs the io_context until it completes and returns its error code. The
// stream's timer (expires_after) bounds how long this blocks.
beast::error_code runOne(net::io_context& io, const std::function<void(std::function<void(beast::error_code)>)>& start) {
  beast::error_code result = net::error::would_block;
  start([&result](beast::error_code ec) { result = ec; });
  io.restart();
  io.run();
  return result;
}

std::string milliText(milliseconds timeout) { return std::to_string(timeout.count()) + "ms"; }

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

// Failure after connecting: the request or the answer did not get through.
Error exchangeError(const std::string& request, const std::string& phase, beast::error_code ec, milliseconds timeout) {
  std::string why;
  if (ec == beast::error::timeout) {
    why = "timed out after " + milliText(timeout) + " without a byte";
  } else if (ec == http::error::end_of_stream || ec == net::error::eof || ec == http::error::partial_message) {
    why = "connection closed before the answer was complete";
  } else if (ec == net::error::connection_reset || ec == net::error::broken_pipe) {
    why = "connection reset by the server";
  } else {
    why = ec.message();
  }
  return Error::retryable(request + " failed while " + phase + ": " + why);
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

    http::request<http::string_body> message = toBeast(request);
    stream.expires_after(timeout);
    ec = runOne(io, [&](auto done) {
      http::async_write(stream, message, [done](beast::error_code e, std::size_t) { done(e); });
    });
    if (ec) return exchangeError(what, "sending the request", ec, timeout);

    Result<HttpResponse> response = readResponse(io, stream, request.method == "HEAD", timeout, what);
    beast::error_code ignored;
    stream.socket().shutdown(UnixSocket::socket::shutdown_both, ignored);
    return response;
  }

  // Reads one answer, allowing `timeout` between bytes (not for the whole body).
  static Result<HttpResponse> readResponse(net::io_context& io, UnixStream& stream, bool head, milliseconds timeout,
                                           const std::string& what) {
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(kBodyLimit);
    if (head) parser.skip(true);
    while (!parser.is_done()) {
      stream.expires_after(timeout);
      beast::error_code ec = runOne(io, [&](auto done) {
        http::async_read_some(stream, buffer, parser, [done](beast::error_code e, std::size_t) { done(e); });
      });
      if (ec) return exchangeError(what, parser.got_some() ? "reading the answer" : "waiting for the answer", ec, timeout);
    }
    return fromBeast(parser.release());
  }

  static http::request<http::string_body> toBeast(const HttpRequest& request) {
    http::request<http::string_body> message;
    http::verb verb = http::string_to_verb(request.method);
    if (verb == http::verb::unknown) {
      message.method_string(request.method);
    } else {
      message.method(verb);
    }
    message.target(request.target);
    message.version(11);
    message.set(http::field::host, "docker");
    message.set(http::field::user_agent, kUserAgent);
    message.set(http::field::connection, "close");
    for (const auto& [name, value] : request.headers) message.set(name, value);
    if (!request.contentType.empty()) message.set(http::field::content_type, request.contentType);
    message.body() = request.body;
    message.prepare_payload();
    return message;
  }

  static HttpResponse fromBeast(const http::response<http::string_body>& message) {
    HttpResponse out;
    out.status = static_cast<int>(message.result_int());
    out.body = message.body();
    for (const auto& field : message) {
      std::string& slot = out.headers[lowerCase(std::string(field.name_string()))];
      std::string value(field.value());
      slot = slot.empty() ? value : slot + ", " + value;
    }
    return out;
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
