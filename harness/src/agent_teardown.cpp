#include "cleanroom/agent_teardown.h"

#include <nlohmann/json.hpp>

namespace cleanroom {
namespace {

std::string joined(const std::vector<std::string>& items) {
  std::string text;
  for (const auto& item : items) text += (text.empty() ? "" : ", ") + item;
  return text;
}

}  // namespace

std::string AgentTeardown::describe() const {
  std::string line = agentId + ": ";
  line += sessionKilled ? "session killed" : "STILL RUNNING (" + joined(survivors.empty() ? resources : survivors) + ")";
  line += promptDeleted ? ", prompt deleted" : ", PROMPT LEFT";
  line += logsArchived ? ", logs archived (" + std::to_string(archivedFiles.size()) + ")" : ", LOGS LEFT";
  line += noZombies ? ", no zombies" : ", zombies: " + joined(zombies) + (zombiesCritical ? "" : " (informational)");
  line += success() ? " — ok" : " — NOT CLEAN";
  for (const auto& error : errors) line += "\n    " + error;
  return line;
}

nlohmann::json AgentTeardown::toJson() const {
  return {{"agentId", agentId},
          {"success", success()},
          {"sessionKilled", sessionKilled},
          {"promptDeleted", promptDeleted},
          {"logsArchived", logsArchived},
          {"noZombies", noZombies},
          {"zombiesCritical", zombiesCritical},
          {"archivedFiles", archivedFiles},
          {"deletedFiles", deletedFiles},
          {"survivors", survivors},
          {"zombies", zombies},
          {"resources", resources},
          {"errors", errors}};
}

}  // namespace cleanroom
