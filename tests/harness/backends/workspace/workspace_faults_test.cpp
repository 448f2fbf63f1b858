// WorkspaceBackend when file operations fail (injected through FaultyFiles,
// since tests run as root and permission bits do not stop root): one failing
// file never stops the others, every error names the file, the reason and
// what to do, and no log is lost — the original is deleted only after its
// archived copy is complete. Also the cross-filesystem path: EXDEV on rename
// (injected, and real through a symlink to /dev/shm when that is another
// filesystem).
#include <sys/stat.h>

#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cleanroom/trace.h"
#include "workspace_test_support.h"

namespace cleanroom {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;
using tests::FaultyFiles;
using tests::TempDir;
using Op = FaultyFiles::Op;

constexpr const char* kStream = "{\"type\":\"text\",\"text\":\"stream\"}\n";
constexpr const char* kProgress = "{\"step\":1}\n{\"step\":2}\n";
constexpr const char* kFindings = "{\"finding\":\"x\"}\n";

class WorkspaceFaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir.write("agent_prompt_a1.txt", "Do the task.\n");
    dir.write("logs/a1_stream.jsonl", kStream);
    dir.write("progress/a1_progress.jsonl", kProgress);
    dir.write("findings/a1_findings.jsonl", kFindings);
  }
  WorkspaceBackend backend(bool keepLogs = true) {
    return WorkspaceBackend(WorkspaceConfig{dir.path(), WorkspaceLayout{}, keepLogs, "run1", &files});
  }
  std::string path(const std::string& relative) const { return (dir.path() / relative).string(); }
  // Names of temporary copies left in archive/ (there must be none).
  std::vector<std::string> partialCopies() const {
    std::vector<std::string> partial;
    for (const std::string& name : dir.entries("archive")) {
      if (name.find(".partial-") != std::string::npos) partial.push_back(name);
    }
    return partial;
  }
  TempDir dir;
  FaultyFiles files;
};

TEST_F(WorkspaceFaultsTest, OneLogFailingDoesNotStopTheOthers) {
  files.fail(Op::Rename, "progress/a1_progress.jsonl", std::errc::permission_denied);

  WorkspaceCleanup cleanup = backend().cleanAgentFiles("a1");

  EXPECT_FALSE(cleanup.success());
  EXPECT_FALSE(cleanup.logsArchived);
  EXPECT_TRUE(cleanup.promptDeleted);
  EXPECT_THAT(cleanup.archivedFiles, ElementsAre("archive/a1_stream.jsonl", "archive/a1_findings.jsonl"));
  ASSERT_EQ(cleanup.errors.size(), 1u);
  EXPECT_THAT(cleanup.errors[0], AllOf(HasSubstr("\"" + path("progress/a1_progress.jsonl") + "\""),
                                       HasSubstr("Permission denied"), HasSubstr("the original is kept"),
                                       HasSubstr("run the cleanup again")));
  EXPECT_EQ(dir.read("progress/a1_progress.jsonl"), kProgress);
  EXPECT_EQ(dir.read("archive/a1_stream.jsonl"), kStream);
  EXPECT_EQ(dir.read("archive/a1_findings.jsonl"), kFindings);
  EXPECT_FALSE(dir.exists("agent_prompt_a1.txt"));
}

TEST_F(WorkspaceFaultsTest, AFullDiskOnEveryLogIsReportedPerFileAndLosesNothing) {
  files.failWhen(Op::Rename, tests::outsideArchive, std::errc::no_space_on_device);

  WorkspaceCleanup cleanup = backend().cleanAgentFiles("a1");

  EXPECT_FALSE(cleanup.success());
  ASSERT_EQ(cleanup.errors.size(), 3u);
  EXPECT_THAT(cleanup.errors[0], AllOf(HasSubstr(path("logs/a1_stream.jsonl")), HasSubstr("No space left on device"),
                                       HasSubstr("free disk space")));
  EXPECT_THAT(cleanup.errors[1], HasSubstr(path("progress/a1_progress.jsonl")));
  EXPECT_THAT(cleanup.errors[2], HasSubstr(path("findings/a1_findings.jsonl")));
  EXPECT_EQ(dir.read("logs/a1_stream.jsonl"), kStream);
  EXPECT_EQ(dir.read("progress/a1_progress.jsonl"), kProgress);
  EXPECT_EQ(dir.read("findings/a1_findings.jsonl"), kFindings);
  EXPECT_THAT(cleanup.archivedFiles, IsEmpty());
}

