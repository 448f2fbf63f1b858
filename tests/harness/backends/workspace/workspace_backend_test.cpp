// WorkspaceBackend as a Backend: list finds agents with leftover files and
// names them, requestStop cleans, probe says whether files remain, a missing
// workspace is a Permanent error naming it, and the CleanupEngine cleans a
// workspace end to end.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cleanroom/engine.h"
#include "workspace_test_support.h"

namespace cleanroom {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;
using tests::FaultyFiles;
using tests::TempDir;

class WorkspaceBackendTest : public ::testing::Test {
 protected:
  WorkspaceConfig config() { return WorkspaceConfig{dir.path(), WorkspaceLayout{}, true, "run1"}; }
  static Resource agent(const std::string& id) {
    Resource resource;
    resource.backend = "workspace";
    resource.id = id;
    return resource;
  }
  TempDir dir;
};

TEST_F(WorkspaceBackendTest, ListFindsAgentsWithLeftoverFilesAndNamesTheFiles) {
  dir.write("agent_prompt_a1.txt", "prompt");
  dir.write("logs/a1_stream.jsonl", "{}\n");
  dir.write("findings/a2_findings.jsonl", "{}\n");  // a2's prompt is already gone
  dir.write("logs/README.md", "not an agent's log");
  dir.write("archive/a3_stream.jsonl", "{}\n");  // archived: not a leftover
  WorkspaceBackend backend(config());

  Result<std::vector<Resource>> listed = backend.list(Selector::forRun("run1"));

  ASSERT_TRUE(listed.ok()) << listed.error().describe();
  ASSERT_EQ(listed->size(), 2u);
  const Resource& a1 = (*listed)[0];
  EXPECT_EQ(a1.backend, "workspace");
  EXPECT_EQ(a1.id, "a1");
  EXPECT_EQ(a1.ref(), "workspace/a1");
  EXPECT_EQ(a1.name, "agent_prompt_a1.txt");
  EXPECT_EQ(a1.runId, "run1");
  EXPECT_THAT(a1.labels, ElementsAre(Pair(kAgentLabel, "a1"), Pair(kRunLabel, "run1")));
  EXPECT_EQ(a1.state, ResourceState::Running);
  EXPECT_EQ(a1.status, "leftover files: agent_prompt_a1.txt logs/a1_stream.jsonl");
  const Resource& a2 = (*listed)[1];
  EXPECT_EQ(a2.id, "a2");
  EXPECT_EQ(a2.name, "findings/a2_findings.jsonl");
  EXPECT_EQ(a2.status, "leftover files: findings/a2_findings.jsonl");
  EXPECT_TRUE(Selector::forRun("run1").matches(a1, std::chrono::system_clock::now()));
}

TEST_F(WorkspaceBackendTest, ListOfAnotherRunIsEmptyAndAllRunsIncludesThisOne) {
  dir.write("agent_prompt_a1.txt", "prompt");
  WorkspaceBackend backend(config());

  Result<std::vector<Resource>> other = backend.list(Selector::forRun("another-run"));
  Result<std::vector<Resource>> all = backend.list(Selector::allRuns());

  ASSERT_TRUE(other.ok());
  EXPECT_THAT(*other, IsEmpty());
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].id, "a1");
}

TEST_F(WorkspaceBackendTest, ListFollowsACustomLayout) {
  WorkspaceLayout layout{"prompts/{agent_id}.md", {"{id}.log"}, "old"};
  dir.write("prompts/w1.md", "prompt");
  dir.write("w2.log", "{}\n");
  dir.write("agent_prompt_x.txt", "default layout, not this one");
  WorkspaceBackend backend(WorkspaceConfig{dir.path(), layout, true, "run1"});

  Result<std::vector<Resource>> listed = backend.list(Selector::allRuns());

  ASSERT_TRUE(listed.ok()) << listed.error().describe();
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].id, "w1");
  EXPECT_EQ((*listed)[0].name, "prompts/w1.md");
  EXPECT_EQ((*listed)[1].id, "w2");
  EXPECT_EQ((*listed)[1].status, "leftover files: w2.log");
}

TEST_F(WorkspaceBackendTest, AnEmptyWorkspaceListsNothing) {
  WorkspaceBackend backend(config());
  Result<std::vector<Resource>> listed = backend.list(Selector::allRuns());
  ASSERT_TRUE(listed.ok()) << listed.error().describe();
  EXPECT_THAT(*listed, IsEmpty());
}

