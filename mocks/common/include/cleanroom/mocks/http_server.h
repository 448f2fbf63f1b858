// MockHttpServer: the HTTP/1.1 skeleton every cleanroom mock is built on. It
// listens on TCP (host:port, port 0 = pick a free port) and optionally on a Unix
// domain socket, serves the mock's routes plus the control API
// (/__cleanroom/health, reset, state, requests, faults), applies fault rules and
// records a request log. One thread accepts per endpoint and one thread serves
// each connection (keep-alive, Expect: 100-continue, chunked request bodies).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cleanroom/mocks/fault_rules.h"
#include "cleanroom/mocks/http_message.h"
#include "cleanroom/mocks/request_log.h"
#include "cleanroom/mocks/router.h"

namespace cleanroom::mocks {

struct MockHttpServerOptions {
  std::string host = "127.0.0.1";  // TCP address to bind (IPv4 or IPv6 literal)
  std::uint16_t port = 0;          // 0 = let the kernel pick a free port
  bool tcp = true;                 // false = serve only the Unix socket
  std::string unixSocketPath;      // non-empty = also listen on this Unix socket
  std::string name = "mock";       // used in log lines
  std::size_t maxBodyBytes = 256u * 1024u * 1024u;  // larger bodies get 413
};

class MockHttpServer {
 public:
  explicit MockHttpServer(MockHttpServerOptions options = {});
  // Calls stop().
  ~MockHttpServer();
  MockHttpServer(const MockHttpServer&) = delete;
  MockHttpServer& operator=(const MockHttpServer&) = delete;

  // Adds a route of the mock's own API (see Router::add). Call before start().
  void route(std::string method, std::string pattern, Router::Handler handler);
  // Sets the handler for every request no route serves (Router::fallback),
  // e.g. a mock whose whole API is dispatched by headers. Call before start().
  void fallback(Router::Handler handler);
  // Sets how a request's operation is named (e.g. "ecs:StopTask", "" = none):
  // called once per non-control request, before fault rules are checked; the
  // name is matched by rules' "match.operation" and recorded in the request
  // log. Runs on the connection's thread; must not block. Call before start().
  void onOperation(std::function<std::string(const HttpRequest&)> nameOperation);
  // Sets how a status fault is answered when its rule has no explicit "body"
  // (default: a JSON object {"error": "injected fault", ...}), e.g. in the
  // protocol's own error format using FaultAction::errorCode. The hook gets
  // the fault (status set) and the request; the server then adds Retry-After
  // from the rule. Must not block. Call before start().
  void onFaultResponse(std::function<HttpResponse(const FaultAction&, const HttpRequest&)> shapeFault);
  // Sets what POST /__cleanroom/reset does to the mock's state (faults and the
  // request log are always cleared). Call before start().
  void onReset(std::function<void()> resetState);
  // Sets what GET /__cleanroom/state returns (default: {}). Call before start().
  void onState(std::function<nlohmann::json()> describeState);

  // Binds every endpoint and starts accepting. Returns once connections are
  // accepted (never blocks on clients). Throws std::system_error if an endpoint
  // cannot be bound, std::logic_error if called twice.
  void start();
  // Closes the listeners and every open connection, then joins all threads.
  // Blocks until every handler has returned: a handler that blocks (long-poll)
  // must be woken by its mock first. Idempotent.
  void stop();

  // Returns "http://HOST:PORT" of the TCP endpoint (IPv6 hosts in brackets);
  // only valid after start().
  std::string url() const;
  // Returns the bound TCP port (the real one when 0 was asked); 0 before start().
  std::uint16_t port() const;
  // Returns the Unix socket path ("" if none).
  const std::string& unixSocketPath() const;

  // Returns true if and only if stop() has begun.
  bool stopping() const;
  // Blocks up to `duration`, returning early (with true) as soon as stop()
  // begins. Handlers use it for deliberate delays so that stop() is never held up.
  bool waitForStop(std::chrono::milliseconds duration) const;

  // The live fault rules and request log (also reachable via the control API).
  FaultRuleSet& faults();
  RequestLog& requestLog();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cleanroom::mocks
