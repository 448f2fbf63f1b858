// Backend catalog: every backend cleanroom knows, and how to build each from
// the environment (DESIGN 3.4). The CLI, the fixtures' Environment and the
// fail-safe use it, so a new backend is wired in by adding one entry here.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cleanroom/backend.h"
#include "cleanroom/result.h"

namespace cleanroom {

struct BackendCatalogEntry {
  std::string name;         // "http"
  std::string settings;     // "CLEANROOM_AGENTS_URL" — what configures it
};

// Returns the known backends in a stable order.
const std::vector<BackendCatalogEntry>& backendCatalog();

// Builds backends from the environment. With `names` empty: every backend
// whose settings are present (none present → empty list). With names: exactly
// those; an unknown name or missing/malformed settings is a Permanent error
// naming the backend or variable and what to set.
Result<std::vector<std::shared_ptr<Backend>>> backendsFromEnvironment(const std::vector<std::string>& names = {});

}  // namespace cleanroom
