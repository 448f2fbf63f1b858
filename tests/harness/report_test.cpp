#include "cleanroom/report.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace cleanroom {
namespace {

ResourceReport cleaned(std::string id) {
  ResourceReport r;
  r.backend = "http";
  r.id = std::move(id);
  r.cleaned = true;
  r.attempts = 2;
  r.finalState = ResourceState::Terminal;
  r.finalStatus = "terminated";
  return r;
}

TEST(CleanupReportTest, FinalizeCountsAndDecidesSuccess) {
  CleanupReport report;
  report.resources = {cleaned("a"), cleaned("b")};
  report.resources[1].forced = true;
  report.finalize();
  EXPECT_TRUE(report.success);
  EXPECT_EQ(report.totals.found, 2);
  EXPECT_EQ(report.totals.cleaned, 2);
  EXPECT_EQ(report.totals.forced, 1);
  EXPECT_EQ(report.totals.attempts, 4);

  ResourceReport left = cleaned("c");
  left.cleaned = false;
  left.finalStatus = "running";
  left.age = milliseconds(4200);
  report.resources.push_back(left);
  report.finalize();
  EXPECT_FALSE(report.success);
  EXPECT_EQ(report.totals.remaining, 1);
}

TEST(CleanupReportTest, ErrorsWithoutAResourceFailTheCleanup) {
  CleanupReport report;
  report.errors.push_back("http: list failed: connection refused");
  report.finalize();
  EXPECT_FALSE(report.success);
}

TEST(CleanupReportTest, DryRunSucceedsWhenThePlanCouldBeMade) {
  CleanupReport report;
  report.dryRun = true;
  ResourceReport planned = cleaned("a");
  planned.cleaned = false;
  planned.skipped = true;
  report.resources.push_back(planned);
  report.finalize();
  EXPECT_TRUE(report.success);
  EXPECT_EQ(report.totals.remaining, 1);
}

TEST(CleanupReportTest, SummaryListsWhatIsLeftWithStatusAndAge) {
  CleanupReport report;
  report.selector = "run=abc";
  ResourceReport left = cleaned("ag-1");
  left.cleaned = false;
  left.finalStatus = "terminating";
  left.age = milliseconds(4200);
  left.errors.push_back("forced stop failed: permanent: HTTP 403");
  report.resources = {cleaned("ok"), left};
  report.finalize();
  const std::string text = report.summary();
  EXPECT_NE(text.find("http/ag-1"), std::string::npos);
  EXPECT_NE(text.find("status=terminating"), std::string::npos);
  EXPECT_NE(text.find("age=4.2s"), std::string::npos);
  EXPECT_NE(text.find("HTTP 403"), std::string::npos);
  EXPECT_EQ(text.find("http/ok"), std::string::npos);
}

TEST(CleanupReportTest, JsonCarriesEveryField) {
  CleanupReport report;
  report.runId = "abc";
  ResourceReport r = cleaned("a");
  r.actions.push_back({"stop", 1, milliseconds(3), true, "graceful", {}});
  r.age = milliseconds(1500);
  report.resources = {r};
  report.elapsed = milliseconds(12);
  report.finalize();
  nlohmann::json j = report.toJson();
  EXPECT_EQ(j["runId"], "abc");
  EXPECT_EQ(j["elapsedMs"], 12);
  EXPECT_EQ(j["totals"]["cleaned"], 1);
  EXPECT_EQ(j["resources"][0]["ageMs"], 1500);
  EXPECT_EQ(j["resources"][0]["finalState"], "terminal");
  EXPECT_EQ(j["resources"][0]["actions"][0]["durationMs"], 3);
  EXPECT_EQ(j["success"], true);
}

}  // namespace
}  // namespace cleanroom
