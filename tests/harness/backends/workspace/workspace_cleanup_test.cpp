// WorkspaceBackend::cleanAgentFiles on real directories: prompt deleted, logs
// archived byte-identical, collisions kept, missing files fine, idempotent,
// custom layouts, keepLogs=false, and a missing workspace or unsafe id named.
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cleanroom/trace.h"
#include "workspace_test_support.h"

namespace cleanroom {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;
using tests::TempDir;

constexpr const char* kStream = "{\"type\":\"text\",\"text\":\"hello\"}\n{\"type\":\"done\"}\n";
constexpr const char* kProgress = "{\"step\":1}\n{\"step\":2}\n";
constexpr const char* kFindings = "{\"finding\":\"x\"}\n";

class WorkspaceCleanupTest : public ::testing::Test {
 protected:
  WorkspaceConfig config(bool keepLogs = true) { return WorkspaceConfig{dir.path(), WorkspaceLayout{}, keepLogs, "run1"}; }
  void writeAgent(const std::string& id) {
    dir.write("agent_prompt_" + id + ".txt", "Do the task.\n");
    dir.write("logs/" + id + "_stream.jsonl", kStream);
    dir.write("progress/" + id + "_progress.jsonl", kProgress);
    dir.write("findings/" + id + "_findings.jsonl", kFindings);
  }
  TempDir dir;
};

TEST_F(WorkspaceCleanupTest, DeletesThePromptAndArchivesThreeLogsByteIdentical) {
  writeAgent("a1");
  WorkspaceBackend backend(config());
  TraceCapture trace;

  WorkspaceCleanup cleanup = backend.cleanAgentFiles("a1");

  EXPECT_TRUE(cleanup.success()) << cleanup.describeErrors();
  EXPECT_EQ(cleanup.agentId, "a1");
  EXPECT_TRUE(cleanup.promptDeleted);
  EXPECT_TRUE(cleanup.logsArchived);
  EXPECT_THAT(cleanup.archivedFiles, ElementsAre("archive/a1_stream.jsonl", "archive/a1_progress.jsonl",
                                                 "archive/a1_findings.jsonl"));
  EXPECT_THAT(cleanup.deletedFiles, ElementsAre("agent_prompt_a1.txt"));
  EXPECT_FALSE(dir.exists("agent_prompt_a1.txt"));
  EXPECT_FALSE(dir.exists("logs/a1_stream.jsonl"));
  EXPECT_FALSE(dir.exists("progress/a1_progress.jsonl"));
  EXPECT_FALSE(dir.exists("findings/a1_findings.jsonl"));
  EXPECT_EQ(dir.read("archive/a1_stream.jsonl"), kStream);
  EXPECT_EQ(dir.read("archive/a1_progress.jsonl"), kProgress);
  EXPECT_EQ(dir.read("archive/a1_findings.jsonl"), kFindings);
  EXPECT_THAT(trace.text(), HasSubstr("step=archive ref=workspace/a1 file=logs/a1_stream.jsonl "
                                      "to=archive/a1_stream.jsonl result=ok"));
  EXPECT_THAT(trace.text(), HasSubstr("step=delete ref=workspace/a1 file=agent_prompt_a1.txt result=ok"));
}

TEST_F(WorkspaceCleanupTest, LeavesOtherAgentsFilesAlone) {
  writeAgent("a1");
  writeAgent("a2");
  WorkspaceBackend backend(config());

  ASSERT_TRUE(backend.cleanAgentFiles("a1").success());

  EXPECT_TRUE(dir.exists("agent_prompt_a2.txt"));
  EXPECT_EQ(dir.read("logs/a2_stream.jsonl"), kStream);
  EXPECT_THAT(dir.entries("archive"), ElementsAre("a1_findings.jsonl", "a1_progress.jsonl", "a1_stream.jsonl"));
}

TEST_F(WorkspaceCleanupTest, KeepLogsFalseDeletesTheLogsAndArchivesNothing) {
  writeAgent("a1");
  WorkspaceBackend backend(config(/*keepLogs=*/false));

  WorkspaceCleanup cleanup = backend.cleanAgentFiles("a1");

  EXPECT_TRUE(cleanup.success()) << cleanup.describeErrors();
  EXPECT_TRUE(cleanup.promptDeleted);
  EXPECT_TRUE(cleanup.logsArchived);
  EXPECT_THAT(cleanup.archivedFiles, IsEmpty());
  EXPECT_THAT(cleanup.deletedFiles, UnorderedElementsAre("agent_prompt_a1.txt", "logs/a1_stream.jsonl",
                                                         "progress/a1_progress.jsonl", "findings/a1_findings.jsonl"));
  EXPECT_THAT(dir.entries("logs"), IsEmpty());
  EXPECT_THAT(dir.entries("progress"), IsEmpty());
  EXPECT_THAT(dir.entries("findings"), IsEmpty());
  EXPECT_FALSE(dir.exists("archive"));
}

TEST_F(WorkspaceCleanupTest, AnEarlierArchiveIsNeverOverwritten) {
  dir.write("archive/a1_stream.jsonl", "earlier run\n");
  dir.write("archive/a1_stream.jsonl.1", "run before that\n");
  writeAgent("a1");
  WorkspaceBackend backend(config());

  WorkspaceCleanup cleanup = backend.cleanAgentFiles("a1");

  EXPECT_TRUE(cleanup.success()) << cleanup.describeErrors();
  EXPECT_THAT(cleanup.archivedFiles, ElementsAre("archive/a1_stream.jsonl.2", "archive/a1_progress.jsonl",
                                                 "archive/a1_findings.jsonl"));
  EXPECT_EQ(dir.read("archive/a1_stream.jsonl"), "earlier run\n");
  EXPECT_EQ(dir.read("archive/a1_stream.jsonl.1"), "run before that\n");
  EXPECT_EQ(dir.read("archive/a1_stream.jsonl.2"), kStream);
}

TEST_F(WorkspaceCleanupTest, TheSameAgentIdTwiceKeepsBothArchives) {
  WorkspaceBackend backend(config());
  writeAgent("a1");
  ASSERT_TRUE(backend.cleanAgentFiles("a1").success());
  dir.write("logs/a1_stream.jsonl", "second life\n");

  WorkspaceCleanup cleanup = backend.cleanAgentFiles("a1");

  EXPECT_TRUE(cleanup.success()) << cleanup.describeErrors();
  EXPECT_THAT(cleanup.archivedFiles, ElementsAre("archive/a1_stream.jsonl.1"));
  EXPECT_EQ(dir.read("archive/a1_stream.jsonl"), kStream);
  EXPECT_EQ(dir.read("archive/a1_stream.jsonl.1"), "second life\n");
}

TEST_F(WorkspaceCleanupTest, MissingFilesAreStillSuccess) {
  WorkspaceBackend backend(config());
  TraceCapture trace;

  WorkspaceCleanup cleanup = backend.cleanAgentFiles("never-ran");

  EXPECT_TRUE(cleanup.success()) << cleanup.describeErrors();
  EXPECT_TRUE(cleanup.promptDeleted);
  EXPECT_TRUE(cleanup.logsArchived);
  EXPECT_THAT(cleanup.archivedFiles, IsEmpty());
  EXPECT_THAT(cleanup.deletedFiles, IsEmpty());
  EXPECT_FALSE(dir.exists("archive"));  // nothing to archive, nothing created
  EXPECT_THAT(trace.text(), HasSubstr("step=archive ref=workspace/never-ran file=logs/never-ran_stream.jsonl "
                                      "result=missing"));
}

TEST_F(WorkspaceCleanupTest, SomeFilesMissingTheRestAreCleaned) {
  dir.write("progress/a1_progress.jsonl", kProgress);
  WorkspaceBackend backend(config());

  WorkspaceCleanup cleanup = backend.cleanAgentFiles("a1");

  EXPECT_TRUE(cleanup.success()) << cleanup.describeErrors();
  EXPECT_TRUE(cleanup.promptDeleted);
  EXPECT_THAT(cleanup.archivedFiles, ElementsAre("archive/a1_progress.jsonl"));
  EXPECT_EQ(dir.read("archive/a1_progress.jsonl"), kProgress);
}

TEST_F(WorkspaceCleanupTest, ASecondCleanupIsANoOp) {
  writeAgent("a1");
  WorkspaceBackend backend(config());
  ASSERT_TRUE(backend.cleanAgentFiles("a1").success());
  std::vector<std::string> archiveBefore = dir.entries("archive");

  WorkspaceCleanup again = backend.cleanAgentFiles("a1");

  EXPECT_TRUE(again.success()) << again.describeErrors();
  EXPECT_TRUE(again.promptDeleted);
  EXPECT_TRUE(again.logsArchived);
  EXPECT_THAT(again.archivedFiles, IsEmpty());
  EXPECT_THAT(again.deletedFiles, IsEmpty());
  EXPECT_EQ(dir.entries("archive"), archiveBefore);
  EXPECT_EQ(dir.read("archive/a1_stream.jsonl"), kStream);
}

TEST_F(WorkspaceCleanupTest, ACustomLayoutIsFollowed) {
  WorkspaceLayout layout{"prompts/{agent_id}.md", {"{id}.log", "events/{id}-events.jsonl"}, "old/logs"};
  dir.write("prompts/w7.md", "prompt");
  dir.write("w7.log", "log line\n");
  dir.write("events/w7-events.jsonl", kStream);
  dir.write("agent_prompt_w7.txt", "not in this layout");
  WorkspaceBackend backend(WorkspaceConfig{dir.path(), layout, true, "run1"});

  WorkspaceCleanup cleanup = backend.cleanAgentFiles("w7");

  EXPECT_TRUE(cleanup.success()) << cleanup.describeErrors();
  EXPECT_THAT(cleanup.archivedFiles, ElementsAre("old/logs/w7.log", "old/logs/w7-events.jsonl"));
  EXPECT_THAT(cleanup.deletedFiles, ElementsAre("prompts/w7.md"));
  EXPECT_EQ(dir.read("old/logs/w7.log"), "log line\n");
  EXPECT_EQ(dir.read("old/logs/w7-events.jsonl"), kStream);
  EXPECT_FALSE(dir.exists("prompts/w7.md"));
  EXPECT_TRUE(dir.exists("agent_prompt_w7.txt"));
  EXPECT_FALSE(dir.exists("archive"));
}

TEST_F(WorkspaceCleanupTest, ThePiecesCanBeCalledOneByOne) {
  writeAgent("a1");
  WorkspaceBackend backend(config());
  WorkspaceCleanup cleanup;

  backend.archiveLogs("a1", cleanup);
  EXPECT_TRUE(cleanup.logsArchived);
  EXPECT_FALSE(cleanup.promptDeleted);
  EXPECT_TRUE(dir.exists("agent_prompt_a1.txt"));

  backend.deletePrompt("a1", cleanup);
  EXPECT_TRUE(cleanup.promptDeleted);
  EXPECT_FALSE(dir.exists("agent_prompt_a1.txt"));
  EXPECT_EQ(cleanup.agentId, "a1");
  EXPECT_EQ(cleanup.archivedFiles.size(), 3u);
  EXPECT_TRUE(cleanup.success());
}

TEST_F(WorkspaceCleanupTest, LogsWithTheSameFileNameInDifferentDirectoriesAreBothKept) {
  WorkspaceLayout layout{"p_{id}.txt", {"run1/{id}.jsonl", "run2/{id}.jsonl"}, "archive"};
  dir.write("run1/w.jsonl", "first\n");
  dir.write("run2/w.jsonl", "second\n");
  WorkspaceBackend backend(WorkspaceConfig{dir.path(), layout, true, "run1"});

  WorkspaceCleanup cleanup = backend.cleanAgentFiles("w");

  EXPECT_TRUE(cleanup.success()) << cleanup.describeErrors();
  EXPECT_THAT(cleanup.archivedFiles, ElementsAre("archive/w.jsonl", "archive/w.jsonl.1"));
  EXPECT_EQ(dir.read("archive/w.jsonl"), "first\n");
  EXPECT_EQ(dir.read("archive/w.jsonl.1"), "second\n");
}

TEST_F(WorkspaceCleanupTest, ConcurrentCleanupsOfOneAgentArchiveEachLogExactlyOnce) {
  writeAgent("a1");
  WorkspaceBackend backend(config());
  constexpr int kThreads = 6;
  std::vector<WorkspaceCleanup> results(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&backend, &results, i] { results[i] = backend.cleanAgentFiles("a1"); });
  }
  for (std::thread& thread : threads) thread.join();

  std::vector<std::string> archived;
  for (const WorkspaceCleanup& result : results) {
    EXPECT_TRUE(result.success()) << result.describeErrors();
    EXPECT_TRUE(result.promptDeleted);
    EXPECT_TRUE(result.logsArchived);
    archived.insert(archived.end(), result.archivedFiles.begin(), result.archivedFiles.end());
  }
  EXPECT_THAT(archived, UnorderedElementsAre("archive/a1_stream.jsonl", "archive/a1_progress.jsonl",
                                             "archive/a1_findings.jsonl"));
  EXPECT_THAT(dir.entries("archive"), ElementsAre("a1_findings.jsonl", "a1_progress.jsonl", "a1_stream.jsonl"));
  EXPECT_EQ(dir.read("archive/a1_stream.jsonl"), kStream);
}