TEST_F(WorkspaceFaultsTest, APromptThatCannotBeDeletedIsNamedAndLogsAreStillArchived) {
  files.fail(Op::Remove, "agent_prompt_a1.txt", std::errc::permission_denied);

  WorkspaceCleanup cleanup = backend().cleanAgentFiles("a1");

  EXPECT_FALSE(cleanup.success());
  EXPECT_FALSE(cleanup.promptDeleted);
  EXPECT_TRUE(cleanup.logsArchived);
  EXPECT_EQ(cleanup.archivedFiles.size(), 3u);
  ASSERT_EQ(cleanup.errors.size(), 1u);
  EXPECT_THAT(cleanup.errors[0], AllOf(HasSubstr(path("agent_prompt_a1.txt")), HasSubstr("could not delete"),
                                       HasSubstr("Permission denied"), HasSubstr("fix its permissions")));
  EXPECT_TRUE(dir.exists("agent_prompt_a1.txt"));
}

TEST_F(WorkspaceFaultsTest, AnArchiveDirectoryThatCannotBeCreatedKeepsEveryLog) {
  files.fail(Op::CreateDirectories, "archive", std::errc::read_only_file_system);

  WorkspaceCleanup cleanup = backend().cleanAgentFiles("a1");

  EXPECT_FALSE(cleanup.logsArchived);
  ASSERT_EQ(cleanup.errors.size(), 3u);
  EXPECT_THAT(cleanup.errors[0], AllOf(HasSubstr("could not create the archive directory"),
                                       HasSubstr(path("archive")), HasSubstr("Read-only file system")));
  EXPECT_EQ(dir.read("logs/a1_stream.jsonl"), kStream);
  EXPECT_EQ(dir.read("progress/a1_progress.jsonl"), kProgress);
  EXPECT_EQ(dir.read("findings/a1_findings.jsonl"), kFindings);
}

TEST_F(WorkspaceFaultsTest, KeepLogsFalseReportsALogThatCannotBeDeleted) {
  files.fail(Op::Remove, "findings/a1_findings.jsonl", std::errc::permission_denied);

  WorkspaceCleanup cleanup = backend(/*keepLogs=*/false).cleanAgentFiles("a1");

  EXPECT_FALSE(cleanup.logsArchived);
  EXPECT_TRUE(cleanup.promptDeleted);
  ASSERT_EQ(cleanup.errors.size(), 1u);
  EXPECT_THAT(cleanup.errors[0], HasSubstr(path("findings/a1_findings.jsonl")));
  EXPECT_FALSE(dir.exists("logs/a1_stream.jsonl"));
  EXPECT_TRUE(dir.exists("findings/a1_findings.jsonl"));
}

TEST_F(WorkspaceFaultsTest, AcrossFilesystemsLogsAreCopiedVerifiedThenDeleted) {
  files.failWhen(Op::Rename, tests::outsideArchive, std::errc::cross_device_link);
  TraceCapture trace;

  WorkspaceCleanup cleanup = backend().cleanAgentFiles("a1");

  EXPECT_TRUE(cleanup.success()) << cleanup.describeErrors();
  EXPECT_TRUE(cleanup.logsArchived);
  EXPECT_THAT(cleanup.archivedFiles, ElementsAre("archive/a1_stream.jsonl", "archive/a1_progress.jsonl",
                                                 "archive/a1_findings.jsonl"));
  EXPECT_EQ(dir.read("archive/a1_stream.jsonl"), kStream);
  EXPECT_EQ(dir.read("archive/a1_progress.jsonl"), kProgress);
  EXPECT_EQ(dir.read("archive/a1_findings.jsonl"), kFindings);
  EXPECT_FALSE(dir.exists("logs/a1_stream.jsonl"));
  EXPECT_FALSE(dir.exists("progress/a1_progress.jsonl"));
  EXPECT_FALSE(dir.exists("findings/a1_findings.jsonl"));
  EXPECT_THAT(partialCopies(), IsEmpty());
  EXPECT_THAT(trace.text(), HasSubstr("step=archive ref=workspace/a1 file=logs/a1_stream.jsonl "
                                      "to=archive/a1_stream.jsonl result=ok via=copy"));
  // The original went only after the copy was in place.
  std::vector<std::string> calls = files.calls();
  auto copied = std::find_if(calls.begin(), calls.end(), [](const std::string& c) {
    return c.rfind("copy ", 0) == 0 && c.find("a1_stream.jsonl") != std::string::npos;
  });
  auto deleted = std::find(calls.begin(), calls.end(), "remove " + path("logs/a1_stream.jsonl"));
  ASSERT_NE(copied, calls.end());
  ASSERT_NE(deleted, calls.end());
  EXPECT_LT(copied - calls.begin(), deleted - calls.begin());
}

