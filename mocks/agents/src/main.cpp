// cleanroom-mock-agents: the agent REST API mock as an executable.
#include <memory>

#include "cleanroom/mocks/agents/agent_api_mock.h"
#include "cleanroom/mocks/mock_main.h"

int main(int argc, char** argv) {
  using namespace cleanroom::mocks;
  AgentApiMockOptions options;
  std::int64_t lingerMs = options.linger.count();
  std::unique_ptr<AgentApiMock> mock;

  MockProgram program;
  program.description = "cleanroom-mock-agents: agent REST API mock with realistic slow agents";
  program.addFlags = [&](CLI::App& app) {
    app.add_option("--linger-ms", lingerMs, "how long terminal agents stay listed")
        ->check(CLI::Range(std::int64_t{0}, std::int64_t{86400000}))
        ->capture_default_str();
  };
  program.start = [&](const MockCommonFlags& flags) {
    options.host = flags.host;
    options.port = flags.port;
    options.linger = std::chrono::milliseconds(lingerMs);
    mock = std::make_unique<AgentApiMock>(options);
    mock->start();
    return mock->url();
  };
  program.stop = [&] { mock->stop(); };
  return runMockProgram(argc, argv, program);
}
