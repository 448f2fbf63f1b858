// Tracing: the spdlog logger "cleanroom", for people.
//
// CLEANROOM_LOG=trace|debug|info|warn|error|off sets what is printed to
// stderr (default warn; a malformed value is reported once, naming the
// variable, and warn is used). Lines are key=value so they can be grepped:
//   cleanroom step=stop ref=http/ag-1 mode=graceful attempt=1/5 result=ok ms=2
// Secrets (keys, tokens, Authorization values) are never logged.
//
// TraceCapture records the debug trace in memory regardless of
// CLEANROOM_LOG, so a fixture can print the trace of a failed test only.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace spdlog {
class logger;
}

namespace cleanroom {

// Returns the "cleanroom" logger, creating and configuring it on first use.
spdlog::logger& logger();

// Sets the stderr level ("trace" … "off"); returns false for an unknown word.
bool setLogLevel(const std::string& level);

// While alive, every trace line at debug level and above is also kept in
// memory. Captures may nest and run in several threads; each sees every line.
class TraceCapture {
 public:
  TraceCapture();
  ~TraceCapture();
  TraceCapture(const TraceCapture&) = delete;
  TraceCapture& operator=(const TraceCapture&) = delete;

  // Returns the lines captured so far, formatted with timestamps.
  std::vector<std::string> lines() const;
  // Returns the lines joined with newlines.
  std::string text() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace cleanroom