TEST(WorkspaceCleanupErrors, AWorkspaceThatDoesNotExistIsNamedWithWhatToDo) {
  std::filesystem::path missing;
  {
    TempDir gone;
    missing = gone.path() / "no-such-workspace";
  }
  WorkspaceBackend backend(WorkspaceConfig{missing, WorkspaceLayout{}, true, "run1"});

  WorkspaceCleanup cleanup = backend.cleanAgentFiles("a1");

  EXPECT_FALSE(cleanup.success());
  EXPECT_FALSE(cleanup.promptDeleted);
  EXPECT_FALSE(cleanup.logsArchived);
  ASSERT_EQ(cleanup.errors.size(), 1u);
  EXPECT_THAT(cleanup.errors[0], HasSubstr("workspace \"" + missing.string() + "\" does not exist"));
  EXPECT_THAT(cleanup.errors[0], HasSubstr("create it, or pass the directory the agents write"));
  EXPECT_FALSE(std::filesystem::exists(missing));  // cleanup did not create it
}

TEST(WorkspaceCleanupErrors, AnUnsafeAgentIdTouchesNothing) {
  TempDir dir;
  dir.write("workspace/logs/x_stream.jsonl", kStream);
  dir.write("agent_prompt_..txt", "outside");
  WorkspaceBackend backend(WorkspaceConfig{dir.path() / "workspace", WorkspaceLayout{}, true, "run1"});

  for (const std::string id : {"../workspace/logs/x", "..", ""}) {
    WorkspaceCleanup cleanup = backend.cleanAgentFiles(id);
    EXPECT_FALSE(cleanup.success()) << id;
    ASSERT_EQ(cleanup.errors.size(), 1u);
    EXPECT_THAT(cleanup.errors[0], HasSubstr("cannot name a workspace file"));
  }
  EXPECT_EQ(dir.read("workspace/logs/x_stream.jsonl"), kStream);
  EXPECT_TRUE(dir.exists("agent_prompt_..txt"));
  EXPECT_FALSE(dir.exists("workspace/archive"));
}

}  // namespace
}  // namespace cleanroom
