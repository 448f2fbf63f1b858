// MockHttpServer on Boost.Beast with synchronous I/O: one accept thread per
// endpoint, one thread per connection. stop() wakes the accept threads through
// an eventfd and interrupts blocked reads with shutdown(2) on each connection.
#include "cleanroom/mocks/http_server.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <condition_variable>
#include <list>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http.hpp>

#include "cleanroom/mocks/mock_logger.h"
#include "control_api.h"

namespace cleanroom::mocks {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using unix_stream = asio::local::stream_protocol;
using Clock = std::chrono::steady_clock;

constexpr std::uint32_t kHeaderLimit = 64 * 1024;

// Live connections, so that stop() can interrupt their blocked reads.
class ConnectionSet {
 public:
  struct Connection {
    int fd = -1;
    bool done = false;
    std::thread thread;
  };

  // Registers a connection on `fd` and starts its thread via start(Connection&).
  template <class Start>
  void add(int fd, Start start) {
    std::lock_guard lock(mutex_);
    joinFinishedLocked();
    auto& connection = connections_.emplace_back();
    connection.fd = fd;
    connection.thread = start(connection);
  }

  // Called by a connection's own thread just before it closes its socket.
  void release(Connection& connection) {
    std::lock_guard lock(mutex_);
    connection.fd = -1;
    connection.done = true;
  }

  // Wakes every blocked read/write with shutdown(2); the sockets stay open.
  void interruptAll() {
    std::lock_guard lock(mutex_);
    for (auto& connection : connections_) {
      if (connection.fd >= 0) ::shutdown(connection.fd, SHUT_RDWR);
    }
  }

  // Joins every connection thread (each must be returning).
  void joinAll() {
    std::list<Connection> all;
    {
      std::lock_guard lock(mutex_);
      all.swap(connections_);
    }
    for (auto& connection : all) {
      if (connection.thread.joinable()) connection.thread.join();
    }
  }

 private:
  void joinFinishedLocked() {
    for (auto it = connections_.begin(); it != connections_.end();) {
      if (!it->done) {
        ++it;
        continue;
      }
      if (it->thread.joinable()) it->thread.join();
      it = connections_.erase(it);
    }
  }

  std::mutex mutex_;
  std::list<Connection> connections_;
};

class Listener {
 public:
  virtual ~Listener() = default;
  virtual void join() = 0;
};

// Accepts connections on one endpoint of `Protocol` (TCP or a Unix socket) until
// the shared wake fd becomes readable.
template <class Protocol>
class SocketListener final : public Listener {
 public:
  using Socket = typename Protocol::socket;
  using OnAccept = std::function<void(Socket)>;

  SocketListener(asio::io_context& io, const typename Protocol::endpoint& endpoint, int wakeFd,
                 OnAccept onAccept)
      : io_(io), acceptor_(io), wakeFd_(wakeFd), onAccept_(std::move(onAccept)) {
    acceptor_.open(endpoint.protocol());
    if constexpr (std::is_same_v<Protocol, tcp>) {
      acceptor_.set_option(asio::socket_base::reuse_address(true));
    }
    acceptor_.bind(endpoint);
    acceptor_.listen(asio::socket_base::max_listen_connections);
    acceptor_.non_blocking(true);
  }

  typename Protocol::endpoint localEndpoint() const { return acceptor_.local_endpoint(); }

  void start() {
    thread_ = std::thread([this] { acceptLoop(); });
  }

  void join() override {
    if (thread_.joinable()) thread_.join();
    beast::error_code ignored;
    acceptor_.close(ignored);
  }

 private:
  void acceptLoop() {
    pollfd fds[2] = {{acceptor_.native_handle(), POLLIN, 0}, {wakeFd_, POLLIN, 0}};
    while (true) {
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        mockLogger()->error("accept poll failed: {}", std::strerror(errno));
        return;
      }
      if (fds[1].revents != 0) return;
      if (fds[0].revents != 0) acceptOne();
    }
  }

  void acceptOne() {
    Socket socket(io_);
    beast::error_code ec;
    acceptor_.accept(socket, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again ||
        ec == asio::error::connection_aborted) {
      return;
    }
    if (ec) {
      mockLogger()->warn("accept failed: {}", ec.message());
      return;
    }
    onAccept_(std::move(socket));
  }

  asio::io_context& io_;
  typename Protocol::acceptor acceptor_;
  int wakeFd_;
  OnAccept onAccept_;
  std::thread thread_;
};

bool isHttpParseError(const beast::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_method).category();
}

bool expectsContinue(const http::request_parser<http::string_body>& parser) {
  return beast::iequals(parser.get()[http::field::expect], "100-continue");
}

