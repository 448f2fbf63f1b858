#include "cleanroom/run.h"

#include <gtest/gtest.h>

#include "scoped_env.h"

namespace cleanroom {
namespace {

TEST(RunIdTest, GeneratedIdsAreTwelveHexCharactersAndDiffer) {
  const std::string a = run::generateId();
  const std::string b = run::generateId();
  EXPECT_EQ(a.size(), 12u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(a, b);
  EXPECT_TRUE(run::validateId(a).ok());
}

TEST(RunIdTest, ProcessRunIdIsStableAndValid) {
  EXPECT_EQ(&run::id(), &run::id());
  EXPECT_TRUE(run::validateId(run::id()).ok());
}

TEST(RunIdTest, MalformedIdsAreExplained) {
  auto bad = run::validateId("a.b", "CLEANROOM_RUN_ID");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("CLEANROOM_RUN_ID"), std::string::npos);
  EXPECT_NE(bad.error().message.find("'.'"), std::string::npos);
  EXPECT_FALSE(run::validateId("").ok());
  EXPECT_FALSE(run::validateId(std::string(65, 'a')).ok());
  EXPECT_TRUE(run::validateId("ci-job_42").ok());
}


TEST(RunIdTest, EachGtestShardGetsARunOfItsOwn) {
  tests::ScopedEnv id("CLEANROOM_RUN_ID", "ci-42");
  {
    tests::ScopedEnv shard("GTEST_SHARD_INDEX", "3");
    tests::ScopedEnv total("GTEST_TOTAL_SHARDS", "4");
    EXPECT_EQ(run::idFromEnvironment(), "ci-42_s3");
  }
  {
    tests::ScopedEnv shard("GTEST_SHARD_INDEX", "0");
    tests::ScopedEnv total("GTEST_TOTAL_SHARDS", "1");
    EXPECT_EQ(run::idFromEnvironment(), "ci-42") << "one shard is no sharding";
  }
  tests::ScopedEnv noShard("GTEST_SHARD_INDEX", std::nullopt);
  EXPECT_EQ(run::idFromEnvironment(), "ci-42");
}

TEST(RunIdTest, AnIdTooLongForTheShardSuffixIsNamed) {
  tests::ScopedEnv id("CLEANROOM_RUN_ID", std::string(63, 'a'));
  tests::ScopedEnv shard("GTEST_SHARD_INDEX", "12");
  tests::ScopedEnv total("GTEST_TOTAL_SHARDS", "16");
  try {
    (void)run::idFromEnvironment();
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("shorten CLEANROOM_RUN_ID"), std::string::npos) << e.what();
  }
}

TEST(RunIdTest, WithoutTheVariableEveryCallGeneratesAFreshId) {
  tests::ScopedEnv unset("CLEANROOM_RUN_ID", std::nullopt);
  EXPECT_NE(run::idFromEnvironment(), run::idFromEnvironment());
}

}  // namespace
}  // namespace cleanroom
