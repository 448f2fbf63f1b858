// cleanroom-mock-daytona: the Daytona sandbox API mock as an executable.
// The API key is --api-key, else DAYTONA_API_KEY from the environment; with
// neither, any bearer token is accepted.
#include <cstdlib>
#include <memory>

#include "cleanroom/mocks/daytona/daytona_api_mock.h"
#include "cleanroom/mocks/mock_main.h"

int main(int argc, char** argv) {
  using namespace cleanroom::mocks;
  using namespace cleanroom::mocks::daytona;
  DaytonaApiMockOptions options;
  std::int64_t stopDelayMs = options.stopDelay.count();
  std::int64_t deleteDelayMs = options.deleteDelay.count();
  std::int64_t startDelayMs = options.startDelay.count();
  std::int64_t archiveDelayMs = options.archiveDelay.count();
  std::int64_t lingerMs = options.linger.count();
  if (const char* key = std::getenv("DAYTONA_API_KEY")) options.apiKey = key;
  std::unique_ptr<DaytonaApiMock> mock;

  MockProgram program;
  program.description = "cleanroom-mock-daytona: Daytona sandbox API mock (routes under /api/sandbox)";
  program.addFlags = [&](CLI::App& app) {
    const CLI::Range delays(std::int64_t{0}, std::int64_t{86400000});
    app.add_option("--api-key", options.apiKey, "bearer key to accept (default: $DAYTONA_API_KEY; unset = any)");
    app.add_option("--stop-delay-ms", stopDelayMs, "stopping -> stopped")->check(delays)->capture_default_str();
    app.add_option("--delete-delay-ms", deleteDelayMs, "destroying -> destroyed")->check(delays)->capture_default_str();
    app.add_option("--start-delay-ms", startDelayMs, "creating/starting -> started")->check(delays)->capture_default_str();
    app.add_option("--archive-delay-ms", archiveDelayMs, "archiving -> archived")->check(delays)->capture_default_str();
    app.add_option("--linger-ms", lingerMs, "how long destroyed sandboxes answer GET before 404")
        ->check(delays)
        ->capture_default_str();
  };
  program.start = [&](const MockCommonFlags& flags) {
    options.host = flags.host;
    options.port = flags.port;
    options.stopDelay = std::chrono::milliseconds(stopDelayMs);
    options.deleteDelay = std::chrono::milliseconds(deleteDelayMs);
    options.startDelay = std::chrono::milliseconds(startDelayMs);
    options.archiveDelay = std::chrono::milliseconds(archiveDelayMs);
    options.linger = std::chrono::milliseconds(lingerMs);
    mock = std::make_unique<DaytonaApiMock>(options);
    mock->start();
    return mock->url();
  };
  program.stop = [&] { mock->stop(); };
  return runMockProgram(argc, argv, program);
}
