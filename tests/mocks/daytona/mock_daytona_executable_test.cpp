// Runs cleanroom-mock-daytona as a real process: flags, the "listening on"
// line, the ready file, --api-key, the delays, and a clean exit on SIGTERM.
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cleanroom/child_process.h"
#include "cleanroom/clock.h"
#include "cleanroom/wait.h"

namespace cleanroom {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

TEST(MockDaytonaExecutableTest, ServesTheApiAndExitsCleanlyOnSigterm) {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("cr-mock-daytona-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string readyFile = (dir / "ready").string();
  Result<std::unique_ptr<ChildProcess>> mock =
      ChildProcess::spawn({CLEANROOM_MOCK_DAYTONA_EXE, "--port", "0", "--api-key", "exe-key", "--stop-delay-ms",
                           "40", "--ready-file", readyFile, "--log-level", "warn"});
  ASSERT_TRUE(mock.ok()) << mock.error().describe();
  Result<std::string> line = (*mock)->readLine(10s);
  ASSERT_TRUE(line.ok()) << line.error().describe();
  ASSERT_EQ(line->rfind("listening on http://127.0.0.1:", 0), 0u) << *line;
  const std::string url = line->substr(std::string("listening on ").size());
  std::ifstream ready(readyFile);
  std::stringstream written;
  written << ready.rdbuf();
  EXPECT_EQ(written.str(), url);

  httplib::Client client(url);
  EXPECT_EQ(client.Get("/api/sandbox")->status, 401);
  client.set_default_headers({{"Authorization", "Bearer exe-key"}});
  auto created = client.Post("/api/sandbox", R"({"labels":{"cleanroom.run":"x"}})", "application/json");
  ASSERT_EQ(created->status, 200) << created->body;
  const std::string id = json::parse(created->body)["id"];
  EXPECT_EQ(client.Post("/api/sandbox/" + id + "/stop")->status, 200);
  Clock& clock = Clock::system();
  EXPECT_TRUE(waitUntil(clock, clock.now() + 5s, AdaptiveWait{}, [&] {
                return json::parse(client.Get("/api/sandbox/" + id)->body)["state"] == "stopped";
              }).met);

  ChildProcess::Ending ending = (*mock)->stop(5s);
  EXPECT_TRUE(ending.graceful) << ending.description;
  EXPECT_EQ(ending.exitStatus, 0);
  std::filesystem::remove_all(dir);
}

TEST(MockDaytonaExecutableTest, BadFlagsExitWithUsageError) {
  Result<std::unique_ptr<ChildProcess>> mock =
      ChildProcess::spawn({CLEANROOM_MOCK_DAYTONA_EXE, "--stop-delay-ms", "-5"});
  ASSERT_TRUE(mock.ok());
  Result<std::string> line = (*mock)->readLine(10s);
  EXPECT_FALSE(line.ok());  // end of file: it exited without listening
  ChildProcess::Ending ending = (*mock)->stop(5s);
  EXPECT_EQ(ending.exitStatus, 2) << ending.description;
}

}  // namespace
}  // namespace cleanroom