HttpRequest toHttpRequest(const http::request<http::string_body>& message) {
  HttpRequest request;
  request.method = std::string(message.method_string());
  request.target = std::string(message.target());
  const auto question = request.target.find('?');
  request.path = percentDecode(std::string_view(request.target).substr(0, question), false);
  if (question != std::string::npos) {
    request.rawQuery = request.target.substr(question + 1);
    request.query = parseQuery(request.rawQuery);
  }
  for (const auto& field : message) {
    request.headers.add(std::string(field.name_string()), std::string(field.value()));
  }
  request.body = message.body();
  return request;
}

bool hasNoBody(const HttpRequest& request, int status) {
  return request.method == "HEAD" || status == 204 || status == 304 || status < 200;
}

// Fills status, version and headers of `message` from `response`, and sets
// its Connection header from `keepAlive`.
template <class Message>
void fillHeader(Message& header, const HttpResponse& response, unsigned version, bool keepAlive) {
  header.result(static_cast<unsigned>(response.status));
  header.version(version);
  header.set(http::field::server, "cleanroom-mock");
  for (const auto& [name, value] : response.headers) header.insert(name, value);
  header.keep_alive(keepAlive);
}

using FaultShaper = std::function<HttpResponse(const FaultAction&, const HttpRequest&)>;

HttpResponse faultResponse(const FaultAction& fault, const HttpRequest& request, const FaultShaper& shape) {
  HttpResponse response;
  if (!fault.body && shape) {
    response = shape(fault, request);
  } else {
    nlohmann::json body = fault.body ? *fault.body
                                     : nlohmann::json{{"error", "injected fault"},
                                                      {"status", *fault.status},
                                                      {"method", request.method},
                                                      {"path", request.path}};
    response = HttpResponse::json(*fault.status, body);
  }
  if (fault.retryAfterSeconds) {
    response.headers.set("Retry-After", std::to_string(*fault.retryAfterSeconds));
  }
  return response;
}

std::string urlHost(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

}  // namespace

class MockHttpServer::Impl {
 public:
  explicit Impl(MockHttpServerOptions options) : options_(std::move(options)) {}

  void start();
  void stop();
  bool waitForStop(std::chrono::milliseconds duration) const;
  bool stopping() const {
    std::lock_guard lock(stopMutex_);
    return stopping_;
  }

  MockHttpServerOptions options_;
  Router router_;
  FaultRuleSet faults_;
  RequestLog log_;
  std::function<void()> resetState_;
  std::function<nlohmann::json()> describeState_;
  std::function<std::string(const HttpRequest&)> nameOperation_;
  FaultShaper shapeFault_;
  std::uint16_t port_ = 0;

 private:
  // What handling one request ended in: a response to send, or a dropped connection.
  struct Outcome {
    std::optional<HttpResponse> response;
  };

  template <class Protocol>
  void listen(const typename Protocol::endpoint& endpoint);
  template <class Socket>
  void adopt(Socket socket);
  template <class Socket>
  void serveConnection(Socket& socket);
  template <class Socket>
  bool readRequest(Socket& socket, beast::flat_buffer& buffer,
                   http::request_parser<http::string_body>& parser);
  template <class Socket>
  bool writeResponse(Socket& socket, const HttpRequest& request, HttpResponse response,
                     unsigned version, bool keepAlive);
  template <class Socket>
  bool writeStreamed(Socket& socket, HttpResponse& response, unsigned version, bool keepAlive);
  Outcome handle(HttpRequest& request);
  HttpResponse dispatch(HttpRequest& request);

  asio::io_context io_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  ConnectionSet connections_;
  int wakeFd_ = -1;
  bool started_ = false;
  mutable std::mutex stopMutex_;
  mutable std::condition_variable stopSignal_;
  bool stopping_ = false;
};

void MockHttpServer::Impl::start() {
  if (started_) throw std::logic_error("MockHttpServer::start() called twice");
  started_ = true;
  wakeFd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wakeFd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
  if (options_.tcp) {
    listen<tcp>(tcp::endpoint(asio::ip::make_address(options_.host), options_.port));
  }
  if (!options_.unixSocketPath.empty()) {
    ::unlink(options_.unixSocketPath.c_str());  // a stale socket file from a killed run
    listen<unix_stream>(unix_stream::endpoint(options_.unixSocketPath));
  }
  mockLogger()->info("{}: listening on {}{}", options_.name,
                     options_.tcp ? "http://" + urlHost(options_.host) + ":" + std::to_string(port_) : "",
                     options_.unixSocketPath.empty() ? "" : " unix:" + options_.unixSocketPath);
}

template <class Protocol>
void MockHttpServer::Impl::listen(const typename Protocol::endpoint& endpoint) {
  auto listener = std::make_unique<SocketListener<Protocol>>(
      io_, endpoint, wakeFd_, [this](typename Protocol::socket socket) { adopt(std::move(socket)); });
  if constexpr (std::is_same_v<Protocol, tcp>) port_ = listener->localEndpoint().port();
  listener->start();
  listeners_.push_back(std::move(listener));
}

