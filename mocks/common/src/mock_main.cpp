#include "cleanroom/mocks/mock_main.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cleanroom/mocks/mock_logger.h"

namespace cleanroom::mocks {
namespace {

constexpr int kUsageError = 2;

sigset_t stopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

// Blocks SIGTERM/SIGINT in this thread (and so in every thread started later),
// and ignores SIGPIPE so a vanished client cannot kill the mock.
void prepareSignals() {
  sigset_t set = stopSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

// Blocks until SIGTERM or SIGINT arrives; returns its number.
int waitForStopSignal() {
  sigset_t set = stopSignals();
  int received = 0;
  while (sigwait(&set, &received) != 0) {
  }
  return received;
}

void addCommonFlags(CLI::App& app, MockCommonFlags& flags) {
  app.add_option("--host", flags.host, "address to listen on")->capture_default_str();
  app.add_option("--port", flags.port, "TCP port; 0 picks a free port")->capture_default_str();
  app.add_option("--ready-file", flags.readyFile,
                 "write the base URL to this file (atomically) once listening");
  app.add_option("--log-level", flags.logLevel, "log level on stderr")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
}

}  // namespace

bool writeFileAtomically(const std::string& path, const std::string& content) {
  const std::string temporary = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << content;
    out.flush();
    if (!out) {
      mockLogger()->error("cannot write {}", temporary);
      std::filesystem::remove(temporary);
      return false;
    }
  }
  std::error_code ec;
  std::filesystem::rename(temporary, path, ec);
  if (ec) {
    mockLogger()->error("cannot rename {} to {}: {}", temporary, path, ec.message());
    std::filesystem::remove(temporary, ec);
    return false;
  }
  return true;
}

int runMockProgram(int argc, char** argv, const MockProgram& program) {
  CLI::App app{program.description};
  MockCommonFlags flags;
  addCommonFlags(app, flags);
  if (program.addFlags) program.addFlags(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int code = app.exit(error);
    return code == 0 ? 0 : kUsageError;
  }
  setMockLogLevel(flags.logLevel);
  prepareSignals();

  std::string url;
  try {
    url = program.start(flags);
  } catch (const std::exception& error) {
    mockLogger()->error("cannot start: {}", error.what());
    std::cerr << "error: cannot start: " << error.what() << std::endl;
    return 1;
  }
  // The ready file first: whoever sees the stdout line can rely on it too.
  if (!flags.readyFile.empty() && !writeFileAtomically(flags.readyFile, url)) {
    program.stop();
    return 1;
  }
  std::cout << "listening on " << url << std::endl;
  const int received = waitForStopSignal();
  mockLogger()->info("received signal {}, stopping", received);
  program.stop();
  return 0;
}

}  // namespace cleanroom::mocks
