#include "cleanroom/journal.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "cleanroom/engine.h"
#include "cleanroom/process_tree.h"
#include "fakes.h"
#include "scoped_env.h"

namespace cleanroom {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::NiceMock;
using ::testing::Return;
using tests::makeResource;
using tests::MockBackend;
using tests::ScopedEnv;

class JournalTest : public ::testing::Test {
 protected:
  JournalTest() {
    std::string pattern = (fs::temp_directory_path() / "cr-journal-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
  }
  ~JournalTest() override { fs::remove_all(dir_); }

  std::vector<std::string> lines(const fs::path& file) {
    std::vector<std::string> out;
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }
  void write(const fs::path& file, const std::string& text) { std::ofstream(file, std::ios::binary) << text; }

  fs::path dir_;
};

TEST_F(JournalTest, RecordsTheOwnerOnceThenEachCreationAndCleaning) {
  Journal journal(dir_ / "sub" / "r1.jsonl", "r1");
  Resource agent = makeResource("a1", "r1");
  ASSERT_TRUE(journal.recordCreated("tmux", {{"socket", "/tmp/x/sock"}}, agent).ok());
  ASSERT_TRUE(journal.recordCreated("tmux", {{"socket", "/tmp/x/sock"}}, makeResource("a2", "r1")).ok());
  ASSERT_TRUE(journal.recordCleaned("tmux", "a1").ok());

  const auto written = lines(dir_ / "sub" / "r1.jsonl");
  ASSERT_EQ(written.size(), 4u);
  const auto owner = nlohmann::json::parse(written[0]);
  EXPECT_EQ(owner["event"], "run");
  EXPECT_EQ(owner["pid"], ::getpid());
  EXPECT_EQ(nlohmann::json::parse(written[1])["locator"]["socket"], "/tmp/x/sock");
  EXPECT_EQ(fs::status(dir_ / "sub" / "r1.jsonl").permissions() & fs::perms::group_read, fs::perms::none);

  Result<JournalContents> read = Journal::read(dir_ / "sub" / "r1.jsonl", "r1");
  ASSERT_TRUE(read.ok()) << read.error().describe();
  EXPECT_EQ(read->runId, "r1");
  EXPECT_TRUE(read->problems.empty());
  const auto outstanding = read->outstanding();
  ASSERT_EQ(outstanding.size(), 1u);
  EXPECT_EQ(outstanding[0].ref(), "tmux/a2");
  EXPECT_EQ(outstanding[0].labels.at(kRunLabel), "r1");
  Result<ProcessIdentity> self = identityOf(::getpid());
  ASSERT_TRUE(self.ok());
  EXPECT_TRUE(read->ownedBy(::getpid(), self->startTime));
  EXPECT_FALSE(read->ownedBy(::getpid(), self->startTime + 1)) << "a reused pid is not the owner";
  EXPECT_EQ(read->backends().at("tmux").size(), 1u);
}

TEST_F(JournalTest, ALastLineCutByACrashIsIgnoredAndReported) {
  const fs::path file = dir_ / "r1.jsonl";
  {
    Journal journal(file, "r1");
    ASSERT_TRUE(journal.recordCreated("http", {}, makeResource("a1", "r1")).ok());
  }
  std::ofstream(file, std::ios::app) << R"({"event":"created","runId":"r1","backend":"http","id":"a2)";
  Result<JournalContents> read = Journal::read(file);
  ASSERT_TRUE(read.ok()) << read.error().describe();
  EXPECT_THAT(read->problems, ElementsAre("line 3: cut off mid-line (ignored)"));
  ASSERT_EQ(read->outstanding().size(), 1u);
  EXPECT_EQ(read->outstanding()[0].id, "a1");
}

TEST_F(JournalTest, AForeignFileOrAnotherRunsJournalIsAnErrorNamingIt) {
  const fs::path foreign = dir_ / "notes.txt";
  write(foreign, "hello\nworld\n");
  Result<JournalContents> read = Journal::read(foreign);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().kind, ErrorKind::Permanent);
  EXPECT_THAT(read.error().message, HasSubstr("notes.txt' is not a cleanroom journal (line 1: not JSON)"));

  const fs::path other = dir_ / "r2.jsonl";
  Journal journal(other, "r2");
  ASSERT_TRUE(journal.recordOwner().ok());
  read = Journal::read(other, "r1");
  ASSERT_FALSE(read.ok());
  EXPECT_THAT(read.error().message, HasSubstr("belongs to run r2, not r1"));

  read = Journal::read(dir_ / "missing.jsonl");
  ASSERT_FALSE(read.ok());
  EXPECT_TRUE(read.error().isGone());