TEST_F(WorkspaceFaultsTest, AcrossFilesystemsAnEarlierArchiveIsNeverOverwritten) {
  dir.write("archive/a1_stream.jsonl", "earlier run\n");
  files.failWhen(Op::Rename, tests::outsideArchive, std::errc::cross_device_link);

  WorkspaceCleanup cleanup = backend().cleanAgentFiles("a1");

  EXPECT_TRUE(cleanup.success()) << cleanup.describeErrors();
  EXPECT_THAT(cleanup.archivedFiles, Contains("archive/a1_stream.jsonl.1"));
  EXPECT_EQ(dir.read("archive/a1_stream.jsonl"), "earlier run\n");
  EXPECT_EQ(dir.read("archive/a1_stream.jsonl.1"), kStream);
  EXPECT_THAT(partialCopies(), IsEmpty());
}

TEST_F(WorkspaceFaultsTest, AFailedCopyNeverDeletesTheOriginal) {
  files.failWhen(Op::Rename, tests::outsideArchive, std::errc::cross_device_link);
  files.fail(Op::Copy, "logs/a1_stream.jsonl", std::errc::no_space_on_device);
  files.writeBeforeCopyFails(5);  // the disk fills up part-way through

  WorkspaceCleanup cleanup = backend().cleanAgentFiles("a1");

  EXPECT_FALSE(cleanup.success());
  EXPECT_FALSE(cleanup.logsArchived);
  EXPECT_THAT(cleanup.archivedFiles, ElementsAre("archive/a1_progress.jsonl", "archive/a1_findings.jsonl"));
  ASSERT_EQ(cleanup.errors.size(), 1u);
  EXPECT_THAT(cleanup.errors[0], AllOf(HasSubstr(path("logs/a1_stream.jsonl")), HasSubstr("No space left on device"),
                                       HasSubstr("partial copy was removed"), HasSubstr("the original is kept")));
  EXPECT_EQ(dir.read("logs/a1_stream.jsonl"), kStream);
  EXPECT_FALSE(files.called("remove " + path("logs/a1_stream.jsonl")));
  EXPECT_FALSE(dir.exists("archive/a1_stream.jsonl"));
  EXPECT_THAT(partialCopies(), IsEmpty());
}

TEST_F(WorkspaceFaultsTest, ALogThatGrowsDuringTheCopyIsKept) {
  files.failWhen(Op::Rename, tests::outsideArchive, std::errc::cross_device_link);
  files.afterCopy([](const std::filesystem::path& from, const std::filesystem::path&) {
    if (from.filename() == "a1_stream.jsonl") std::ofstream(from, std::ios::app) << "{\"late\":true}\n";
  });

  WorkspaceCleanup cleanup = backend().cleanAgentFiles("a1");

  ASSERT_EQ(cleanup.errors.size(), 1u);
  EXPECT_THAT(cleanup.errors[0], AllOf(HasSubstr(path("logs/a1_stream.jsonl")), HasSubstr("still writing"),
                                       HasSubstr("the original is kept")));
  EXPECT_EQ(dir.read("logs/a1_stream.jsonl"), std::string(kStream) + "{\"late\":true}\n");
  EXPECT_FALSE(dir.exists("archive/a1_stream.jsonl"));
  EXPECT_THAT(partialCopies(), IsEmpty());
  EXPECT_EQ(dir.read("archive/a1_progress.jsonl"), kProgress);
}

TEST_F(WorkspaceFaultsTest, AnOriginalThatCannotBeDeletedAfterTheCopyLeavesBothCopies) {
  files.failWhen(Op::Rename, tests::outsideArchive, std::errc::cross_device_link);
  files.fail(Op::Remove, "logs/a1_stream.jsonl", std::errc::permission_denied);

  WorkspaceCleanup cleanup = backend().cleanAgentFiles("a1");

  EXPECT_FALSE(cleanup.logsArchived);
  EXPECT_THAT(cleanup.archivedFiles, Contains("archive/a1_stream.jsonl"));
  ASSERT_EQ(cleanup.errors.size(), 1u);
  EXPECT_THAT(cleanup.errors[0], AllOf(HasSubstr(path("logs/a1_stream.jsonl")), HasSubstr("Permission denied"),
                                       HasSubstr("both copies exist")));
  EXPECT_EQ(dir.read("logs/a1_stream.jsonl"), kStream);
  EXPECT_EQ(dir.read("archive/a1_stream.jsonl"), kStream);
}

