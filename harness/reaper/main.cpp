// cleanroom-reaper: the fail-safe sidecar (see cleanroom/reaper.h).
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cleanroom/duration.h"
#include "cleanroom/reaper.h"
#include "cleanroom/trace.h"

int main(int argc, char** argv) {
  CLI::App app{
      "cleanroom-reaper: waits for a test process to end (SIGKILL included), then cleans up what its run left "
      "on every configured and journaled backend, and exits.\n"
      "Exit codes: 0 clean (or another reaper watches the run), 1 something left or failed, 2 bad input."};
  cleanroom::ReaperOptions options;
  std::string grace = "3s";
  bool verbose = false;
  app.add_option("--watch-pid", options.watchPid, "pid of the test process to watch")->required();
  app.add_option("--run-id", options.runId, "the run whose resources to reap")->required();
  app.add_option("--journal", options.journalPath, "the run's journal (default: CLEANROOM_JOURNAL_DIR/<run id>.jsonl)");
  app.add_option("--backend", options.backends, "only these backends (default: every configured one)");
  app.add_option("--grace", grace, "how long a stopped resource may take to exit before it is forced (e.g. 3s)");
  app.add_flag("--verbose", verbose, "print the cleanup trace (CLEANROOM_LOG=debug)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  auto parsed = cleanroom::parseDuration(grace);
  if (!parsed) {
    std::cerr << "cleanroom-reaper: --grace " << grace << ": " << parsed.error().message << "\n";
    return 2;
  }
  options.gracePeriod = *parsed;
  if (verbose) cleanroom::setLogLevel("debug");
  return cleanroom::runReaper(options, std::cout, std::cerr);
}
