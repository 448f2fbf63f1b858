// HttpTestServer: an in-process httplib server on 127.0.0.1, port 0, for unit
// tests of HTTP clients and backends. Register routes on server() before
// start(); start() returns once the server answers requests (a handshake
// request, not a sleep); the destructor stops it and joins its thread.
#pragma once

#include <httplib.h>

#include <stdexcept>
#include <string>
#include <thread>

namespace cleanroom::tests {

class HttpTestServer {
 public:
  HttpTestServer() = default;
  HttpTestServer(const HttpTestServer&) = delete;
  HttpTestServer& operator=(const HttpTestServer&) = delete;
  ~HttpTestServer() { stop(); }

  httplib::Server& server() { return server_; }

  // Binds a free loopback port, serves in a thread and returns once a
  // handshake request has been answered. Throws when it cannot bind.
  void start() {
    server_.Get(kReadyPath, [](const httplib::Request&, httplib::Response& res) { res.status = 204; });
    port_ = server_.bind_to_any_port("127.0.0.1");
    if (port_ <= 0) throw std::runtime_error("HttpTestServer: cannot bind 127.0.0.1:0");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // The socket listens since bind_to_any_port, so this connects at once and
    // is answered once the accept loop runs: then stop() is safe to call.
    httplib::Client handshake("127.0.0.1", port_);
    auto answer = handshake.Get(kReadyPath);
    if (!answer || answer->status != 204) {
      stop();
      throw std::runtime_error("HttpTestServer: handshake failed");
    }
  }

  // Stops serving and joins the server thread. Handlers must not be blocked.
  void stop() {
    if (!thread_.joinable()) return;
    server_.stop();
    thread_.join();
  }

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  static constexpr const char* kReadyPath = "/__test/ready";
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace cleanroom::tests