TEST_F(WorkspaceBackendTest, AMissingWorkspaceIsAPermanentErrorNamingIt) {
  std::filesystem::path missing = dir.path() / "not-created";
  WorkspaceBackend backend(WorkspaceConfig{missing, WorkspaceLayout{}, true, "run1"});

  Result<std::vector<Resource>> listed = backend.list(Selector::allRuns());
  Result<ResourceStatus> probed = backend.probe(agent("a1"));
  Status stopped = backend.requestStop(agent("a1"), StopMode::Graceful);

  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.error().kind, ErrorKind::Permanent);
  EXPECT_THAT(listed.error().message, AllOf(HasSubstr("workspace \"" + missing.string() + "\" does not exist"),
                                            HasSubstr("WorkspaceConfig::root")));
  ASSERT_FALSE(probed.ok());
  EXPECT_THAT(probed.error().message, HasSubstr(missing.string()));
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.error().kind, ErrorKind::Permanent);
  EXPECT_THAT(stopped.error().message, HasSubstr(missing.string()));
}

TEST_F(WorkspaceBackendTest, AFileInTheWayOfTheWorkspaceIsNamedToo) {
  dir.write("plain-file", "x");
  WorkspaceBackend backend(WorkspaceConfig{dir.path() / "plain-file", WorkspaceLayout{}, true, "run1"});
  Result<std::vector<Resource>> listed = backend.list(Selector::allRuns());
  ASSERT_FALSE(listed.ok());
  EXPECT_THAT(listed.error().message, HasSubstr("does not exist or is not a directory"));
}

TEST_F(WorkspaceBackendTest, AnUnreadableLogDirectoryIsNamed) {
  FaultyFiles files;
  files.fail(FaultyFiles::Op::List, "progress", std::errc::permission_denied);
  dir.write("progress/a1_progress.jsonl", "{}\n");
  WorkspaceBackend backend(WorkspaceConfig{dir.path(), WorkspaceLayout{}, true, "run1", &files});

  Result<std::vector<Resource>> listed = backend.list(Selector::allRuns());

  ASSERT_FALSE(listed.ok());
  EXPECT_THAT(listed.error().message, AllOf(HasSubstr((dir.path() / "progress").string()),
                                            HasSubstr("Permission denied"), HasSubstr("fix its permissions")));
}

TEST_F(WorkspaceBackendTest, RequestStopCleansInEitherModeAndProbeThenSaysGone) {
  for (StopMode mode : {StopMode::Graceful, StopMode::Force}) {
    dir.write("agent_prompt_a1.txt", "prompt");
    dir.write("logs/a1_stream.jsonl", "{}\n");
    WorkspaceBackend backend(config());

    Result<ResourceStatus> before = backend.probe(agent("a1"));
    ASSERT_TRUE(before.ok());
    EXPECT_EQ(before->state, ResourceState::Running);
    EXPECT_EQ(before->status, "leftover files: agent_prompt_a1.txt logs/a1_stream.jsonl");

    EXPECT_TRUE(backend.requestStop(agent("a1"), mode).ok()) << toString(mode);
    Result<ResourceStatus> after = backend.probe(agent("a1"));
    ASSERT_TRUE(after.ok());
    EXPECT_EQ(after->state, ResourceState::Gone);
    EXPECT_EQ(after->status, "no files");
    EXPECT_TRUE(backend.requestStop(agent("a1"), mode).ok());  // idempotent
  }
  EXPECT_THAT(dir.entries("archive"), ElementsAre("a1_stream.jsonl", "a1_stream.jsonl.1"));
}

TEST_F(WorkspaceBackendTest, RequestStopReportsEveryFailedFile) {
  FaultyFiles files;
  files.fail(FaultyFiles::Op::Rename, "logs/a1_stream.jsonl", std::errc::no_space_on_device);
  files.fail(FaultyFiles::Op::Remove, "agent_prompt_a1.txt", std::errc::permission_denied);
  dir.write("agent_prompt_a1.txt", "prompt");
  dir.write("logs/a1_stream.jsonl", "{}\n");
  WorkspaceBackend backend(WorkspaceConfig{dir.path(), WorkspaceLayout{}, true, "run1", &files});

  Status stopped = backend.requestStop(agent("a1"), StopMode::Force);

  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.error().kind, ErrorKind::Permanent);
  EXPECT_THAT(stopped.error().message,
              AllOf(HasSubstr("workspace cleanup of agent a1"), HasSubstr("logs/a1_stream.jsonl"),
                    HasSubstr("No space left on device"), HasSubstr("agent_prompt_a1.txt"),
                    HasSubstr("Permission denied")));
  Result<ResourceStatus> probed = backend.probe(agent("a1"));
  ASSERT_TRUE(probed.ok());
  EXPECT_EQ(probed->state, ResourceState::Running);
}

