// One tmux client call: spawn argv (no shell), capture stdout/stderr and the
// exit status, kill the client when it overruns its timeout. Private to the
// tmux backend.
#pragma once

#include <string>
#include <vector>

#include "cleanroom/backends/tmux_backend.h"

namespace cleanroom::tmux_client {

// Runs `binary` (a path, or a name looked up in PATH) with `args`, stdin from
// /dev/null, in an environment without TMUX, CLEANROOM_RUN_ID and
// CLEANROOM_TMUX_SESSION. Returns the exit status and output; a client that
// exits by a signal gets exitCode 128 + signal. Errors: the binary cannot be
// started (Permanent) or the client did not exit within `timeout` (Retryable;
// it was sent SIGKILL and reaped). Stops reading when the client has exited,
// even if a process it started (a tmux server) still holds the pipes.
// Blocks for at most `timeout` plus the reaping of a killed client.
Result<TmuxOutput> run(const std::string& binary, const std::vector<std::string>& args, milliseconds timeout);

}  // namespace cleanroom::tmux_client
