// `cleanroom wait AGENT_ID`: block until one agent is finished.
#include <algorithm>
#include <ostream>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "backend_choice.h"
#include "cleanroom/duration.h"
#include "cleanroom/trace.h"
#include "cleanroom/wait.h"
#include "commands.h"
#include "exit_code.h"

namespace cleanroom::cli {
namespace {

// Longest single long-poll; the server answers earlier when the agent finishes.
constexpr milliseconds kLongPollSlice{10000};

struct AgentWait {
  bool finished = false;
  std::string status = "unknown";  // last status seen
  ResourceState state = ResourceState::Unknown;
  std::string error;               // last request error, if any
  bool permanentError = false;
  milliseconds elapsed{0};
};

// Makes one observation: a long-poll when the backend offers one and time is
// left, else a probe. Returns true when waiting should stop.
bool observe(Backend& backend, const Resource& agent, milliseconds remaining, AgentWait& wait) {
  const bool longPoll = backend.canAwait() && remaining > milliseconds::zero();
  Result<ResourceStatus> result =
      longPoll ? backend.awaitFinished(agent, std::min(remaining, kLongPollSlice)) : backend.probe(agent);
  if (!result.ok()) {
    if (result.error().isGone()) {
      wait.finished = true;
      wait.status = "deleted";
      wait.state = ResourceState::Gone;
      return true;
    }
    wait.error = result.error().describe();
    wait.permanentError = !result.error().isRetryable();
    return wait.permanentError;
  }
  const ResourceStatus& status = result.value();
  wait.error.clear();
  wait.status = status.state == ResourceState::Gone ? "deleted"
                                                    : (status.status.empty() ? toString(status.state) : status.status);
  wait.state = status.state;
  wait.finished = isFinished(status.state);
  return wait.finished;
}

AgentWait awaitAgent(Backend& backend, const std::string& agentId, milliseconds timeout, Clock& clock) {
  Resource agent;
  agent.backend = backend.name();
  agent.id = agentId;
  const SteadyTime deadline = clock.now() + timeout;
  const SteadyTime start = clock.now();
  AgentWait wait;
  WaitOutcome outcome = waitUntil(clock, deadline, AdaptiveWait{}, [&] {
    return observe(backend, agent, millisBetween(clock.now(), deadline), wait);
  });
  wait.elapsed = millisBetween(start, clock.now());
  logger().debug("step=wait ref={} result={} status={} polls={} ms={}", agent.ref(),
                 wait.finished ? "finished" : (wait.permanentError ? "error" : "timeout"), wait.status, outcome.polls,
                 outcome.waited.count());
  return wait;
}

// Returns why the wait did not end with a finished agent ("" when it did).
std::string failureOf(const AgentWait& wait, const std::string& agentId, milliseconds timeout) {
  if (wait.finished) return "";
  if (wait.permanentError) return "cannot wait for agent " + agentId + ": " + wait.error;
  std::string message = "timed out after " + formatDuration(timeout) + " waiting for agent " + agentId +
                        " to finish; last status: " + wait.status;
  if (!wait.error.empty()) message += " (last error: " + wait.error + ")";
  return message;
}

// Returns the --json form: {"id", "status", "state", "elapsedMs"} and
// "error" when the agent did not finish.
nlohmann::json waitJson(const AgentWait& wait, const std::string& agentId, const std::string& failure) {
  nlohmann::json result = {{"id", agentId},
                           {"status", wait.status},
                           {"state", toString(wait.state)},
                           {"elapsedMs", wait.elapsed.count()}};
  if (!failure.empty()) result["error"] = failure;
  return result;
}

}  // namespace

int runWait(const WaitOptions& options, std::ostream& out, std::ostream& err) {
  if (options.agentId.empty()) {
    err << "cleanroom wait: AGENT_ID is empty: pass the id of an agent, e.g. cleanroom wait ag-1\n";
    return kExitUsage;
  }
  auto timeout = parseDuration(options.timeout, "--timeout");
  if (!timeout.ok()) {
    err << "cleanroom wait: " << timeout.error().message << '\n';
    return kExitUsage;
  }
  auto backends = chooseBackends({"http"});
  if (!backends.ok()) {
    err << "cleanroom wait: " << backends.error().message << '\n';
    return kExitUsage;
  }
  AgentWait wait = awaitAgent(*backends->front(), options.agentId, timeout.value(), Clock::system());
  const std::string failure = failureOf(wait, options.agentId, timeout.value());
  if (options.json) {
    out << waitJson(wait, options.agentId, failure).dump(2) << '\n';
  } else if (wait.finished) {
    out << wait.status << '\n';
  }
  if (wait.finished) return kExitClean;
  err << "cleanroom wait: " << failure << '\n';
  return kExitLeft;
}

}  // namespace cleanroom::cli
