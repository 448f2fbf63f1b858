// When a test process dies: time from its death to the last of its resources
// gone, and the cost of journaling one created resource. Prints figures,
// asserts nothing (not run by ctest).
//
//   cleanroom_reaper_bench [--rounds N]
//
// A round starts cleanroom_doomed_suite (agents behind the REST mock with
// real processes, two tmux sessions — one with a process that escaped with
// setsid and ignores SIGTERM, so it is forced after the 3 s grace — a launched
// process, an agent's files), kills it (SIGKILL: the reaper sidecar cleans;
// SIGTERM: the fail-safe inside the process cleans), and measures until no
// process of its run is alive and the prompt file is gone.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "bench_support.h"
#include "cleanroom/child_process.h"
#include "cleanroom/journal.h"
#include "cleanroom/process_tree.h"
#include "cleanroom/run.h"
#include "cleanroom/wait.h"

namespace {

namespace fs = std::filesystem;
using cleanroom::bench::msSince;
using cleanroom::bench::percentile;
using cleanroom::bench::SteadyClock;

bool anyAlive(const std::string& runId) {
  for (const auto& p : cleanroom::processesMarkedWith(runId)) {
    if (!p.isZombie()) return true;
  }
  return false;
}

// One round: returns ms from the kill to the last resource gone (-1 on failure).
double round(int signal, const fs::path& root) {
  const std::string runId = "bench" + cleanroom::run::generateId().substr(0, 6);
  ::setenv("CLEANROOM_RUN_ID", runId.c_str(), 1);
  auto spawned = cleanroom::ChildProcess::spawn({CLEANROOM_DOOMED_SUITE});
  if (!spawned) return -1;
  auto suite = std::move(spawned).value();
  fs::path workspace;
  for (;;) {
    auto line = suite->readLine(std::chrono::milliseconds(60000));
    if (!line) return -1;
    if (line->rfind("holding ", 0) != 0) continue;
    std::istringstream words(line->substr(8));
    std::string socket, dir;
    words >> socket >> dir;
    workspace = dir;
    break;
  }
  const auto killed = SteadyClock::now();
  ::kill(suite->pid(), signal);
  const bool gone = cleanroom::waitUntil(cleanroom::Clock::system(),
                                         cleanroom::Clock::system().now() + std::chrono::seconds(60),
                                         cleanroom::AdaptiveWait{std::chrono::milliseconds(1), 1.5,
                                                                 std::chrono::milliseconds(5)},
                                         [&] {
                                           return !anyAlive(runId) &&
                                                  !fs::exists(workspace / "agent_prompt_a1.txt");
                                         })
                        .met;
  const double ms = msSince(killed);
  while (suite->readLine(std::chrono::milliseconds(10000)).ok()) {
  }
  (void)suite->stop(std::chrono::milliseconds(5000));
  (void)root;
  return gone ? ms : -1;
}

void journalOverhead(const fs::path& root) {
  cleanroom::Journal journal(root / "bench.jsonl", "bench");
  cleanroom::Resource r;
  r.backend = "tmux";
  r.runId = "bench";
  r.labels = {{"cleanroom.run", "bench"}, {"cleanroom.agent", "a1"}};
  const std::map<std::string, std::string> locator = {{"binary", "tmux"}, {"socketPath", "/tmp/x/sock"}};
  std::vector<double> us;
  for (int i = 0; i < 2000; ++i) {
    r.id = r.name = "cr-bench-a" + std::to_string(i);
    const auto start = SteadyClock::now();
    (void)journal.recordCreated("tmux", locator, r);
    us.push_back(msSince(start) * 1000.0);
  }
  std::printf("journal: recordCreated p50 %.1f us, p99 %.1f us (one O_APPEND write per resource, 2000 records)\n",
              percentile(us, 0.5), percentile(us, 0.99));
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 3;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--rounds") rounds = std::max(1, std::atoi(argv[i + 1]));
  }
  if (!cleanroom::becomeChildSubreaper()) {
    std::cerr << "PR_SET_CHILD_SUBREAPER was refused\n";
    return 1;
  }
  std::string pattern = (fs::temp_directory_path() / "cr-reaper-bench-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) return 1;
  const fs::path root = pattern;
  ::setenv("TMPDIR", root.c_str(), 1);
  ::setenv("CLEANROOM_JOURNAL_DIR", (root / "journals").c_str(), 1);
  ::setenv("CLEANROOM_REAPER", CLEANROOM_REAPER_EXE, 1);
  ::setenv("CLEANROOM_TMUX", "/usr/bin/tmux", 1);

  std::printf("# cleanroom: when a test process dies\nmachine: %s\n",
              cleanroom::bench::machineDescription().c_str());
  std::printf("held: 2 REST agents (real processes) + mock, 2 tmux sessions (one escaped process ignoring "
              "SIGTERM: forced after the 3 s grace), 1 launched process, an agent's prompt and log\n");
  for (const auto& [signal, name] : {std::pair{SIGKILL, "SIGKILL (reaper sidecar)"},
                                     std::pair{SIGTERM, "SIGTERM (fail-safe in the process)"}}) {
    std::vector<double> ms;
    for (int i = 0; i < rounds; ++i) ms.push_back(round(signal, root));
    std::printf("%-36s kill -> last resource gone: p50 %.0f ms, max %.0f ms (%d rounds; -1 = not gone in 60 s)\n",
                name, percentile(ms, 0.5), *std::max_element(ms.begin(), ms.end()), rounds);
  }
  journalOverhead(root);
  // Reap whatever came back to us, then remove the scratch directory.
  std::vector<cleanroom::ProcessIdentity> children;
  for (const auto& p : cleanroom::listProcesses()) {
    if (p.ppid == ::getpid()) children.push_back(p.id);
  }
  (void)cleanroom::awaitExit(children, std::chrono::milliseconds(10000));
  cleanroom::reapZombieChildren(children);
  std::error_code ignored;
  fs::remove_all(root, ignored);
  return 0;
}
