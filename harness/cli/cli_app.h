// The cleanroom command line: parses argv with CLI11 and runs one command.
//
//   cleanroom ls|sweep [--backend NAME]... [--run-id ID | --all-runs]
//                      [--label K=V]... [--older-than 90s|30m|24h] [--state S]...
//                      [--dry-run] [--fail-fast] [--json] [--verbose]
//                      (ls accepts --dry-run and --fail-fast but never changes anything)
//   cleanroom reap RUN_ID [--journal PATH] [--backend NAME]... [--grace 3s]
//                         [--dry-run] [--json] [--verbose]
//   cleanroom wait AGENT_ID [--timeout 60s] [--json] [--verbose]
//   cleanroom version
//
// Exit codes: 0 nothing left / success, 1 something left or failed (listed),
// 2 usage or configuration error (the flag or variable is named).
#pragma once

#include <iosfwd>

namespace cleanroom::cli {

// Parses `argv` (argv[0] is the program name), runs the command and returns
// the process exit code. Help and version go to `out`; usage and
// configuration errors (including ConfigError thrown by a backend) go to
// `err` with exit code 2. Blocks for as long as the command does.
int runCommandLine(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace cleanroom::cli
