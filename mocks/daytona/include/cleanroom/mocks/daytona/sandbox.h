// The state model of the Daytona sandbox API mock: what a sandbox is and the
// states it moves through (protocol-notes §7), plus the mock-only knobs that
// make its timing realistic:
//   creating -> started                         (startDelayMs; 0 = created started)
//   started  -> stopping -> stopped             (POST …/stop, stopDelayMs)
//   stopped|archived -> starting -> started     (POST …/start, startDelayMs)
//   stopped  -> archiving -> archived           (POST …/archive, archiveDelayMs)
//   any      -> destroying -> destroyed -> gone (DELETE, deleteDelayMs; then the
//                                                store's linger time, then 404)
// A `stuck` sandbox never finishes a stop or a graceful delete: only
// DELETE ?force=true ends it. Plain data, no I/O; SandboxStore drives it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace cleanroom::mocks::daytona {

enum class SandboxState {
  creating,
  started,
  starting,
  stopping,
  stopped,
  archiving,
  archived,
  destroying,
  destroyed,
  error,
  build_failed,
};

// Returns the wire name of `state` ("started", "build_failed", ...).
std::string_view toString(SandboxState state);
// Returns the state named `name`, or nullopt for an unknown name.
std::optional<SandboxState> sandboxStateFromString(std::string_view name);
// Returns true for error and build_failed (listed only with includeErroredDeleted).
bool isErrored(SandboxState state);

// Mock-only settings of one sandbox: the "cleanroom" object of POST
// /api/sandbox. Every field is optional; a missing delay uses the store's.
struct SandboxBehavior {
  std::optional<std::int64_t> stopDelayMs;     // stopping -> stopped
  std::optional<std::int64_t> deleteDelayMs;   // destroying -> destroyed
  std::optional<std::int64_t> startDelayMs;    // creating/starting -> started
  std::optional<std::int64_t> archiveDelayMs;  // archiving -> archived
  bool stuck = false;                          // stop and graceful delete never finish
  std::optional<std::chrono::system_clock::time_point> createdAt;  // back-date it (age sweeps)
  std::optional<SandboxState> state;           // create it in this state: started, stopped,
                                               // archived, error or build_failed
  std::string errorReason;                     // shown with state error/build_failed
};

// What a client asks for when creating a sandbox.
struct SandboxSpec {
  std::string name;  // "" = the id
  std::string snapshot;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> env;
  SandboxBehavior behavior;
};

struct Sandbox {
  std::string id;  // UUID-like
  SandboxSpec spec;
  SandboxState state = SandboxState::started;
  std::string desiredState = "started";  // started, stopped, archived, destroyed
  std::chrono::system_clock::time_point createdAt;
  std::chrono::system_clock::time_point updatedAt;
  std::string errorReason;
};

// Selects sandboxes for GET /api/sandbox: every label must match (AND);
// destroyed and errored ones only with includeErroredDeleted.
struct SandboxFilter {
  std::map<std::string, std::string> labels;
  bool includeErroredDeleted = false;

  // Returns true if and only if `sandbox` passes the filter.
  bool matches(const Sandbox& sandbox) const;
};

}  // namespace cleanroom::mocks::daytona
