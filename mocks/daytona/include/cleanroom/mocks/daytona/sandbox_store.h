// SandboxStore: the in-memory state and lifecycle of the Daytona sandbox API
// mock. It owns every sandbox and moves it through its states on timers (one
// DeadlineScheduler thread: no sleeps, no polling). Transitions and their
// delays are described in sandbox.h. Thread-safe; no call blocks on a timer.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cleanroom/mocks/daytona/sandbox.h"

namespace cleanroom::mocks::daytona {

struct SandboxStoreOptions {
  std::chrono::milliseconds stopDelay{200};     // default stopDelayMs
  std::chrono::milliseconds deleteDelay{200};   // default deleteDelayMs
  std::chrono::milliseconds startDelay{0};      // default startDelayMs
  std::chrono::milliseconds archiveDelay{200};  // default archiveDelayMs
  std::chrono::milliseconds linger{1000};       // destroyed sandboxes answer GET this long, then 404
};

// The outcome of a request that changes a sandbox.
struct SandboxChange {
  enum class Kind {
    ok,          // applied (or nothing to do); `sandbox` holds it now
    notFound,    // no such sandbox (never existed, or destroyed)
    invalid,     // not allowed in its current state (400); `message` says why
    conflict,    // a sandbox with that name exists (409)
    shutDown,    // the store is shutting down
  };
  Kind kind = Kind::notFound;
  std::optional<Sandbox> sandbox;
  std::string message;
};

class SandboxStore {
 public:
  explicit SandboxStore(SandboxStoreOptions options = {});
  // Calls shutdown().
  ~SandboxStore();
  SandboxStore(const SandboxStore&) = delete;
  SandboxStore& operator=(const SandboxStore&) = delete;

  // Creates a sandbox: started at once (or creating for startDelayMs), or in
  // the state behavior.state asks for. Conflict when a sandbox that is not
  // destroyed already has the name.
  SandboxChange create(SandboxSpec spec);
  // Returns every sandbox passing `filter`, oldest first.
  std::vector<Sandbox> list(const SandboxFilter& filter = {}) const;
  // Returns the sandbox with this id (or else this name), destroyed ones
  // included until their linger time ends; nullopt when there is none.
  std::optional<Sandbox> find(const std::string& idOrName) const;

  // started -> stopping -> stopped. Invalid unless started.
  SandboxChange stop(const std::string& idOrName);
  // stopped|archived -> starting -> started; ok (no-op) when started or starting.
  SandboxChange start(const std::string& idOrName);
  // stopped -> archiving -> archived; ok (no-op) when archiving or archived.
  SandboxChange archive(const std::string& idOrName);
  // Any state -> destroying -> destroyed. Again while destroying: no-op, but
  // `force` finishes a stuck delete. Destroyed or unknown: notFound.
  SandboxChange remove(const std::string& idOrName, bool force);
  // Replaces the labels. notFound for destroyed sandboxes.
  SandboxChange setLabels(const std::string& idOrName, std::map<std::string, std::string> labels);

  // Drops every sandbox and pending transition.
  void reset();
  // reset() and stops the timer thread; later changes return shutDown. Idempotent.
  void shutdown();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cleanroom::mocks::daytona
