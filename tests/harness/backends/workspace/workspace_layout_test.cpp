// WorkspaceLayout: expanding and parsing back path patterns, and rejecting
// patterns and agent ids that could not name files safely.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cleanroom/backends/workspace_backend.h"

namespace cleanroom {
namespace {

using ::testing::HasSubstr;

TEST(WorkspaceLayout, ExpandsBothPlaceholders) {
  WorkspaceLayout layout;
  EXPECT_EQ(WorkspaceLayout::expand(layout.promptPattern, "a1"), "agent_prompt_a1.txt");
  EXPECT_EQ(WorkspaceLayout::expand(layout.logPatterns[0], "a1"), "logs/a1_stream.jsonl");
  EXPECT_EQ(WorkspaceLayout::expand(layout.logPatterns[1], "a1"), "progress/a1_progress.jsonl");
  EXPECT_EQ(WorkspaceLayout::expand(layout.logPatterns[2], "a1"), "findings/a1_findings.jsonl");
}

TEST(WorkspaceLayout, ParsesTheAgentIdBack) {
  EXPECT_EQ(WorkspaceLayout::agentIdOf("agent_prompt_{agent_id}.txt", "agent_prompt_task-7.a.txt"), "task-7.a");
  EXPECT_EQ(WorkspaceLayout::agentIdOf("{id}_stream.jsonl", "x_stream.jsonl"), "x");
  EXPECT_EQ(WorkspaceLayout::agentIdOf("logs/{id}_stream.jsonl", "logs/x_stream.jsonl"), "x");
}

TEST(WorkspaceLayout, ParsesNothingFromFilesOfOtherShapes) {
  EXPECT_EQ(WorkspaceLayout::agentIdOf("{id}_stream.jsonl", "_stream.jsonl"), std::nullopt);
  EXPECT_EQ(WorkspaceLayout::agentIdOf("{id}_stream.jsonl", "x_progress.jsonl"), std::nullopt);
  EXPECT_EQ(WorkspaceLayout::agentIdOf("agent_prompt_{id}.txt", "README.md"), std::nullopt);
  EXPECT_EQ(WorkspaceLayout::agentIdOf("agent_prompt_{id}.txt", "agent_prompt_...txt"), std::nullopt);
  EXPECT_EQ(WorkspaceLayout::agentIdOf("logs/{id}.jsonl", "logs/a/b.jsonl"), std::nullopt);
}

TEST(WorkspaceLayout, DefaultAndCustomLayoutsAreValid) {
  EXPECT_TRUE(WorkspaceLayout{}.validate().ok());
  WorkspaceLayout custom{"prompts/{agent_id}.md", {"{id}.log", "deep/er/{id}-events.jsonl"}, "old/logs"};
  EXPECT_TRUE(custom.validate().ok());
}

TEST(WorkspaceLayout, RejectsBadPatternsNamingThemAndTheFix) {
  struct Case {
    WorkspaceLayout layout;
    std::string expected;
  };
  std::vector<Case> cases = {
      {{"agent_prompt.txt", {}, "archive"}, "\"agent_prompt.txt\" must hold {agent_id} or {id} exactly once"},
      {{"{id}_{agent_id}.txt", {}, "archive"}, "exactly once"},
      {{"{id}/prompt.txt", {}, "archive"}, "has the agent id in a directory; put it in the file name"},
      {{"/etc/{id}.txt", {}, "archive"}, "\"/etc/{id}.txt\" is absolute"},
      {{"p_{id}.txt", {"../{id}.jsonl"}, "archive"}, "\"../{id}.jsonl\" leaves the workspace"},
      {{"p_{id}.txt", {}, ""}, "workspace archiveDir is empty"},
      {{"p_{id}.txt", {}, "../elsewhere"}, "leaves the workspace"},
      {{"p_{id}.txt", {"archive/{id}.jsonl"}, "archive"}, "lies in the archive directory"},
  };
  for (const Case& c : cases) {
    Status status = c.layout.validate();
    ASSERT_FALSE(status.ok()) << c.expected;
    EXPECT_EQ(status.error().kind, ErrorKind::Permanent);
    EXPECT_THAT(status.error().message, HasSubstr(c.expected));
  }
}

TEST(WorkspaceLayout, RejectsAgentIdsThatCouldEscapeTheWorkspace) {
  for (const std::string& id : std::vector<std::string>{"", ".", "..", "../../etc/passwd", "a/b", std::string("a\0b", 3)}) {
    Status status = validateAgentId(id);
    ASSERT_FALSE(status.ok()) << id;
    EXPECT_THAT(status.error().message, HasSubstr("cannot name a workspace file"));
  }
  EXPECT_TRUE(validateAgentId("agent-1.retry_2").ok());
}

TEST(WorkspaceBackendConfig, ConstructorThrowsConfigErrorForABadLayoutOrEmptyRoot) {
  WorkspaceConfig badLayout{"/tmp", WorkspaceLayout{"prompt.txt", {}, "archive"}, true, "run1"};
  EXPECT_THROW(WorkspaceBackend{badLayout}, ConfigError);
  WorkspaceConfig noRoot{"", WorkspaceLayout{}, true, "run1"};
  try {
    WorkspaceBackend backend(noRoot);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("WorkspaceConfig::root"));
  }
}

}  // namespace
}  // namespace cleanroom
