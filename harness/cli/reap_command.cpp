// `cleanroom reap RUN_ID`: clean what a crashed run left, from its journal.
#include <ostream>

#include "cleanroom/duration.h"
#include "cleanroom/reaper.h"
#include "commands.h"
#include "exit_code.h"
#include "resource_view.h"

namespace cleanroom::cli {

int runReap(const ReapOptions& options, std::ostream& out, std::ostream& err) {
  auto grace = parseDuration(options.grace, "--grace");
  if (!grace.ok()) {
    err << "cleanroom reap: " << grace.error().message << '\n';
    return kExitUsage;
  }
  cleanroom::ReapOptions reap;
  reap.journalPath = options.journal;
  reap.backends = options.backends;
  reap.cleanup.gracePeriod = grace.value();
  reap.cleanup.dryRun = options.dryRun;
  Result<CleanupReport> report = reapRun(options.runId, reap);
  if (!report.ok()) {
    err << "cleanroom reap: " << report.error().message << '\n';
    return kExitUsage;
  }
  if (options.json) {
    out << report->toJson().dump(2) << '\n';
    if (!report->success) err << report->summary() << '\n';
  } else {
    out << reportTable(*report) << report->summary() << '\n';
  }
  return report->success ? kExitClean : kExitLeft;
}

}  // namespace cleanroom::cli
