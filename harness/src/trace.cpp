#include "cleanroom/trace.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/dist_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace cleanroom {
namespace {

constexpr const char* kPattern = "%Y-%m-%dT%H:%M:%S.%e %n %l %v";

// Keeps every line it is given, formatted.
class MemorySink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::vector<std::string> lines() {
    std::lock_guard lock(mutex_);
    return lines_;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    std::string line(formatted.data(), formatted.size());
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    lines_.push_back(std::move(line));
  }
  void flush_() override {}

 private:
  std::vector<std::string> lines_;
};

struct TraceState {
  std::shared_ptr<spdlog::logger> logger;
  std::shared_ptr<spdlog::sinks::dist_sink_mt> fanout;
  std::shared_ptr<spdlog::sinks::sink> console;
  std::atomic<int> captures{0};
  std::mutex mutex;
};

spdlog::level::level_enum levelFromEnvironment() {
  const char* value = std::getenv("CLEANROOM_LOG");
  if (value == nullptr || *value == '\0') return spdlog::level::warn;
  auto level = spdlog::level::from_str(value);
  // from_str maps unknown words to "off"; only accept "off" when asked for.
  if (level == spdlog::level::off && std::string(value) != "off") {
    std::fprintf(stderr,
                 "cleanroom: CLEANROOM_LOG='%s' is not a log level; use trace, debug, info, warn, error or off. "
                 "Using warn.\n",
                 value);
    return spdlog::level::warn;
  }
  return level;
}

// Logger level: the console's, lowered to debug while a capture is active.
void applyLevels(TraceState& state) {
  auto level = state.console->level();
  if (state.captures.load() > 0 && level > spdlog::level::debug) level = spdlog::level::debug;
  state.logger->set_level(level);
}

TraceState& traceState() {
  static TraceState* state = [] {
    auto* s = new TraceState();  // never destroyed: usable from atexit handlers
    s->fanout = std::make_shared<spdlog::sinks::dist_sink_mt>();
    s->console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    s->console->set_pattern(kPattern);
    s->console->set_level(levelFromEnvironment());
    s->fanout->add_sink(s->console);
    s->logger = std::make_shared<spdlog::logger>("cleanroom", s->fanout);
    s->logger->flush_on(spdlog::level::trace);
    applyLevels(*s);
    return s;
  }();
  return *state;
}

}  // namespace

spdlog::logger& logger() { return *traceState().logger; }

bool setLogLevel(const std::string& level) {
  auto parsed = spdlog::level::from_str(level);
  if (parsed == spdlog::level::off && level != "off") return false;
  auto& state = traceState();
  std::lock_guard lock(state.mutex);
  state.console->set_level(parsed);
  applyLevels(state);
  return true;
}

struct TraceCapture::Impl {
  std::shared_ptr<MemorySink> sink = std::make_shared<MemorySink>();
};

TraceCapture::TraceCapture() : impl_(std::make_shared<Impl>()) {
  auto& state = traceState();
  impl_->sink->set_pattern(kPattern);
  impl_->sink->set_level(spdlog::level::debug);
  std::lock_guard lock(state.mutex);
  state.fanout->add_sink(impl_->sink);
  state.captures.fetch_add(1);
  applyLevels(state);
}

TraceCapture::~TraceCapture() {
  auto& state = traceState();
  std::lock_guard lock(state.mutex);
  state.fanout->remove_sink(impl_->sink);
  state.captures.fetch_sub(1);
  applyLevels(state);
}

std::vector<std::string> TraceCapture::lines() const { return impl_->sink->lines(); }

std::string TraceCapture::text() const {
  std::string out;
  for (const auto& line : lines()) {
    out += line;
    out += '\n';
  }
  return out;
}

}  // namespace cleanroom
