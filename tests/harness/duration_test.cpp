#include "cleanroom/duration.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cleanroom {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

TEST(DurationTest, ParsesEveryUnit) {
  EXPECT_EQ(parseDuration("250ms").value(), 250ms);
  EXPECT_EQ(parseDuration("90s").value(), 90s);
  EXPECT_EQ(parseDuration("30m").value(), 30min);
  EXPECT_EQ(parseDuration("24h").value(), 24h);
  EXPECT_EQ(parseDuration("2d").value(), 48h);
  EXPECT_EQ(parseDuration("0s").value(), 0ms);
}

TEST(DurationTest, ParsesFractions) {
  EXPECT_EQ(parseDuration("1.5s").value(), 1500ms);
  EXPECT_EQ(parseDuration("0.25h").value(), 15min);
  EXPECT_EQ(parseDuration("2.5ms").value(), 3ms);  // rounded to whole milliseconds
}

TEST(DurationTest, RejectsABareNumberNamingWhatAndTheAcceptedForms) {
  Result<milliseconds> parsed = parseDuration("90", "--older-than");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().kind, ErrorKind::Permanent);
  EXPECT_THAT(parsed.error().message,
              AllOf(HasSubstr("--older-than"), HasSubstr("\"90\""), HasSubstr("no unit"), HasSubstr("ms, s, m, h or d"),
                    HasSubstr("90s")));
}

TEST(DurationTest, RejectsMalformedInput) {
  for (const char* text : {"", "-5s", "5x", "s", "1.s", ".5s", "5 s", "1e3ms", "5sec", " 5s", "5s "}) {
    Result<milliseconds> parsed = parseDuration(text, "--timeout");
    ASSERT_FALSE(parsed.ok()) << "accepted \"" << text << "\"";
    EXPECT_EQ(parsed.error().kind, ErrorKind::Permanent);
    EXPECT_THAT(parsed.error().message, HasSubstr("--timeout")) << text;
  }
}

TEST(DurationTest, ErrorsSayWhatIsWrong) {
  EXPECT_THAT(parseDuration("").error().message, HasSubstr("empty"));
  EXPECT_THAT(parseDuration("-5s").error().message, HasSubstr("negative"));
  EXPECT_THAT(parseDuration("5w").error().message, HasSubstr("unknown unit \"w\""));
  EXPECT_THAT(parseDuration("99999999999d").error().message, HasSubstr("too long"));
}

TEST(DurationTest, FormatsShortForms) {
  EXPECT_EQ(formatDuration(0ms), "0ms");
  EXPECT_EQ(formatDuration(850ms), "850ms");
  EXPECT_EQ(formatDuration(2500ms), "2.5s");
  EXPECT_EQ(formatDuration(1234ms), "1.234s");
  EXPECT_EQ(formatDuration(2s), "2s");
  EXPECT_EQ(formatDuration(3min + 10s), "3m10s");
  EXPECT_EQ(formatDuration(3min), "3m");
  EXPECT_EQ(formatDuration(5h + 2min + 7s), "5h2m");
  EXPECT_EQ(formatDuration(51h), "2d3h");
  EXPECT_EQ(formatDuration(48h), "2d");
  EXPECT_EQ(formatDuration(-1500ms), "-1.5s");
}

TEST(DurationTest, SingleUnitFormsRoundTrip) {
  for (milliseconds d : {milliseconds(850), milliseconds(2500), milliseconds(3min), milliseconds(48h)}) {
    EXPECT_EQ(parseDuration(formatDuration(d)).value(), d) << formatDuration(d);
  }
}

}  // namespace
}  // namespace cleanroom