void MockHttpServer::Impl::stop() {
  {
    std::lock_guard lock(stopMutex_);
    if (stopping_ || !started_) {
      stopping_ = true;
      return;
    }
    stopping_ = true;
  }
  stopSignal_.notify_all();
  const std::uint64_t one = 1;
  if (::write(wakeFd_, &one, sizeof one) < 0) mockLogger()->error("eventfd write failed");
  for (auto& listener : listeners_) listener->join();
  listeners_.clear();
  connections_.interruptAll();
  connections_.joinAll();
  ::close(wakeFd_);
  if (!options_.unixSocketPath.empty()) ::unlink(options_.unixSocketPath.c_str());
  mockLogger()->info("{}: stopped", options_.name);
}

bool MockHttpServer::Impl::waitForStop(std::chrono::milliseconds duration) const {
  std::unique_lock lock(stopMutex_);
  return stopSignal_.wait_for(lock, duration, [this] { return stopping_; });
}

template <class Socket>
void MockHttpServer::Impl::adopt(Socket socket) {
  const int fd = socket.native_handle();
  connections_.add(fd, [this, &socket](ConnectionSet::Connection& connection) {
    return std::thread([this, &connection, socket = std::move(socket)]() mutable {
      serveConnection(socket);
      connections_.release(connection);
      beast::error_code ignored;
      socket.close(ignored);
    });
  });
}

template <class Socket>
void MockHttpServer::Impl::serveConnection(Socket& socket) {
  beast::flat_buffer buffer;
  while (!stopping()) {
    http::request_parser<http::string_body> parser;
    if (!readRequest(socket, buffer, parser)) return;
    const auto& message = parser.get();
    HttpRequest request = toHttpRequest(message);
    const bool keepAlive = message.keep_alive() && !stopping();
    Outcome outcome = handle(request);
    if (!outcome.response) {  // drop: close without a byte
      beast::error_code ignored;
      socket.shutdown(asio::socket_base::shutdown_both, ignored);
      return;
    }
    if (!writeResponse(socket, request, std::move(*outcome.response), message.version(), keepAlive)) {
      return;
    }
  }
}

// Reads one request (sending 100 Continue when asked). Returns false when the
// connection is finished: closed by the client, interrupted, or unreadable (then
// a 400/413 has been sent).
template <class Socket>
bool MockHttpServer::Impl::readRequest(Socket& socket, beast::flat_buffer& buffer,
                                       http::request_parser<http::string_body>& parser) {
  parser.header_limit(kHeaderLimit);
  parser.body_limit(options_.maxBodyBytes);
  beast::error_code ec;
  http::read_header(socket, buffer, parser, ec);
  if (!ec && expectsContinue(parser)) {
    http::response<http::empty_body> interim{http::status::continue_, 11};
    http::write(socket, interim, ec);
  }
  if (!ec && !parser.is_done()) http::read(socket, buffer, parser, ec);
  if (!ec) return true;
  if (!isHttpParseError(ec) || ec == http::error::end_of_stream || ec == http::error::partial_message) {
    return false;
  }
  const bool tooLarge = ec == http::error::body_limit || ec == http::error::header_limit;
  mockLogger()->warn("{}: unreadable request: {}", options_.name, ec.message());
  HttpRequest unknown;
  unknown.method = "GET";
  writeResponse(socket, unknown,
                HttpResponse::error(tooLarge ? 413 : 400, "unreadable HTTP request: " + ec.message()), 11,
                false);
  return false;
}

// Writes `response`; returns true if and only if the connection stays open.
template <class Socket>
bool MockHttpServer::Impl::writeResponse(Socket& socket, const HttpRequest& request,
                                         HttpResponse response, unsigned version, bool keepAlive) {
  if (response.headers.value("Connection") == "close") keepAlive = false;
  response.headers.remove("Connection");
  beast::error_code ec;
  if (hasNoBody(request, response.status)) {
    const auto declaredLength = response.headers.get("Content-Length");
    response.headers.remove("Content-Length");
    http::response<http::empty_body> message;
    fillHeader(message, response, version, keepAlive);
    if (request.method == "HEAD" && response.status >= 200 && response.status != 204 &&
        response.status != 304) {
      message.set(http::field::content_length,
                  declaredLength ? *declaredLength : std::to_string(response.body.size()));
    }
    http::write(socket, message, ec);
  } else if (response.stream) {
    if (!writeStreamed(socket, response, version, keepAlive)) return false;
  } else {
    response.headers.remove("Content-Length");
    http::response<http::string_body> message;
    fillHeader(message, response, version, keepAlive);
    message.body() = std::move(response.body);
    message.prepare_payload();
    http::write(socket, message, ec);
  }
  if (ec && ec != http::error::end_of_stream) return false;
  if (!keepAlive) {
    socket.shutdown(asio::socket_base::shutdown_send, ec);
    return false;
  }
  return true;
}

