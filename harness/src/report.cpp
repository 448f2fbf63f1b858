#include "cleanroom/report.h"

#include <sstream>

#include <nlohmann/json.hpp>

#include "cleanroom/duration.h"

namespace cleanroom {

void CleanupReport::finalize() {
  totals = {};
  totals.found = static_cast<int>(resources.size());
  for (const auto& r : resources) {
    if (r.cleaned) ++totals.cleaned;
    else ++totals.remaining;
    if (!r.errors.empty()) ++totals.failed;
    if (r.forced) ++totals.forced;
    if (r.skipped) ++totals.skipped;
    totals.attempts += r.attempts;
  }
  bool agentsClean = true;
  for (const auto& agent : agents) agentsClean = agentsClean && agent.success();
  const bool clean = errors.empty() && totals.failed == 0 && agentsClean;
  success = dryRun ? clean : clean && totals.remaining == 0;
}

namespace {

nlohmann::json actionJson(const ActionRecord& a) {
  return {{"name", a.name}, {"attempts", a.attempts}, {"durationMs", a.duration.count()},
          {"ok", a.ok}, {"detail", a.detail}, {"failures", a.failures}};
}

nlohmann::json resourceJson(const ResourceReport& r) {
  nlohmann::json actions = nlohmann::json::array();
  for (const auto& a : r.actions) actions.push_back(actionJson(a));
  nlohmann::json j = {{"backend", r.backend},
                      {"id", r.id},
                      {"name", r.name},
                      {"runId", r.runId},
                      {"initialStatus", r.initialStatus},
                      {"finalStatus", r.finalStatus},
                      {"finalState", toString(r.finalState)},
                      {"actions", actions},
                      {"attempts", r.attempts},
                      {"durationMs", r.duration.count()},
                      {"cleaned", r.cleaned},
                      {"forced", r.forced},
                      {"skipped", r.skipped},
                      {"errors", r.errors}};
  j["ageMs"] = r.age ? nlohmann::json(r.age->count()) : nlohmann::json(nullptr);
  return j;
}

}  // namespace

nlohmann::json CleanupReport::toJson() const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& r : resources) list.push_back(resourceJson(r));
  nlohmann::json agentList = nlohmann::json::array();
  for (const auto& a : agents) agentList.push_back(a.toJson());
  return {{"runId", runId},
          {"selector", selector},
          {"dryRun", dryRun},
          {"failFast", failFast},
          {"success", success},
          {"elapsedMs", elapsed.count()},
          {"totals",
           {{"found", totals.found},
            {"cleaned", totals.cleaned},
            {"remaining", totals.remaining},
            {"failed", totals.failed},
            {"forced", totals.forced},
            {"skipped", totals.skipped},
            {"attempts", totals.attempts}}},
          {"errors", errors},
          {"retried", retried},
          {"resources", list},
          {"agents", agentList}};
}

int CleanupReport::failedAttempts() const {
  std::size_t count = retried.size();
  for (const auto& r : resources) {
    for (const auto& a : r.actions) count += a.failures.size();
  }
  return static_cast<int>(count);
}

std::string CleanupReport::summary() const {
  std::ostringstream out;
  out << "cleanroom cleanup" << (dryRun ? " (dry run)" : "") << " of " << selector << ": "
      << totals.found << " found, " << totals.cleaned << " cleaned, " << totals.remaining << " remaining, "
      << totals.failed << " failed, " << totals.forced << " forced in " << formatDuration(elapsed)
      << (success ? " — ok" : " — NOT CLEAN");
  if (const int overcome = failedAttempts(); overcome > 0) out << " (" << overcome << " failed attempts, see the report)";
  for (const auto& e : errors) out << "\n  error: " << e;
  for (const auto& r : resources) {
    if (r.cleaned && r.errors.empty()) continue;
    out << "\n  " << r.ref();
    if (!r.name.empty()) out << " name=" << r.name;
    out << " status=" << (r.finalStatus.empty() ? toString(r.finalState) : r.finalStatus);
    if (r.age) out << " age=" << formatDuration(*r.age);
    if (r.skipped) out << (dryRun ? " (would stop)" : " (skipped)");
    for (const auto& e : r.errors) out << "\n    " << e;
  }
  for (const auto& agent : agents) {
    if (agent.success() && agent.noZombies) continue;
    out << "\n  agent " << agent.describe();
  }
  return out.str();
}

}  // namespace cleanroom
