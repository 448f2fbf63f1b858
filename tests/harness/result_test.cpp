#include "cleanroom/result.h"

#include <gtest/gtest.h>

namespace cleanroom {
namespace {

TEST(ResultTest, HoldsAValueOrAnError) {
  Result<int> ok = 7;
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(ok.value(), 7);
  EXPECT_THROW((void)ok.error(), BadResultAccess);

  Result<int> bad = Error::retryable("HTTP 503");
  EXPECT_FALSE(bad.ok());
  EXPECT_TRUE(bad.error().isRetryable());
  EXPECT_THROW((void)bad.value(), BadResultAccess);
}

TEST(StatusTest, DefaultIsSuccess) {
  Status s;
  EXPECT_TRUE(s.ok());
  Status gone = Error::gone("404");
  EXPECT_TRUE(gone.error().isGone());
  EXPECT_EQ(gone.error().describe(), "gone: 404");
}

}  // namespace
}  // namespace cleanroom
