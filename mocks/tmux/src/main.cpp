// cleanroom-mock-tmux: a tmux-compatible command line (see tmux_client.h and
// `cleanroom-mock-tmux --help`).
#include <iostream>
#include <string>
#include <vector>

#include "cleanroom/mocks/tmux/tmux_client.h"

int main(int argc, char** argv) {
  using namespace cleanroom::mocks::tmux;
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && (args.front() == "--help" || args.front() == "-h")) {
    std::cout << usageText();
    return 0;
  }
  if (!args.empty() && args.front() == "-V") {
    std::cout << "tmux 3.3a\n";
    return 0;
  }
  const CommandOutput output = runTmuxCommandLine(args);
  std::cout << output.out << std::flush;
  std::cerr << output.err << std::flush;
  return output.rc;
}
