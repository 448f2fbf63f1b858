// The mock tmux server: a daemon that owns the sessions of one Unix socket,
// like the tmux server does. Each session's pane is a real process, a child
// of the server started as a session leader (PID == PGID == SID) on its own
// pseudo-terminal. The server reaps its children, drops a session when its
// pane process exits, sends SIGHUP to the pane's process group on
// kill-session / kill-server (as tmux 3.3a does), and exits when its last
// session is gone, leaving the socket file behind (later calls then say
// `no server running on PATH`, as with tmux).
//
// Wire protocol (client ↔ server, one request per connection, one JSON line
// each way):
//   request  {"words": ["kill-session", "-t", "x"], "cwd": "/dir", "env": ["K=V", ...]}
//            {"fault": {...one rule, see fault_plan.h...}}
//   reply    {"rc": 0, "out": "text for stdout", "err": "text for stderr"}
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cleanroom/mocks/tmux/fault_plan.h"

namespace cleanroom::mocks::tmux {

// Starts a server daemon for `socketPath`: forks; the child calls setsid,
// moves its stdio to /dev/null, removes a stale socket file, binds and listens
// on `socketPath`, arms `faults` plus the rules in `<socketPath>.faults`
// (which it then deletes), and serves until it exits. The daemon's
// environment is the caller's. Blocks until the daemon accepts connections
// (it reports over a pipe) or has failed; returns nullopt on success, else
// tmux's message (e.g. `error creating PATH (No such file or directory)`).
std::optional<std::string> startServerDaemon(const std::string& socketPath,
                                             const std::vector<FaultRule>& faults);

// Returns `<socketPath>.faults`, the rule file read by the next server started.
std::string pendingFaultsPath(const std::string& socketPath);

// Returns `<socketPath>.orphans`, where each escaped process's pid is appended.
std::string orphanPidsPath(const std::string& socketPath);

}  // namespace cleanroom::mocks::tmux