  write(dir_ / "empty.jsonl", "");
  read = Journal::read(dir_ / "empty.jsonl");
  ASSERT_FALSE(read.ok());
  EXPECT_THAT(read.error().message, HasSubstr("holds no complete line"));
}

TEST_F(JournalTest, LinesOfAnotherRunInsideAJournalAreIgnored) {
  const fs::path file = dir_ / "r1.jsonl";
  Journal journal(file, "r1");
  ASSERT_TRUE(journal.recordCreated("http", {}, makeResource("a1", "r1")).ok());
  std::ofstream(file, std::ios::app) << R"({"event":"created","runId":"zz","backend":"http","id":"b1","atMs":0})"
                                     << "\n";
  Result<JournalContents> read = Journal::read(file);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->outstanding().size(), 1u);
  EXPECT_THAT(read->problems, ElementsAre("line 3: belongs to run zz, not r1 (ignored)"));
}

TEST_F(JournalTest, AnUnwritableLocationNamesTheFileAndTheVariable) {
  write(dir_ / "file", "x");
  Journal journal(dir_ / "file" / "r1.jsonl", "r1");
  Status written = journal.recordCreated("http", {}, makeResource("a1", "r1"));
  ASSERT_FALSE(written.ok());
  EXPECT_THAT(written.error().message, HasSubstr("CLEANROOM_JOURNAL_DIR"));
  EXPECT_THAT(written.error().message, HasSubstr((dir_ / "file").string()));
}

TEST_F(JournalTest, PathForFollowsTheJournalDirVariable) {
  {
    ScopedEnv dir(kJournalDirVariable, dir_.string());
    EXPECT_EQ(Journal::pathFor("r1"), dir_ / "r1.jsonl");
  }
  ScopedEnv unset(kJournalDirVariable, std::nullopt);
  EXPECT_EQ(Journal::pathFor("r1"), fs::temp_directory_path() / "cleanroom-journals" / "r1.jsonl");
}

TEST_F(JournalTest, ConcurrentWritersProduceWholeLines) {
  const fs::path file = dir_ / "r1.jsonl";
  Journal journal(file, "r1");
  std::vector<std::thread> writers;
  for (int t = 0; t < 8; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        (void)journal.recordCreated("http", {{"url", "http://127.0.0.1:1"}},
                                    makeResource("t" + std::to_string(t) + "-" + std::to_string(i), "r1"));
      }
    });
  }
  for (auto& w : writers) w.join();
  Result<JournalContents> read = Journal::read(file);
  ASSERT_TRUE(read.ok());
  EXPECT_TRUE(read->problems.empty());
  EXPECT_EQ(read->outstanding().size(), 400u);
  EXPECT_EQ(read->owners().size(), 1u);
}

TEST_F(JournalTest, BackendsJournalWhatTheyCreateAndTheEngineMarksItCleaned) {
  ScopedEnv dir(kJournalDirVariable, dir_.string());
  const std::string run = "journal-" + std::to_string(::getpid());
  auto backend = std::make_shared<NiceMock<MockBackend>>("fake");
  ON_CALL(*backend, locator()).WillByDefault(Return(std::map<std::string, std::string>{{"url", "http://x"}}));
  Resource agent = makeResource("a1", run);
  ASSERT_TRUE(journal::recordCreated(*backend, agent).ok());

  CleanupOptions options;
  options.retry = RetryPolicy::once();
  CleanupEngine engine(options);
  engine.addBackend(backend);
  EXPECT_CALL(*backend, list(::testing::_))
      .WillOnce(Return(std::vector<Resource>{agent}))
      .WillRepeatedly(Return(std::vector<Resource>{}));
  ON_CALL(*backend, requestStop(::testing::_, ::testing::_)).WillByDefault(Return(Status::success()));
  ON_CALL(*backend, probe(::testing::_)).WillByDefault(Return(ResourceStatus{ResourceState::Gone, "deleted"}));
  ASSERT_TRUE(engine.cleanup(Selector::forRun(run)).success);

  Result<JournalContents> read = Journal::read(dir_ / (run + ".jsonl"), run);
  ASSERT_TRUE(read.ok()) << read.error().describe();
  EXPECT_TRUE(read->outstanding().empty());
  ASSERT_EQ(read->entries.size(), 3u);
  EXPECT_EQ(read->entries[1].locator.at("url"), "http://x");
  EXPECT_EQ(read->entries[2].event, "cleaned");

  // A cleanup never creates a journal for a run that has none.
  Resource stranger = makeResource("b1", run + "-other");
  EXPECT_TRUE(journal::recordCleaned(stranger).ok());
  EXPECT_FALSE(fs::exists(dir_ / (run + "-other.jsonl")));
}

}  // namespace
}  // namespace cleanroom
