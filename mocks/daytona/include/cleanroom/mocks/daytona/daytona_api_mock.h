// DaytonaApiMock: the Daytona sandbox REST API mock (cleanroom-mock-daytona)
// as a library, for tests that start it in-process on port 0. Routes
// (protocol-notes §7), all under the NestJS global prefix /api:
//   GET    /api/sandbox?labels=<URL-encoded JSON>&includeErroredDeleted=true
//                                     200 [Sandbox] (labels AND; destroyed and
//                                     error/build_failed only with includeErroredDeleted)
//   GET    /api/sandbox/{idOrName}    200 Sandbox | 404
//   POST   /api/sandbox               200 Sandbox (started) | 400 | 409 (name taken)
//   POST   /api/sandbox/{idOrName}/start|stop|archive   200 Sandbox | 400 invalid transition | 404
//   DELETE /api/sandbox/{idOrName}[?force=true]         200 Sandbox (destroying) | 404
//   PUT    /api/sandbox/{idOrName}/labels {"labels":{}} 200 {"labels":{}} | 404
// Errors are NestJS bodies {"statusCode","timestamp","path","error","message"}.
// Auth: every /api request needs `Authorization: Bearer <key>`; without one,
// or (when options.apiKey is set) with another key: 401 "Invalid API key".
// An empty options.apiKey accepts any bearer token.
//
// Mock-only: the create body may carry "cleanroom": {stopDelayMs,
// deleteDelayMs, startDelayMs, archiveDelayMs, stuck, createdAt | ageMs,
// state, errorReason} (see sandbox.h and sandbox_json.h); absent delays use
// the options below. A destroyed sandbox answers GET with state "destroyed"
// for `linger`, then 404.
//
// Control API (http_server.h): GET /__cleanroom/state → {"sandboxes": [every
// sandbox, destroyed included]}; POST /__cleanroom/reset drops every sandbox;
// faults and the request log as in DESIGN 3.2. The control API needs no key.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace cleanroom::mocks::daytona {

struct DaytonaApiMockOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0 = pick a free port
  std::string apiKey;      // "" = any bearer token is accepted
  std::chrono::milliseconds stopDelay{200};
  std::chrono::milliseconds deleteDelay{200};
  std::chrono::milliseconds startDelay{0};
  std::chrono::milliseconds archiveDelay{200};
  std::chrono::milliseconds linger{1000};
};

class DaytonaApiMock {
 public:
  explicit DaytonaApiMock(DaytonaApiMockOptions options = {});
  // Calls stop().
  ~DaytonaApiMock();
  DaytonaApiMock(const DaytonaApiMock&) = delete;
  DaytonaApiMock& operator=(const DaytonaApiMock&) = delete;

  // Binds and starts serving; returns once requests are accepted. Throws
  // std::system_error if the address cannot be bound.
  void start();
  // Cancels every timer, closes every connection and joins all threads.
  // Blocks until done (milliseconds). Idempotent.
  void stop();

  // Returns "http://HOST:PORT"; valid after start().
  std::string url() const;
  // Returns "http://HOST:PORT/api", the value for DAYTONA_API_URL.
  std::string apiUrl() const;
  // Returns the bound port; valid after start().
  std::uint16_t port() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cleanroom::mocks::daytona
