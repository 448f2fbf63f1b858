#include "cleanroom/selector.h"

#include <sstream>

#include "cleanroom/duration.h"
#include "cleanroom/run.h"

namespace cleanroom {

Selector Selector::thisRun() { return forRun(run::id()); }

Selector Selector::forRun(std::string runId) {
  Selector s;
  s.runId = std::move(runId);
  return s;
}

Selector Selector::allRuns() { return Selector{}; }

std::set<ResourceState> Selector::activeStates() {
  return {ResourceState::Pending, ResourceState::Running, ResourceState::Stopping, ResourceState::Unknown,
          ResourceState::Stopped};
}

Selector Selector::activeOnly() const {
  Selector s = *this;
  s.states = activeStates();
  return s;
}

bool Selector::matches(const Resource& r, WallTime now) const {
  if (runId && r.runId != *runId) return false;
  for (const auto& [key, value] : labels) {
    auto it = r.labels.find(key);
    if (it == r.labels.end() || it->second != value) return false;
  }
  if (!namePrefix.empty() && r.name.rfind(namePrefix, 0) != 0) return false;
  if (minAge > milliseconds::zero()) {
    if (!r.createdAt) return false;
    if (now - *r.createdAt < minAge) return false;
  }
  if (!states.empty() && !states.count(r.state)) return false;
  if (!ids.empty() && !ids.count(r.id)) return false;
  return true;
}

std::string Selector::describe() const {
  std::ostringstream out;
  out << "run=" << (runId ? *runId : "*");
  for (const auto& [key, value] : labels) out << " label:" << key << "=" << value;
  if (!namePrefix.empty()) out << " name-prefix=" << namePrefix;
  if (minAge > milliseconds::zero()) out << " older-than=" << formatDuration(minAge);
  if (!states.empty()) {
    out << " state=";
    bool first = true;
    for (auto s : states) {
      out << (first ? "" : "|") << toString(s);
      first = false;
    }
  }
  if (!ids.empty()) {
    out << " id=";
    bool first = true;
    for (const auto& id : ids) {
      out << (first ? "" : "|") << id;
      first = false;
    }
  }
  return out.str();
}

}  // namespace cleanroom