// Writes the headers of a streamed response at once, then each chunk its
// stream produces, then the last chunk. Returns false on a write error.
template <class Socket>
bool MockHttpServer::Impl::writeStreamed(Socket& socket, HttpResponse& response, unsigned version,
                                         bool keepAlive) {
  response.headers.remove("Content-Length");
  response.headers.remove("Transfer-Encoding");
  http::response<http::empty_body> message;
  fillHeader(message, response, version, keepAlive);
  message.chunked(true);
  http::response_serializer<http::empty_body> serializer(message);
  beast::error_code ec;
  http::write_header(socket, serializer, ec);
  while (!ec) {
    std::optional<std::string> chunk = response.stream();
    if (!chunk) break;
    if (chunk->empty()) continue;
    asio::write(socket, http::make_chunk(asio::buffer(*chunk)), ec);
  }
  if (!ec) asio::write(socket, http::make_chunk_last(), ec);
  return !ec;
}

MockHttpServer::Impl::Outcome MockHttpServer::Impl::handle(HttpRequest& request) {
  if (ControlApi::owns(request.path)) {
    return {ControlApi{faults_, log_, resetState_, describeState_}.serve(request)};
  }
  const auto started = Clock::now();
  const std::string operation = nameOperation_ ? nameOperation_(request) : std::string();
  const auto fault = faults_.take(request.method, request.path, operation);
  RequestLogEntry entry{request.method, request.path, request.rawQuery, 0, 0,
                        fault ? fault->describe() : std::string(), operation};
  auto finish = [&](int status) {
    entry.status = status;
    entry.ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
    mockLogger()->debug("{}: {} {} -> {}{}", options_.name, request.method, request.target, status,
                        entry.fault.empty() ? "" : " (fault: " + entry.fault + ")");
    log_.record(std::move(entry));
  };
  if (fault && fault->delayMs > 0 && waitForStop(std::chrono::milliseconds(fault->delayMs))) {
    finish(0);
    return {};
  }
  if (fault && fault->drop) {
    finish(0);
    return {};
  }
  HttpResponse response =
      fault && fault->status ? faultResponse(*fault, request, shapeFault_) : dispatch(request);
  finish(response.status);
  return {std::move(response)};
}

HttpResponse MockHttpServer::Impl::dispatch(HttpRequest& request) {
  try {
    return router_.dispatch(request);
  } catch (const std::exception& error) {
    mockLogger()->error("{}: handler for {} {} threw: {}", options_.name, request.method, request.path,
                        error.what());
    return HttpResponse::error(500, std::string("mock handler failed: ") + error.what());
  }
}

MockHttpServer::MockHttpServer(MockHttpServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

MockHttpServer::~MockHttpServer() { stop(); }

void MockHttpServer::route(std::string method, std::string pattern, Router::Handler handler) {
  impl_->router_.add(std::move(method), std::move(pattern), std::move(handler));
}

void MockHttpServer::fallback(Router::Handler handler) { impl_->router_.fallback(std::move(handler)); }

void MockHttpServer::onOperation(std::function<std::string(const HttpRequest&)> nameOperation) {
  impl_->nameOperation_ = std::move(nameOperation);
}

void MockHttpServer::onFaultResponse(
    std::function<HttpResponse(const FaultAction&, const HttpRequest&)> shapeFault) {
  impl_->shapeFault_ = std::move(shapeFault);
}

void MockHttpServer::onReset(std::function<void()> resetState) { impl_->resetState_ = std::move(resetState); }

void MockHttpServer::onState(std::function<nlohmann::json()> describeState) {
  impl_->describeState_ = std::move(describeState);
}

void MockHttpServer::start() { impl_->start(); }
void MockHttpServer::stop() { impl_->stop(); }

std::string MockHttpServer::url() const {
  return "http://" + urlHost(impl_->options_.host) + ":" + std::to_string(impl_->port_);
}

std::uint16_t MockHttpServer::port() const { return impl_->port_; }
const std::string& MockHttpServer::unixSocketPath() const { return impl_->options_.unixSocketPath; }
bool MockHttpServer::stopping() const { return impl_->stopping(); }

bool MockHttpServer::waitForStop(std::chrono::milliseconds duration) const {
  return impl_->waitForStop(duration);
}

FaultRuleSet& MockHttpServer::faults() { return impl_->faults_; }
RequestLog& MockHttpServer::requestLog() { return impl_->log_; }

}  // namespace cleanroom::mocks
