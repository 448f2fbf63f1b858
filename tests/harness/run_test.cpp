#include "cleanroom/run.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace cleanroom
