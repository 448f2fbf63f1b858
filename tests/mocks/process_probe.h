// Test helper: questions about real processes (is a pid alive, which children
// does this test process have) for the realProcess agent tests.
#pragma once

#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace cleanroom::mocks::testing {

// Returns true if and only if kill(pid, 0) fails with ESRCH (no such process,
// not even a zombie).
inline bool processIsGone(pid_t pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

// Returns the pids whose parent is this process (zombies included).
inline std::vector<pid_t> childrenOfThisProcess() {
  std::vector<pid_t> children;
  const pid_t self = ::getpid();
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    const auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    char state = 0;
    int parent = 0;
    if (std::sscanf(line.c_str() + close + 1, " %c %d", &state, &parent) != 2) continue;
    if (parent == self) children.push_back(static_cast<pid_t>(std::stoi(name)));
  }
  return children;
}

}  // namespace cleanroom::mocks::testing
