// Runs cleanroom-mock-aws as a real process: flags, the "listening on" line,
// the ready file, credentials from flags, delays, and a clean exit on SIGTERM.
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cleanroom/aws/sigv4.h"
#include "cleanroom/child_process.h"
#include "cleanroom/clock.h"
#include "cleanroom/wait.h"

namespace cleanroom {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

httplib::Result ecsCall(const std::string& url, const std::string& operation, const json& body,
                        const aws::Credentials& credentials) {
  aws::SigningRequest request{"POST", "/", "", {}, body.dump()};
  request.headers = {{"Host", url.substr(std::string("http://").size())},
                     {"X-Amz-Target", "AmazonEC2ContainerServiceV20141113." + operation},
                     {"Content-Type", "application/x-amz-json-1.1"}};
  aws::sign(request, credentials, "us-east-1", "ecs", std::chrono::system_clock::now());
  httplib::Headers headers;
  for (const auto& [name, value] : request.headers) {
    if (name != "Content-Type") headers.emplace(name, value);
  }
  httplib::Client client(url);
  client.set_read_timeout(10, 0);
  return client.Post("/", headers, request.body, "application/x-amz-json-1.1");
}

TEST(MockAwsExecutableTest, ServesEcsWithFlagCredentialsAndExitsCleanlyOnSigterm) {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / ("cr-mock-aws-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string readyFile = (dir / "ready").string();
  Result<std::unique_ptr<ChildProcess>> mock = ChildProcess::spawn(
      {CLEANROOM_MOCK_AWS_EXE, "--port", "0", "--access-key-id", "exe-key", "--secret-access-key", "exe-secret",
       "--task-start-ms", "20", "--task-stop-ms", "20", "--ready-file", readyFile, "--log-level", "warn"});
  ASSERT_TRUE(mock.ok()) << mock.error().describe();
  Result<std::string> line = (*mock)->readLine(10s);
  ASSERT_TRUE(line.ok()) << line.error().describe();
  ASSERT_EQ(line->rfind("listening on http://127.0.0.1:", 0), 0u) << *line;
  const std::string url = line->substr(std::string("listening on ").size());
  std::ifstream ready(readyFile);
  std::stringstream written;
  written << ready.rdbuf();
  EXPECT_EQ(written.str(), url);

  const aws::Credentials good{"exe-key", "exe-secret", ""};
  auto rejected = ecsCall(url, "ListClusters", json::object(), {"cleanroom", "cleanroom-secret", ""});
  ASSERT_TRUE(rejected);
  EXPECT_EQ(json::parse(rejected->body)["__type"], "UnrecognizedClientException");
  ASSERT_EQ(ecsCall(url, "CreateCluster", {{"clusterName", "c"}}, good)->status, 200);
  ASSERT_EQ(ecsCall(url, "RegisterTaskDefinition", {{"family", "f"}, {"containerDefinitions", {{{"name", "m"}}}}}, good)->status, 200);
  auto ran = ecsCall(url, "RunTask", {{"cluster", "c"}, {"taskDefinition", "f"}}, good);
  ASSERT_EQ(ran->status, 200) << ran->body;
  const std::string arn = json::parse(ran->body)["tasks"][0]["taskArn"];
  ASSERT_EQ(ecsCall(url, "StopTask", {{"cluster", "c"}, {"task", arn}}, good)->status, 200);
  Clock& clock = Clock::system();
  EXPECT_TRUE(waitUntil(clock, clock.now() + 10s, AdaptiveWait{}, [&] {
                auto described = ecsCall(url, "DescribeTasks", {{"cluster", "c"}, {"tasks", {arn}}}, good);
                return json::parse(described->body)["tasks"][0]["lastStatus"] == "STOPPED";
              }).met);

  ChildProcess::Ending ending = (*mock)->stop(5s);
  EXPECT_TRUE(ending.graceful) << ending.description;
  EXPECT_EQ(ending.exitStatus, 0);
  std::filesystem::remove_all(dir);
}

TEST(MockAwsExecutableTest, BadFlagsExitWithUsageError) {
  Result<std::unique_ptr<ChildProcess>> mock = ChildProcess::spawn({CLEANROOM_MOCK_AWS_EXE, "--task-start-ms", "soon"});
  ASSERT_TRUE(mock.ok()) << mock.error().describe();
  Result<std::string> line = (*mock)->readLine(10s);
  EXPECT_FALSE(line.ok());  // end of file: it exited without listening
  ChildProcess::Ending ending = (*mock)->stop(10s);
  EXPECT_EQ(ending.exitStatus, 2) << ending.description;
}

}  // namespace
}  // namespace cleanroom