TEST_F(WorkspaceFaultsTest, ACopyThatCannotBeRenamedIntoPlaceIsRemovedAndTheOriginalKept) {
  files.failWhen(Op::Rename, tests::outsideArchive, std::errc::cross_device_link);
  files.fail(Op::Rename, ".a1_findings.jsonl.partial-", std::errc::io_error);

  WorkspaceCleanup cleanup = backend().cleanAgentFiles("a1");

  ASSERT_EQ(cleanup.errors.size(), 1u);
  EXPECT_THAT(cleanup.errors[0], AllOf(StartsWith("\"" + path("findings/a1_findings.jsonl") + "\""),
                                       HasSubstr("could not rename"), HasSubstr(path("archive/a1_findings.jsonl")),
                                       HasSubstr("Input/output error")));
  EXPECT_EQ(dir.read("findings/a1_findings.jsonl"), kFindings);
  EXPECT_FALSE(dir.exists("archive/a1_findings.jsonl"));
  EXPECT_THAT(partialCopies(), IsEmpty());
}

// Real EXDEV: archive/ is a symlink to a directory on /dev/shm (tmpfs), so
// renaming logs/x into archive/ crosses filesystems for real.
TEST(WorkspaceCrossFilesystem, RealMoveToAnotherFilesystemCopiesAndDeletes) {
  struct stat shm {}, tmp {};
  if (::stat("/dev/shm", &shm) != 0 || ::stat(std::filesystem::temp_directory_path().c_str(), &tmp) != 0 ||
      shm.st_dev == tmp.st_dev || ::access("/dev/shm", W_OK) != 0) {
    GTEST_SKIP() << "/dev/shm is not a separate writable filesystem here";
  }
  TempDir workspace;
  TempDir elsewhere("/dev/shm");
  std::filesystem::create_directory_symlink(elsewhere.path(), workspace.path() / "archive");
  workspace.write("logs/a1_stream.jsonl", kStream);
  workspace.write("agent_prompt_a1.txt", "prompt");
  elsewhere.write("a1_stream.jsonl", "earlier run\n");
  WorkspaceBackend backend(WorkspaceConfig{workspace.path(), WorkspaceLayout{}, true, "run1"});
  TraceCapture trace;

  WorkspaceCleanup cleanup = backend.cleanAgentFiles("a1");

  EXPECT_TRUE(cleanup.success()) << cleanup.describeErrors();
  EXPECT_THAT(cleanup.archivedFiles, ElementsAre("archive/a1_stream.jsonl.1"));
  EXPECT_EQ(elsewhere.read("a1_stream.jsonl"), "earlier run\n");
  EXPECT_EQ(elsewhere.read("a1_stream.jsonl.1"), kStream);
  EXPECT_FALSE(workspace.exists("logs/a1_stream.jsonl"));
  EXPECT_FALSE(workspace.exists("agent_prompt_a1.txt"));
  EXPECT_THAT(elsewhere.entries(""), ElementsAre("a1_stream.jsonl", "a1_stream.jsonl.1"));
  EXPECT_THAT(trace.text(), HasSubstr("result=ok via=copy"));
}

// The real WorkspaceFiles never replaces an existing file.
TEST(RealWorkspaceFiles, RenameAndCopyRefuseToReplaceAnExistingFile) {
  TempDir dir;
  dir.write("a", "new");
  dir.write("b", "old");
  WorkspaceFiles& files = WorkspaceFiles::real();

  EXPECT_EQ(files.renameNoReplace(dir.path() / "a", dir.path() / "b"), std::errc::file_exists);
  EXPECT_EQ(files.copyAndSync(dir.path() / "a", dir.path() / "b"), std::errc::file_exists);
  EXPECT_EQ(dir.read("a"), "new");
  EXPECT_EQ(dir.read("b"), "old");
  EXPECT_EQ(files.remove(dir.path() / "missing"), std::errc::no_such_file_or_directory);
  std::uintmax_t size = 0;
  EXPECT_EQ(files.fileSize(dir.path() / "missing", size), std::errc::no_such_file_or_directory);
  EXPECT_FALSE(files.renameNoReplace(dir.path() / "a", dir.path() / "c"));
  EXPECT_EQ(dir.read("c"), "new");
  EXPECT_FALSE(dir.exists("a"));
}

}  // namespace
}  // namespace cleanroom
