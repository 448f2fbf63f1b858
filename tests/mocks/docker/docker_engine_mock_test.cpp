// DockerEngineMock in-process: the wire protocol as the docker clients see it
// (over TCP with httplib, over the Unix socket with a raw connection), the
// control API and fault injection.
#include "cleanroom/mocks/docker/docker_engine_mock.h"

#include <httplib.h>
#include <stdlib.h>

#include <filesystem>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "raw_http_client.h"

namespace cleanroom::mocks::docker {
namespace {

using nlohmann::json;
using testing::RawHttpConnection;

class TemporaryDirectory {
 public:
  TemporaryDirectory() {
    char pattern[] = "/tmp/crdk-test-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TemporaryDirectory() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

class DockerEngineMockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DockerEngineMockOptions options;
    options.unixSocketPath = directory_.file("docker.sock");
    mock_ = std::make_unique<DockerEngineMock>(options);
    mock_->start();
    client_ = std::make_unique<httplib::Client>(mock_->url());
    client_->set_url_encode(false);  // targets here are already encoded as the clients send them
  }

  // Creates and starts a container named `name`; returns its id.
  std::string run(const std::string& name, const json& body) {
    auto created = client_->Post(("/v1.45/containers/create?name=" + name).c_str(), body.dump(), "application/json");
    EXPECT_TRUE(created);
    EXPECT_EQ(created->status, 201) << created->body;
    const std::string id = json::parse(created->body)["Id"];
    auto started = client_->Post(("/v1.45/containers/" + id + "/start").c_str());
    EXPECT_EQ(started->status, 204);
    return id;
  }

  TemporaryDirectory directory_;
  std::unique_ptr<DockerEngineMock> mock_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(DockerEngineMockTest, PingAnnouncesTheApiVersionOnBothTransports) {
  auto head = client_->Head("/_ping");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->get_header_value("Api-Version"), "1.45");
  EXPECT_EQ(head->get_header_value("Ostype"), "linux");

