// DockerBackend::createContainer against an in-process server that records
// the create body: labels (cleanroom.run added), Env, Cmd, the name, the
// start, the journal line, and errors that name the request.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "cleanroom/backends/docker_backend.h"
#include "cleanroom/journal.h"
#include "cleanroom/mocks/http_server.h"
#include "cleanroom/run.h"
#include "scoped_env.h"

namespace cleanroom {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

const std::string kId(64, 'c');

// Answers /_ping, create (recording the body and name) and start.
class CreatingDocker {
 public:
  CreatingDocker() : server_(options()) {
    server_.route("GET", "/_ping", [](const mocks::HttpRequest&) {
      auto response = mocks::HttpResponse::text(200, "OK");
      response.headers.set("Api-Version", "1.45");
      return response;
    });
    server_.route("POST", "/{version}/containers/create", [this](const mocks::HttpRequest& r) {
      std::lock_guard<std::mutex> lock(mutex_);
      body_ = nlohmann::json::parse(r.body, nullptr, false);
      name_ = r.queryValue("name").value_or("");
      return mocks::HttpResponse::json(201, {{"Id", kId}, {"Warnings", nlohmann::json::array()}});
    });
    server_.route("POST", "/{version}/containers/{id}/start",
                  [](const mocks::HttpRequest&) { return mocks::HttpResponse::empty(204); });
    server_.start();
  }
  ~CreatingDocker() { server_.stop(); }

  std::string dockerHost() const { return "tcp://127.0.0.1:" + std::to_string(server_.port()); }
  mocks::MockHttpServer& server() { return server_; }
  nlohmann::json body() {
    std::lock_guard<std::mutex> lock(mutex_);
    return body_;
  }
  std::string name() {
    std::lock_guard<std::mutex> lock(mutex_);
    return name_;
  }
  std::vector<std::string> requests() {
    std::vector<std::string> out;
    for (const auto& entry : server_.requestLog().entries()) out.push_back(entry.method + " " + entry.path);
    return out;
  }

 private:
  static mocks::MockHttpServerOptions options() {
    mocks::MockHttpServerOptions options;
    options.name = "creating-docker";
    return options;
  }

  mocks::MockHttpServer server_;
  std::mutex mutex_;
  nlohmann::json body_;
  std::string name_;
};

class CreateContainerTest : public ::testing::Test {
 protected:
  CreateContainerTest() {
    char pattern[] = "/tmp/crdk-create-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
    directory_ = pattern;
    journals_ = std::make_unique<tests::ScopedEnv>(kJournalDirVariable, directory_.string());
    DockerBackendOptions options;
    options.dockerHost = docker_.dockerHost();
    backend_ = std::make_unique<DockerBackend>(options);
  }
  ~CreateContainerTest() override {
    journals_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
  }

