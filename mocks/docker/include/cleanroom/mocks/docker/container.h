// The state model of the Docker Engine API mock (cleanroom-mock-docker): what a
// container is (its create spec, its status, its times, its exit code, its log)
// and how a container's real process behaves.
//
// Every started container is backed by one real child process of the mock (a
// fork, no exec: the image and Cmd are recorded, never run). What that process
// does is set per container through environment variables in the create
// request's Env (`docker run -e`, docker-py `environment=`):
//   CLEANROOM_MOCK_RUN_MS=N         exit by itself N ms after start (default: run
//                                   until signalled)
//   CLEANROOM_MOCK_EXIT_CODE=N      the exit code when the run ends by itself
//                                   (0-255, default 0)
//   CLEANROOM_MOCK_EXIT_DELAY_MS=N  after SIGTERM, keep running N ms, then exit
//                                   143 (default 0: exit at once)
//   CLEANROOM_MOCK_IGNORE_SIGTERM=1 ignore SIGTERM (1/true/0/false): only
//                                   SIGKILL (stop timeout, kill, rm -f) ends it
//   CLEANROOM_MOCK_STDOUT=text      written to stdout at start, plus a newline
//   CLEANROOM_MOCK_STDERR=text      written to stderr at start, plus a newline
//   CLEANROOM_MOCK_AGE_MS=N         back-date Created by N ms (0 to 30 days), so
//                                   age filters (`sweep --older-than 24h`) can
//                                   be tested on a young mock
// Any other signal has its default action (SIGINT: exit code 130, SIGKILL: 137).
// A bad value makes the create request fail with 400 naming the variable.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "cleanroom/mocks/parse_result.h"

namespace cleanroom::mocks::docker {

using WallClock = std::chrono::system_clock;

// How a container's process behaves (see the file comment for the Env names).
struct ContainerBehavior {
  std::optional<std::int64_t> runMs;  // nullopt = run until signalled
  int exitCode = 0;                   // when runMs elapses
  std::int64_t exitDelayMs = 0;       // between SIGTERM and exit(143)
  bool ignoreSigterm = false;
  std::string stdoutText;             // written at start ("" = nothing)
  std::string stderrText;
  std::int64_t ageMs = 0;             // Created lies this far in the past

  // Returns the behaviour configured by the CLEANROOM_MOCK_* entries of `env`
  // ("NAME=value" strings; others are ignored), or an error naming the variable.
  static ParseResult<ContainerBehavior> fromEnv(const std::vector<std::string>& env);
};

// What POST /containers/create asked for.
struct ContainerSpec {
  std::string name;                     // without the leading '/'; "" = generate one
  std::string image;
  std::vector<std::string> entrypoint;  // Config.Entrypoint
  std::vector<std::string> cmd;         // Config.Cmd
  std::vector<std::string> env;         // Config.Env, "NAME=value"
  std::map<std::string, std::string> labels;
  bool tty = false;                     // Config.Tty: logs are raw, not multiplexed
  std::optional<int> stopSignal;        // Config.StopSignal (number)
  std::optional<int> stopTimeoutSeconds;  // Config.StopTimeout
  bool autoRemove = false;              // HostConfig.AutoRemove (`run --rm`)
  nlohmann::json config = nlohmann::json::object();      // Config as inspect shows it
  nlohmann::json hostConfig = nlohmann::json::object();  // HostConfig as sent
  ContainerBehavior behavior;
};

// The statuses this mock produces (docker's paused/restarting/removing/dead never occur).
enum class ContainerStatus { created, running, exited };

// Returns docker's name of `status`: "created", "running", "exited".
std::string_view statusName(ContainerStatus status);

// One line (or a final partial line) a container's process wrote.
struct LogLine {
  int stream = 1;  // 1 = stdout, 2 = stderr (docker's stream ids)
  std::string text;  // including the trailing '\n' when there was one
  WallClock::time_point time;
};

// A snapshot of one container.
struct Container {
  std::string id;  // 64 lowercase hex digits
  ContainerSpec spec;
  ContainerStatus status = ContainerStatus::created;
  WallClock::time_point created;
  WallClock::time_point startedAt{};   // epoch = never started
  WallClock::time_point finishedAt{};  // epoch = never exited
  int exitCode = 0;
  pid_t pid = 0;  // of the running process, 0 when not running
  int restartCount = 0;
  std::vector<LogLine> logs;

  // Returns the name with docker's leading '/'.
  std::string slashName() const { return "/" + spec.name; }
  // Returns Path and Args as docker reports them: entrypoint + cmd, split.
  std::string path() const;
  std::vector<std::string> args() const;
};

}  // namespace cleanroom::mocks::docker