  auto connection = RawHttpConnection::unixSocket(directory_.file("docker.sock"));
  connection.send("GET /v1.41/_ping HTTP/1.1\r\nHost: docker\r\n\r\n");
  const auto ping = connection.readResponse();
  EXPECT_EQ(ping.status, 200);
  EXPECT_EQ(ping.body, "OK");
  EXPECT_EQ(ping.headers.at("api-version"), "1.45");
  EXPECT_EQ(mock_->unixDockerHost(), "unix://" + directory_.file("docker.sock"));
  EXPECT_EQ(mock_->tcpDockerHost(), "tcp://127.0.0.1:" + std::to_string(mock_->port()));
}

TEST_F(DockerEngineMockTest, VersionAnswersWithAndWithoutPrefix) {
  for (const char* path : {"/version", "/v1.24/version"}) {
    auto version = client_->Get(path);
    ASSERT_TRUE(version);
    EXPECT_EQ(json::parse(version->body)["ApiVersion"], "1.45") << path;
  }
  EXPECT_EQ(client_->Get("/nonsense/version")->status, 404);
}

TEST_F(DockerEngineMockTest, UnknownContainerGetsDockersNotFoundMessage) {
  auto inspect = client_->Get("/v1.45/containers/ghost/json");
  EXPECT_EQ(inspect->status, 404);
  EXPECT_EQ(json::parse(inspect->body), json({{"message", "No such container: ghost"}}));
  EXPECT_EQ(client_->Delete("/containers/ghost?force=1")->status, 404);
}

TEST_F(DockerEngineMockTest, WaitSendsItsHeadersBeforeTheContainerStarts) {
  auto created = client_->Post("/v1.45/containers/create?name=job",
                               R"({"Image":"alpine","Env":["CLEANROOM_MOCK_RUN_MS=20","CLEANROOM_MOCK_EXIT_CODE=4"]})",
                               "application/json");
  ASSERT_EQ(created->status, 201);
  auto waiter = RawHttpConnection::tcp(mock_->port());
  waiter.send("POST /v1.45/containers/job/wait?condition=next-exit HTTP/1.1\r\nHost: d\r\nContent-Length: 0\r\n\r\n");
  const auto headers = waiter.readResponse();  // returns with the headers: nothing has started yet
  EXPECT_EQ(headers.status, 200);
  EXPECT_EQ(headers.headers.at("transfer-encoding"), "chunked");
  EXPECT_EQ(client_->Post("/v1.45/containers/job/start")->status, 204);

  auto waited = client_->Post("/v1.45/containers/job/wait");  // not-running: it has exited by now or soon
  ASSERT_TRUE(waited);
  EXPECT_EQ(json::parse(waited->body), json({{"StatusCode", 4}, {"Error", nullptr}}));
}

TEST_F(DockerEngineMockTest, StopKillAndRemoveFollowDockerStatusCodes) {
  const std::string id = run("svc", {{"Image", "alpine"}, {"Labels", {{"cleanroom.run", "r1"}}}});
  EXPECT_EQ(client_->Delete(("/containers/" + id).c_str())->status, 409);
  EXPECT_EQ(client_->Post("/v1.45/containers/svc/stop?t=5")->status, 204);
  EXPECT_EQ(client_->Post("/v1.45/containers/svc/stop?t=5")->status, 304);
  auto kill = client_->Post("/v1.45/containers/svc/kill");
  EXPECT_EQ(kill->status, 409);
  EXPECT_NE(json::parse(kill->body)["message"].get<std::string>().find("is not running"), std::string::npos);
  auto inspect = json::parse(client_->Get("/v1.45/containers/svc/json")->body);
  EXPECT_EQ(inspect["State"]["Status"], "exited");
  EXPECT_EQ(inspect["State"]["ExitCode"], 143);
  EXPECT_EQ(inspect["Name"], "/svc");
  EXPECT_EQ(inspect["Config"]["Labels"]["cleanroom.run"], "r1");
  EXPECT_EQ(client_->Delete("/v1.45/containers/svc?v=False&link=False&force=True")->status, 204);
  EXPECT_EQ(client_->Get("/v1.45/containers/svc/json")->status, 404);
}

TEST_F(DockerEngineMockTest, ListAcceptsBothFilterEncodings) {
  run("alpha", {{"Image", "alpine"}, {"Labels", {{"cleanroom.run", "r1"}}}});  // docker names have 2+ chars
  run("beta", {{"Image", "alpine"}, {"Labels", {{"cleanroom.run", "r2"}}}});
  // Percent-encoded as the clients send them.
  const std::string mapForm = "%7B%22label%22%3A%7B%22cleanroom.run%3Dr1%22%3Atrue%7D%7D";
  const std::string listForm = "%7B%22label%22%3A+%5B%22cleanroom.run%3Dr1%22%5D%7D";
  for (const auto& encoded : {mapForm, listForm}) {
    auto listed = client_->Get(("/v1.45/containers/json?all=1&filters=" + encoded).c_str());
    ASSERT_EQ(listed->status, 200) << listed->body;
    const auto containers = json::parse(listed->body);
    ASSERT_EQ(containers.size(), 1u);
    EXPECT_EQ(containers[0]["Names"][0], "/alpha");
    EXPECT_EQ(containers[0]["State"], "running");
    EXPECT_TRUE(containers[0]["Created"].is_number_integer());
  }
  auto bad = client_->Get("/containers/json?filters=%7B%22bogus%22%3A%5B%22x%22%5D%7D");
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(json::parse(bad->body)["message"], "invalid filter 'bogus'");
}

TEST_F(DockerEngineMockTest, BadBehaviourVariableIsRejectedAtCreate) {
  auto created = client_->Post("/containers/create", R"({"Image":"alpine","Env":["CLEANROOM_MOCK_RUN_MS=x"]})",
                               "application/json");
  EXPECT_EQ(created->status, 400);
  EXPECT_NE(created->body.find("CLEANROOM_MOCK_RUN_MS"), std::string::npos);
}

TEST_F(DockerEngineMockTest, FaultRulesApplyToDockerRoutes) {
  run("flaky", {{"Image", "alpine"}});
  auto fault = client_->Post("/__cleanroom/faults",
                             R"({"match":{"method":"DELETE","path":"*/containers/*"},"status":503,"count":1})",
                             "application/json");
  ASSERT_EQ(fault->status / 100, 2) << fault->body;
  EXPECT_EQ(client_->Delete("/v1.45/containers/flaky?force=1")->status, 503);
  EXPECT_EQ(client_->Delete("/v1.45/containers/flaky?force=1")->status, 204);
  auto state = json::parse(client_->Get("/__cleanroom/state")->body);
  EXPECT_TRUE(state["containers"].empty());
}

TEST_F(DockerEngineMockTest, StateListsContainersAndResetDropsThem) {
  run("kept", {{"Image", "alpine"}});
  auto state = json::parse(client_->Get("/__cleanroom/state")->body);
  ASSERT_EQ(state["containers"].size(), 1u);
  const int pid = state["containers"][0]["State"]["Pid"];
  EXPECT_GT(pid, 0);
  EXPECT_EQ(client_->Post("/__cleanroom/reset")->status / 100, 2);
  EXPECT_TRUE(json::parse(client_->Get("/__cleanroom/state")->body)["containers"].empty());
  EXPECT_NE(::kill(pid, 0), 0);  // killed and reaped
}

TEST(DockerEngineMockOptionsTest, RejectsASocketPathTooLongAndNoEndpoint) {
  DockerEngineMockOptions tooLong;
  tooLong.unixSocketPath = "/tmp/" + std::string(120, 'x');
  EXPECT_THROW(DockerEngineMock{tooLong}, std::invalid_argument);
  DockerEngineMockOptions nothing;
  nothing.tcp = false;
  EXPECT_THROW(DockerEngineMock{nothing}, std::invalid_argument);
}

}  // namespace
}  // namespace cleanroom::mocks::docker
