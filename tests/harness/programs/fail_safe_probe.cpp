// A test program for fail_safe_test.cpp: it launches `sleep 600` children
// through the process backend, installs the fail-safe with an engine that
// has only that backend, prints "ready PID PID", and then ends the way
// argv[1] says:
//   exit    std::exit(0)            return  return 0 from main
//   wait    block until a signal arrives (the test sends it)
//   reaper  start cleanroom-reaper watching this process (launchReaper),
//           print " reaper=PID" on the ready line, then block like wait
// It also registers a fail-safe cleanup (addFailSafeCleanup) that prints
// "before-sweep trigger=T children-alive=N": the cleanups run before the
// sweep, so N is still 2 there. The run id and journal directory come from
// CLEANROOM_RUN_ID and CLEANROOM_JOURNAL_DIR, set by the test.
#include <unistd.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cleanroom/backends/process_backend.h"
#include "cleanroom/engine.h"
#include "cleanroom/fail_safe.h"
#include "cleanroom/process_tree.h"
#include "cleanroom/reaper.h"
#include "cleanroom/run.h"

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode != "exit" && mode != "return" && mode != "wait" && mode != "reaper") {
    std::cerr << "usage: fail_safe_probe exit|return|wait|reaper\n";
    return 2;
  }
  auto processes = std::make_shared<cleanroom::ProcessBackend>();
  cleanroom::CleanupOptions options;
  options.gracePeriod = std::chrono::milliseconds(2000);
  auto engine = std::make_shared<cleanroom::CleanupEngine>(options);
  engine->addBackend(processes);
  std::string pids;
  std::vector<cleanroom::ProcessIdentity> children;
  for (int i = 0; i < 2; ++i) {
    cleanroom::LaunchOptions quiet;
    quiet.outputPath = "/dev/null";  // keep the test's pipe free: it reads our end of output
    auto launched = processes->launch({"/bin/sleep", "600"}, quiet);
    if (!launched.ok()) {
      std::cerr << launched.error().describe() << "\n";
      return 3;
    }
    pids += " " + launched->id;
    if (auto identity = cleanroom::ProcessIdentity::parse(launched->id)) children.push_back(*identity);
  }
  cleanroom::installFailSafe({.engine = engine});
  cleanroom::addFailSafeCleanup("probe", [children](const std::string& trigger) {
    int alive = 0;
    for (const auto& child : children) alive += cleanroom::isAlive(child) ? 1 : 0;
    std::cout << "before-sweep trigger=" << trigger << " children-alive=" << alive << std::endl;
  });
  if (mode == "reaper") {
    auto reaper = cleanroom::launchReaper(cleanroom::run::id());
    if (!reaper.ok()) {
      std::cerr << reaper.error().describe() << "\n";
      return 4;
    }
    pids += " reaper=" + std::to_string(*reaper);
  }
  std::cout << "ready" << pids << std::endl;
  if (mode == "exit") std::exit(0);
  if (mode == "return") return 0;
  for (;;) ::pause();
}
