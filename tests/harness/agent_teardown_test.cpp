#include "cleanroom/agent_teardown.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace cleanroom {
namespace {

using ::testing::HasSubstr;

AgentTeardown cleanAgent() {
  AgentTeardown record;
  record.agentId = "a1";
  record.archivedFiles = {"archive/a1_stream.jsonl", "archive/a1_progress.jsonl"};
  return record;
}

TEST(AgentTeardownTest, NothingFoundIsACleanTeardown) {
  const AgentTeardown record = cleanAgent();
  EXPECT_TRUE(record.success());
  EXPECT_EQ(record.describe(), "a1: session killed, prompt deleted, logs archived (2), no zombies — ok");
}

TEST(AgentTeardownTest, EachCriticalStepDecidesSuccess) {
  for (bool AgentTeardown::*step :
       {&AgentTeardown::sessionKilled, &AgentTeardown::promptDeleted, &AgentTeardown::logsArchived}) {
    AgentTeardown record = cleanAgent();
    record.*step = false;
    EXPECT_FALSE(record.success());
    EXPECT_THAT(record.describe(), HasSubstr("NOT CLEAN"));
  }
}

TEST(AgentTeardownTest, ZombiesAreInformationalUnlessCritical) {
  AgentTeardown record = cleanAgent();
  record.noZombies = false;
  record.zombies = {"4243 [sh] (zombie, parent 1)"};
  EXPECT_TRUE(record.success());
  EXPECT_THAT(record.describe(), HasSubstr("zombies: 4243 [sh] (zombie, parent 1) (informational)"));
  record.zombiesCritical = true;
  EXPECT_FALSE(record.success());
}

TEST(AgentTeardownTest, DescribeNamesSurvivorsAndErrors) {
  AgentTeardown record = cleanAgent();
  record.sessionKilled = false;
  record.survivors = {"4242 sleep 600"};
  record.logsArchived = false;
  record.errors = {"workspace/a1: logs/a1_stream.jsonl: No space left on device"};
  const std::string line = record.describe();
  EXPECT_THAT(line, HasSubstr("STILL RUNNING (4242 sleep 600)"));
  EXPECT_THAT(line, HasSubstr("LOGS LEFT"));
  EXPECT_THAT(line, HasSubstr("\n    workspace/a1: logs/a1_stream.jsonl: No space left on device"));
}

TEST(AgentTeardownTest, SerializesEveryField) {
  AgentTeardown record = cleanAgent();
  record.promptDeleted = false;
  const nlohmann::json json = record.toJson();
  EXPECT_EQ(json["agentId"], "a1");
  EXPECT_EQ(json["success"], false);
  EXPECT_EQ(json["promptDeleted"], false);
  EXPECT_EQ(json["sessionKilled"], true);
  EXPECT_EQ(json["archivedFiles"].size(), 2u);
  for (const char* key : {"logsArchived", "noZombies", "zombiesCritical", "deletedFiles", "survivors", "zombies",
                          "resources", "errors"}) {
    EXPECT_TRUE(json.contains(key)) << key;
  }
}

}  // namespace
}  // namespace cleanroom
