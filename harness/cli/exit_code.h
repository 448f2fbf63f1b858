// Exit codes of the cleanroom CLI (DESIGN 3.2). Scripts and CI depend on
// these numbers.
#pragma once

namespace cleanroom::cli {

enum ExitCode : int {
  kExitClean = 0,  // nothing left / success
  kExitLeft = 1,   // something left or failed (listed on stdout or stderr)
  kExitUsage = 2,  // usage or configuration error (the flag or variable is named)
};

}  // namespace cleanroom::cli