  std::filesystem::path directory_;
  std::unique_ptr<tests::ScopedEnv> journals_;
  CreatingDocker docker_;
  std::unique_ptr<DockerBackend> backend_;
};

TEST_F(CreateContainerTest, SendsImageCmdEnvAndLabelsWithTheRunLabelThenStarts) {
  DockerContainerSpec spec;
  spec.image = "alpine:3";
  spec.command = {"sleep", "600"};
  spec.name = "task-1";
  spec.labels = {{"team", "search"}};
  spec.env = {{"CLEANROOM_MOCK_EXIT_DELAY_MS", "200"}, {"MODE", "fast"}};
  spec.runId = "run-create";

  Result<Resource> created = backend_->createContainer(spec);

  ASSERT_TRUE(created.ok()) << created.error().describe();
  EXPECT_EQ(created->backend, "docker");
  EXPECT_EQ(created->id, kId);
  EXPECT_EQ(created->name, "task-1");
  EXPECT_EQ(created->runId, "run-create");
  EXPECT_EQ(created->state, ResourceState::Running);
  EXPECT_EQ(created->status, "running");
  EXPECT_TRUE(created->createdAt.has_value());
  EXPECT_EQ(created->labels, (std::map<std::string, std::string>{{"cleanroom.run", "run-create"}, {"team", "search"}}));

  const nlohmann::json body = docker_.body();
  EXPECT_EQ(body.at("Image"), "alpine:3");
  EXPECT_EQ(body.at("Cmd"), nlohmann::json({"sleep", "600"}));
  EXPECT_THAT(body.at("Env").get<std::vector<std::string>>(),
              UnorderedElementsAre("CLEANROOM_MOCK_EXIT_DELAY_MS=200", "MODE=fast"));
  EXPECT_EQ(body.at("Labels"), nlohmann::json({{"cleanroom.run", "run-create"}, {"team", "search"}}));
  EXPECT_EQ(docker_.name(), "task-1");
  EXPECT_THAT(docker_.requests(), ElementsAre("GET /_ping", "POST /v1.45/containers/create",
                                              "POST /v1.45/containers/" + kId + "/start"));
}

TEST_F(CreateContainerTest, DefaultsToThisRunAndTheImagesCommand) {
  Result<Resource> created = backend_->createContainer({});

  ASSERT_TRUE(created.ok()) << created.error().describe();
  EXPECT_EQ(created->runId, run::id());
  const nlohmann::json body = docker_.body();
  EXPECT_EQ(body.at("Image"), "busybox");
  EXPECT_FALSE(body.contains("Cmd")) << "no command = the image's default";
  EXPECT_EQ(body.at("Labels").at("cleanroom.run"), run::id());
  EXPECT_EQ(docker_.name(), "");
}

TEST_F(CreateContainerTest, StartFalseLeavesItCreated) {
  DockerContainerSpec spec;
  spec.runId = "run-create";
  spec.start = false;

  Result<Resource> created = backend_->createContainer(spec);

  ASSERT_TRUE(created.ok()) << created.error().describe();
  EXPECT_EQ(created->state, ResourceState::Pending);
  EXPECT_EQ(created->status, "created");
  EXPECT_THAT(docker_.requests(), ElementsAre("GET /_ping", "POST /v1.45/containers/create"));
}

TEST_F(CreateContainerTest, RecordsTheContainerInTheRunsJournal) {
  DockerContainerSpec spec;
  spec.runId = "run-journaled";
  spec.name = "journaled";

  Result<Resource> created = backend_->createContainer(spec);
  ASSERT_TRUE(created.ok()) << created.error().describe();

  Result<JournalContents> journal = Journal::read(Journal::pathFor("run-journaled"), "run-journaled");
  ASSERT_TRUE(journal.ok()) << journal.error().describe();
  const std::vector<Resource> outstanding = journal->outstanding();
  ASSERT_EQ(outstanding.size(), 1u);
  EXPECT_EQ(outstanding[0].backend, "docker");
  EXPECT_EQ(outstanding[0].id, kId);
  EXPECT_EQ(outstanding[0].name, "journaled");
  const auto backends = journal->backends();
  ASSERT_EQ(backends.count("docker"), 1u);
  EXPECT_EQ(backends.at("docker").at(0).at("dockerHost"), docker_.dockerHost());
}

TEST_F(CreateContainerTest, ACreateRefusalIsAnErrorNamingTheRequest) {
  docker_.server().faults().addFromJson(
      {{"match", {{"method", "POST"}, {"path", "*/containers/create"}}}, {"status", 409}, {"count", 1}});
  DockerContainerSpec spec;
  spec.name = "taken";

  Result<Resource> created = backend_->createContainer(spec);

  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.error().kind, ErrorKind::Permanent);
  EXPECT_THAT(created.error().message, HasSubstr("POST /v1.45/containers/create?name=taken"));
  EXPECT_THAT(created.error().message, HasSubstr("409"));
}

TEST_F(CreateContainerTest, AStartFailureIsReturnedAndTheContainerStaysJournaled) {
  docker_.server().faults().addFromJson(
      {{"match", {{"method", "POST"}, {"path", "*/start"}}}, {"status", 503}, {"count", 1}});
  DockerContainerSpec spec;
  spec.runId = "run-unstarted";

  Result<Resource> created = backend_->createContainer(spec);

  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.error().kind, ErrorKind::Retryable);
  EXPECT_THAT(created.error().message, HasSubstr("/start"));
  Result<JournalContents> journal = Journal::read(Journal::pathFor("run-unstarted"), "run-unstarted");
  ASSERT_TRUE(journal.ok()) << journal.error().describe();
  EXPECT_EQ(journal->outstanding().size(), 1u) << "the run's cleanup still finds it";
}

TEST_F(CreateContainerTest, AnEmptyImageIsRefused) {
  DockerContainerSpec spec;
  spec.image = "";

  Result<Resource> created = backend_->createContainer(spec);

  ASSERT_FALSE(created.ok());
  EXPECT_THAT(created.error().message, HasSubstr("image"));
  EXPECT_TRUE(docker_.requests().empty());
}

}  // namespace
}  // namespace cleanroom
