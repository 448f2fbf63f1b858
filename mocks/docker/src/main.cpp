// cleanroom-mock-docker: the Docker Engine API mock as an executable.
// Flags: the common ones (--host, --port, --ready-file, --log-level) plus
//   --socket PATH  also serve the API on this Unix socket (DOCKER_HOST=unix://PATH)
//   --no-tcp       serve only the Unix socket (needs --socket)
// TCP is served unless --no-tcp is given, so `--socket PATH` alone serves both.
// The first stdout line is "listening on http://HOST:PORT" (with --no-tcp:
// "listening on unix://PATH"); the ready file holds the same URL. Both are
// written once every endpoint accepts connections.
#include <memory>

#include "cleanroom/mocks/docker/docker_engine_mock.h"
#include "cleanroom/mocks/mock_main.h"

int main(int argc, char** argv) {
  using namespace cleanroom::mocks;
  docker::DockerEngineMockOptions options;
  bool noTcp = false;
  std::unique_ptr<docker::DockerEngineMock> mock;

  MockProgram program;
  program.description = "cleanroom-mock-docker: Docker Engine API mock on TCP and/or a Unix socket";
  program.addFlags = [&](CLI::App& app) {
    auto* socket = app.add_option("--socket", options.unixSocketPath,
                                  "also serve the Docker API on this Unix socket (path < 108 bytes)");
    app.add_flag("--no-tcp", noTcp, "serve only the Unix socket")->needs(socket);
  };
  program.start = [&](const MockCommonFlags& flags) {
    options.host = flags.host;
    options.port = flags.port;
    options.tcp = !noTcp;
    mock = std::make_unique<docker::DockerEngineMock>(options);
    mock->start();
    return mock->url();
  };
  program.stop = [&] {
    if (mock) mock->stop();
  };
  return runMockProgram(argc, argv, program);
}
