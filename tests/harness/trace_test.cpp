#include "cleanroom/trace.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

namespace cleanroom {
namespace {

TEST(TraceTest, LoggerIsNamedCleanroom) { EXPECT_EQ(logger().name(), "cleanroom"); }

TEST(TraceTest, CaptureKeepsDebugLinesWhateverTheConsoleLevel) {
  ASSERT_TRUE(setLogLevel("error"));
  {
    TraceCapture capture;
    logger().debug("step=test marker=alpha");
    logger().trace("step=test marker=too-fine");
    const std::string text = capture.text();
    EXPECT_NE(text.find("marker=alpha"), std::string::npos);
    EXPECT_EQ(text.find("marker=too-fine"), std::string::npos);
    EXPECT_NE(text.find("cleanroom"), std::string::npos);
  }
  EXPECT_FALSE(logger().should_log(spdlog::level::debug));
  ASSERT_TRUE(setLogLevel("warn"));
}

TEST(TraceTest, NestedCapturesEachSeeTheirLines) {
  TraceCapture outer;
  logger().debug("step=test marker=one");
  {
    TraceCapture inner;
    logger().debug("step=test marker=two");
    EXPECT_EQ(inner.lines().size(), 1u);
  }
  EXPECT_EQ(outer.lines().size(), 2u);
}

TEST(TraceTest, UnknownLevelWordsAreRejected) {
  EXPECT_FALSE(setLogLevel("loud"));
  EXPECT_TRUE(setLogLevel("off"));
  EXPECT_TRUE(setLogLevel("warn"));
}

}  // namespace
}  // namespace cleanroom