TEST_F(WorkspaceBackendTest, TheEngineCleansAWorkspaceAndReportsEachAgent) {
  for (const std::string id : {"a1", "a2", "a3"}) {
    dir.write("agent_prompt_" + id + ".txt", "prompt");
    dir.write("logs/" + id + "_stream.jsonl", "{\"agent\":\"" + id + "\"}\n");
  }
  CleanupOptions options;
  options.retry = RetryPolicy::once();
  CleanupEngine engine(options);
  engine.addBackend(std::make_shared<WorkspaceBackend>(config()));

  CleanupReport report = engine.cleanup(Selector::forRun("run1"));

  EXPECT_TRUE(report.success) << report.summary();
  ASSERT_EQ(report.resources.size(), 3u);
  for (const ResourceReport& resource : report.resources) EXPECT_TRUE(resource.cleaned) << resource.ref();
  EXPECT_THAT(dir.entries("archive"), ElementsAre("a1_stream.jsonl", "a2_stream.jsonl", "a3_stream.jsonl"));
  EXPECT_EQ(dir.read("archive/a2_stream.jsonl"), "{\"agent\":\"a2\"}\n");
  Result<std::vector<Resource>> after = engine.backend("workspace")->list(Selector::allRuns());
  ASSERT_TRUE(after.ok());
  EXPECT_THAT(*after, IsEmpty());
}

TEST_F(WorkspaceBackendTest, ItsResourcesAreCleanedInTheFilesStage) {
  WorkspaceBackend backend(config());
  EXPECT_EQ(backend.stage(), CleanupStage::Files);
}

TEST_F(WorkspaceBackendTest, TheReportCarriesEachAgentsTeardownRecord) {
  dir.write("agent_prompt_a1.txt", "prompt");
  dir.write("logs/a1_stream.jsonl", "{}\n");
  dir.write("progress/a1_progress.jsonl", "{}\n");
  dir.write("archive/a1_stream.jsonl", "an earlier run's archive\n");
  dir.write("logs/a2_stream.jsonl", "{}\n");  // a2's prompt is already gone
  CleanupOptions options;
  options.retry = RetryPolicy::once();
  CleanupEngine engine(options);
  engine.addBackend(std::make_shared<WorkspaceBackend>(config()));

  CleanupReport report = engine.cleanup(Selector::forRun("run1"));

  EXPECT_TRUE(report.success) << report.summary();
  ASSERT_EQ(report.agents.size(), 2u);
  const AgentTeardown& a1 = report.agents[0];
  EXPECT_EQ(a1.agentId, "a1");
  EXPECT_TRUE(a1.success()) << a1.describe();
  EXPECT_TRUE(a1.promptDeleted);
  EXPECT_TRUE(a1.logsArchived);
  EXPECT_THAT(a1.archivedFiles, UnorderedElementsAre("archive/a1_stream.jsonl.1", "archive/a1_progress.jsonl"));
  EXPECT_THAT(a1.deletedFiles, ElementsAre("agent_prompt_a1.txt"));
  EXPECT_THAT(a1.resources, ElementsAre("workspace/a1"));
  EXPECT_EQ(report.agents[1].agentId, "a2");
  EXPECT_THAT(report.agents[1].archivedFiles, ElementsAre("archive/a2_stream.jsonl"));
  EXPECT_THAT(report.agents[1].deletedFiles, IsEmpty());
}

TEST_F(WorkspaceBackendTest, AFileThatCannotBeCleanedFailsOnlyItsStepAndAgent) {
  FaultyFiles files;
  files.fail(FaultyFiles::Op::Rename, "logs/a1_stream.jsonl", std::errc::no_space_on_device);
  dir.write("agent_prompt_a1.txt", "prompt");
  dir.write("logs/a1_stream.jsonl", "{}\n");
  dir.write("progress/a1_progress.jsonl", "{}\n");
  dir.write("agent_prompt_a2.txt", "prompt");
  CleanupOptions options;
  options.retry = RetryPolicy::once();
  CleanupEngine engine(options);
  engine.addBackend(std::make_shared<WorkspaceBackend>(WorkspaceConfig{dir.path(), WorkspaceLayout{}, true, "run1", &files}));

  CleanupReport report = engine.cleanup(Selector::forRun("run1"));

  EXPECT_FALSE(report.success);
  ASSERT_EQ(report.agents.size(), 2u);
  const AgentTeardown& a1 = report.agents[0];
  EXPECT_FALSE(a1.success());
  EXPECT_TRUE(a1.promptDeleted) << "the prompt is deleted even though a log failed";
  EXPECT_FALSE(a1.logsArchived);
  EXPECT_THAT(a1.archivedFiles, ElementsAre("archive/a1_progress.jsonl"));
  ASSERT_FALSE(a1.errors.empty());
  EXPECT_THAT(a1.errors.front(), AllOf(HasSubstr("logs/a1_stream.jsonl"), HasSubstr("No space left on device")));
  EXPECT_TRUE(dir.exists("logs/a1_stream.jsonl")) << "the log that could not be archived is kept";
  EXPECT_TRUE(report.agents[1].success()) << report.agents[1].describe();
  EXPECT_THAT(report.summary(), HasSubstr("agent a1: session killed, prompt deleted, LOGS LEFT"));
}

}  // namespace
}  // namespace cleanroom
