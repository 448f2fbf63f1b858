// Backend catalog: every backend cleanroom knows, and how to build each from
// the environment (DESIGN 3.4). The CLI, the fixtures' Environment and the
// fail-safe use it, so a new backend is wired in by adding one entry here.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cleanroom/backend.h"
#include "cleanroom/journal.h"
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
// Backends whose resources carry no owner label (workspace, process) are
// built as owned by `owner` (empty = this process's run id), so another
// process (the CLI, a reaper) can clean a given run.
Result<std::vector<std::shared_ptr<Backend>>> backendsFromEnvironment(const std::vector<std::string>& names = {},
                                                                      const std::string& owner = "");

// Builds backend `name`, owned by `runId`, from a journal locator
// (Backend::locator()). A Permanent error names an unknown backend or a
// missing or malformed setting.
Result<std::shared_ptr<Backend>> backendFromLocator(const std::string& name,
                                                    const std::map<std::string, std::string>& locator,
                                                    const std::string& runId);

// Returns `backends` plus one backend per (name, locator) the journal names
// that none of them already reaches (same name and locator; an empty
// journaled locator is reached by any backend of that name). What cannot be
// built is added to `errors`, naming the backend and the journal.
std::vector<std::shared_ptr<Backend>> withJournalBackends(std::vector<std::shared_ptr<Backend>> backends,
                                                          const JournalContents& journal,
                                                          std::vector<std::string>& errors);

}  // namespace cleanroom
