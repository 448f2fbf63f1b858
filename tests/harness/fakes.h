// Test doubles of the harness unit tests (the clock and backend fakes live in
// tests/support, shared with the fixtures tests).
#pragma once

#include "cleanroom/backend.h"
#include "manual_clock.h"
#include "mock_backend.h"

namespace cleanroom::tests {

using ManualClock = cleanroom::tests::ManualClock;
using MockBackend = cleanroom::tests::MockBackend;

// Returns a resource of `backend` owned by `runId`.
inline Resource makeResource(std::string id, std::string runId, ResourceState state = ResourceState::Running,
                             std::string backend = "fake") {
  Resource r;
  r.backend = std::move(backend);
  r.id = std::move(id);
  r.name = "agent-" + r.id;
  r.runId = std::move(runId);
  r.labels["cleanroom.run"] = r.runId;
  r.state = state;
  r.status = state == ResourceState::Running ? "running" : "completed";
  return r;
}

}  // namespace cleanroom::tests
