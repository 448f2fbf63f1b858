// `cleanroom wait AGENT_ID`: block until one agent is finished.
#include <algorithm>
#include <ostream>

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
  std::string error;               // last request error, if any
  bool permanentError = false;
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
  wait.finished = isFinished(status.state);
  return wait.finished;
}

AgentWait awaitAgent(Backend& backend, const std::string& agentId, milliseconds timeout, Clock& clock) {
  Resource agent;
  agent.backend = backend.name();
  agent.id = agentId;
  const SteadyTime deadline = clock.now() + timeout;
  AgentWait wait;
  WaitOutcome outcome = waitUntil(clock, deadline, AdaptiveWait{}, [&] {
    return observe(backend, agent, millisBetween(clock.now(), deadline), wait);
  });
  logger().debug("step=wait ref={} result={} status={} polls={} ms={}", agent.ref(),
                 wait.finished ? "finished" : (wait.permanentError ? "error" : "timeout"), wait.status, outcome.polls,
                 outcome.waited.count());
  return wait;
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
  if (wait.finished) {
    out << wait.status << '\n';
    return kExitClean;
  }
  if (wait.permanentError) {
    err << "cleanroom wait: cannot wait for agent " << options.agentId << ": " << wait.error << '\n';
    return kExitLeft;
  }
  err << "cleanroom wait: timed out after " << formatDuration(timeout.value()) << " waiting for agent "
      << options.agentId << " to finish; last status: " << wait.status;
  if (!wait.error.empty()) err << " (last error: " << wait.error << ")";
  err << '\n';
  return kExitLeft;
}

}  // namespace cleanroom::cli
