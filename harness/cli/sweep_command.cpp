// `cleanroom sweep`: clean what matches, report what happened.
#include <ostream>

#include "backend_choice.h"
#include "cleanroom/engine.h"
#include "cleanroom/env.h"
#include "commands.h"
#include "exit_code.h"
#include "resource_view.h"

namespace cleanroom::cli {

int runSweep(const SweepOptions& options, std::ostream& out, std::ostream& err) {
  auto selector = toSelector(options.filter, env::get("CLEANROOM_RUN_ID"));
  if (!selector.ok()) {
    err << "cleanroom sweep: " << selector.error().message << '\n';
    return kExitUsage;
  }
  auto backends = chooseBackends(options.filter.backends, selector.value());
  if (!backends.ok()) {
    err << "cleanroom sweep: " << backends.error().message << '\n';
    return kExitUsage;
  }
  CleanupOptions cleanupOptions;
  cleanupOptions.dryRun = options.dryRun;
  cleanupOptions.failureMode = options.failFast ? FailureMode::FailFast : FailureMode::ContinueAndReport;
  CleanupEngine engine(cleanupOptions);
  for (auto& backend : backends.value()) engine.addBackend(backend);

  CleanupReport report = engine.cleanup(selector.value());
  if (options.json) {
    out << report.toJson().dump(2) << '\n';
    if (!report.success) err << report.summary() << '\n';  // CI logs show what is left
  } else {
    out << reportTable(report) << report.summary() << '\n';
  }
  return report.success ? kExitClean : kExitLeft;
}

}  // namespace cleanroom::cli
