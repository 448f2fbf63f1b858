// AgentApiMock: the agent REST API mock (cleanroom-mock-agents) as a library,
// for tests that start it in-process on port 0. Routes (DESIGN.md 3.3):
//   POST   /api/agents                 201 agent | 400 {"error", "field"}
//   GET    /api/agents?label=k=v&status=S   200 [agent...] (labels AND, statuses OR)
//   GET    /api/agents/{id}            200 agent | 404; header X-Cleanroom-Wait: terminal
//          ?waitFor=terminal&timeoutMs=N   long-poll until terminal/gone/N ms (cap 60000)
//          ?waitFor=gone&timeoutMs=N       extension: until purged or lingered out (then 404)
//   DELETE /api/agents/{id}?force=true|false  202 terminating | 200 purged (was terminal) | 404
// plus the /__cleanroom control API (state = {"agents": [...]}; reset kills every
// agent process). realProcess agents are real child processes of the process
// that runs the mock.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace cleanroom::mocks {

struct AgentApiMockOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0 = pick a free port
  std::chrono::milliseconds linger{30000};  // default lingerMs of terminal agents
};

class AgentApiMock {
 public:
  explicit AgentApiMock(AgentApiMockOptions options = {});
  // Calls stop().
  ~AgentApiMock();
  AgentApiMock(const AgentApiMock&) = delete;
  AgentApiMock& operator=(const AgentApiMock&) = delete;

  // Binds and starts serving; returns once requests are accepted. Throws
  // std::system_error if the address cannot be bound.
  void start();
  // Wakes long-polls, kills and reaps every agent process, closes every
  // connection and joins all threads. Blocks until done (milliseconds). Idempotent.
  void stop();

  // Returns "http://HOST:PORT"; valid after start().
  std::string url() const;
  // Returns the bound port; valid after start().
  std::uint16_t port() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cleanroom::mocks
