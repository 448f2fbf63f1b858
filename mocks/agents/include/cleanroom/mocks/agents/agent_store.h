// AgentStore: the in-memory state and lifecycle of the agent REST API mock.
// It owns every agent, moves them through their statuses on timers (one
// DeadlineScheduler thread: no sleeps, no polling), backs realProcess agents with
// real child processes (own process group, reaped by a thread per child blocking
// in waitid on that pid only) and wakes long-poll waiters on every change.
// Thread-safe. Destroying it kills and reaps every child it started.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cleanroom/mocks/agents/agent.h"

namespace cleanroom::mocks {

struct AgentStoreOptions {
  // How long a terminal agent stays listed when its behavior has no lingerMs.
  std::chrono::milliseconds linger{30000};
};

enum class StopMode { graceful, force };

struct StopResult {
  enum class Kind {
    notFound,     // no such agent
    accepted,     // it was pending/running/terminating: now terminating or terminated (202)
    purged,       // it was already terminal: removed from the listing (200)
    unavailable,  // the store is shutting down
  };
  Kind kind = Kind::notFound;
  std::optional<Agent> agent;  // the agent after the stop was applied (accepted/purged)
};

class AgentStore {
 public:
  explicit AgentStore(AgentStoreOptions options = {});
  // Calls shutdown().
  ~AgentStore();
  AgentStore(const AgentStore&) = delete;
  AgentStore& operator=(const AgentStore&) = delete;

  // Creates an agent and starts it (now, or after behavior.startMs). For a
  // realProcess agent starting now, blocks until the child is forked (a few ms).
  // Returns the new agent, or nullopt once the store is shut down.
  std::optional<Agent> create(AgentSpec spec);

  // Returns every agent passing `filter`, oldest first. Never blocks on agents.
  std::vector<Agent> list(const AgentFilter& filter = {}) const;
  // Returns the agent, or nullopt if it does not exist (never did, or gone).
  std::optional<Agent> find(const std::string& id) const;

  // Blocks until the agent is terminal or gone, `timeout` passes, or the store
  // shuts down. Returns the agent as it is then, or nullopt if it is gone.
  std::optional<Agent> waitUntilTerminal(const std::string& id, std::chrono::milliseconds timeout) const;
  // Blocks until the agent no longer exists, `timeout` passes, or the store shuts
  // down. Returns true if and only if it is gone.
  bool waitUntilGone(const std::string& id, std::chrono::milliseconds timeout) const;

  // Stops an agent: graceful = SIGTERM semantics (exits after its exit delay,
  // unless it ignores SIGTERM), force = SIGKILL semantics (terminated as soon as
  // its process is really gone). On a terminal agent: purges it. Never blocks
  // on the agent's exit.
  StopResult stop(const std::string& id, StopMode mode);

  // Drops every agent: kills every child process group with SIGKILL and reaps
  // it (blocks until reaped, normally a few ms), cancels all timers, wakes waiters.
  void reset();
  // reset() plus stopping the scheduler; afterwards create() returns nullopt and
  // waits return at once. Idempotent.
  void shutdown();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cleanroom::mocks
