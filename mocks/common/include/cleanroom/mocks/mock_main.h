// The shared main() of every mock executable: parses the common flags (--host,
// --port, --ready-file, --log-level) plus the mock's own, starts the mock,
// writes the ready file, prints "listening on http://HOST:PORT" as the first
// stdout line, then blocks until SIGTERM or SIGINT and stops the mock cleanly.
// Order: the ready file (the bare URL, no newline) is in place before the
// "listening on" line is printed, so either signal means "accepting".
// Uses CLI11, so it is a build-tree helper library (cleanroom::mock_main) and is
// not installed.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <CLI/CLI.hpp>

namespace cleanroom::mocks {

struct MockCommonFlags {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string readyFile;
  std::string logLevel = "info";
};

struct MockProgram {
  std::string description;                    // one line for --help
  std::function<void(CLI::App&)> addFlags;    // optional: the mock's own flags
  // Starts the mock on the given host/port; returns its base URL. Throwing
  // aborts the program with exit code 1.
  std::function<std::string(const MockCommonFlags&)> start;
  // Stops the mock; blocks until it has stopped.
  std::function<void()> stop;
};

// Runs the program; returns the process exit code: 0 after a clean stop on
// SIGTERM/SIGINT (or --help), 2 for bad flags, 1 when the mock fails to start.
// Blocks SIGTERM/SIGINT in the calling thread before any thread is started.
int runMockProgram(int argc, char** argv, const MockProgram& program);

// Writes `content` to `path` atomically (temporary file + rename). Returns
// false (and logs why) on failure.
bool writeFileAtomically(const std::string& path, const std::string& content);

}  // namespace cleanroom::mocks
