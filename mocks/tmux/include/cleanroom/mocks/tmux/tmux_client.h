// The client half of cleanroom-mock-tmux: runs one tmux command line the way
// the tmux 3.3a client does — pick the socket from `-L`/`-S`, connect, start a
// server daemon first for new-session when none runs, and turn the server's
// answer into stdout, stderr and an exit code.
#pragma once

#include <string>
#include <vector>

namespace cleanroom::mocks::tmux {

// What one command printed and its exit code (0 success, 1 failure, as tmux).
struct CommandOutput {
  int rc = 0;
  std::string out;  // for stdout
  std::string err;  // for stderr
};

// Runs `args` (argv without the program name). Without a reachable server it
// answers like tmux: `error connecting to PATH (No such file or directory)`
// when the socket file is absent, `no server running on PATH` when it is
// stale, except for new-session, which starts a server (see tmux_server.h).
// The hidden command `__fault RULE` arms a fault rule (fault_plan.h) in the
// running server, or appends it to `<socket>.faults` when none runs.
// Blocks until the server answers (as long as an armed hang lasts) and, when
// starting one, until the new server accepts connections.
CommandOutput runTmuxCommandLine(const std::vector<std::string>& args);

// Returns the text `cleanroom-mock-tmux --help` prints: the supported subset,
// formats, and the fault controls.
std::string usageText();

}  // namespace cleanroom::mocks::tmux
