// Fault injection for cleanroom-mock-tmux, so tests can see how a caller copes
// with a misbehaving tmux. A fault rule is one JSON object:
//
//   {"fail": N, "command": "kill-session", "message": "server exited unexpectedly"}
//       the next N calls of `command` (any command when absent) print `message`
//       (default "server exited unexpectedly") on stderr, exit 1 and change nothing.
//   {"hang_ms": T, "command": "has-session", "times": N}
//       the next N (default 1) matching calls wait T ms in the server before they
//       run and answer; other clients are served meanwhile.
//   {"orphan": N}
//       the next N new-session panes start with an escaped process: a child of the
//       pane process that called setsid (its own session and process group, stdio on
//       /dev/null) and runs `sleep 600`, so kill-session's SIGHUP to the pane's
//       group misses it and it outlives the session. Its pid is appended as one
//       line to `<socket path>.orphans`.
//   {"clear": true}
//       drops every rule armed so far.
//
// Rules are armed with `cleanroom-mock-tmux -S SOCK __fault 'RULE'` (stored in the
// running server; with no server, appended to `<socket path>.faults`, which the
// next server started on that socket loads and deletes), or with the environment
// variable CLEANROOM_MOCK_TMUX_FAULTS (one rule or a JSON array of rules) in the
// environment of the client that starts the server. Faults apply only to calls
// that reach a server.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cleanroom/mocks/parse_result.h"

namespace cleanroom::mocks::tmux {

enum class FaultKind { Fail, Hang, Orphan, Clear };

struct FaultRule {
  FaultKind kind = FaultKind::Fail;
  std::string command;                 // canonical command name; empty = any
  int remaining = 1;                   // calls (or sessions) still affected
  std::string message = "server exited unexpectedly";  // Fail only
  std::chrono::milliseconds hang{0};   // Hang only
};

// Parses one rule (see the header comment). The error names the bad field and
// shows a valid example.
ParseResult<FaultRule> parseFaultRule(const nlohmann::json& rule);

// Parses one rule or an array of rules from JSON text (e.g. the value of
// CLEANROOM_MOCK_TMUX_FAULTS).
ParseResult<std::vector<FaultRule>> parseFaultRules(const std::string& text);

// What the faults armed so far do to one call.
struct FaultDecision {
  std::chrono::milliseconds hang{0};   // wait this long before running the call
  std::optional<std::string> failure;  // fail with this stderr line instead of running
};

// The armed rules of one server. Not thread-safe (the server is single-threaded).
class FaultPlan {
 public:
  // Arms `rule` (a Clear rule drops everything armed so far).
  void arm(const FaultRule& rule);

  // Returns what happens to the next call of `command` and uses up one call of
  // the first matching Hang rule and of the first matching Fail rule.
  FaultDecision nextCall(const std::string& command);

  // Returns true (and uses up one) if the next new pane gets an escaped process.
  bool takeOrphan();

 private:
  std::vector<FaultRule> rules_;
  FaultRule* firstMatching(FaultKind kind, const std::string& command);
  void dropUsedUp();
};

}  // namespace cleanroom::mocks::tmux
