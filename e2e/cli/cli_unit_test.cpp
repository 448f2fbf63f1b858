// In-process tests of the CLI's parts that need no server: flags → Selector,
// label and state parsing, output formatting, and the command line's exit
// codes for help, version and usage errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "cleanroom/report.h"
#include "cli_app.h"
#include "filter_options.h"
#include "resource_view.h"

namespace cleanroom::cli {
namespace {

using ::testing::HasSubstr;

struct CommandLineRun {
  int exitCode;
  std::string out;
  std::string err;
};

CommandLineRun run(std::vector<const char*> args) {
  args.insert(args.begin(), "cleanroom");
  std::ostringstream out;
  std::ostringstream err;
  const int code = runCommandLine(static_cast<int>(args.size()), args.data(), out, err);
  return {code, out.str(), err.str()};
}

TEST(ToSelector, PrefersRunIdFlagOverTheEnvironment) {
  FilterOptions options;
  options.runId = "from-flag";
  auto selector = toSelector(options, std::string("from-env"));
  ASSERT_TRUE(selector.ok()) << selector.error().describe();
  EXPECT_EQ(selector->runId, "from-flag");
}

TEST(ToSelector, FallsBackToTheEnvironment) {
  auto selector = toSelector(FilterOptions{}, std::string("from-env"));
  ASSERT_TRUE(selector.ok());
  EXPECT_EQ(selector->runId, "from-env");
}

TEST(ToSelector, AllRunsClearsTheRunIdEvenWhenTheEnvironmentHasOne) {
  FilterOptions options;
  options.allRuns = true;
  auto selector = toSelector(options, std::string("from-env"));
  ASSERT_TRUE(selector.ok());
  EXPECT_FALSE(selector->runId.has_value());
}

TEST(ToSelector, RefusesToGuessTheScope) {
  auto selector = toSelector(FilterOptions{}, std::nullopt);
  ASSERT_FALSE(selector.ok());
  EXPECT_THAT(selector.error().message, HasSubstr("--run-id"));
  EXPECT_THAT(selector.error().message, HasSubstr("CLEANROOM_RUN_ID"));
  EXPECT_THAT(selector.error().message, HasSubstr("--all-runs"));
}

TEST(ToSelector, CarriesLabelsAgeAndStates) {
  FilterOptions options;
  options.runId = "r1";
  options.labels = {"team=search", "note=a=b", "empty="};
  options.olderThan = "90s";
  options.states = {"running", "pending"};
  auto selector = toSelector(options, std::nullopt);
  ASSERT_TRUE(selector.ok()) << selector.error().describe();
  EXPECT_EQ(selector->labels, (std::map<std::string, std::string>{{"team", "search"}, {"note", "a=b"}, {"empty", ""}}));
  EXPECT_EQ(selector->minAge, milliseconds(90000));
  EXPECT_EQ(selector->states, (std::set<ResourceState>{ResourceState::Running, ResourceState::Pending}));
}

TEST(ToSelector, RejectsContradictoryLabels) {
  FilterOptions options;
  options.runId = "r1";
  options.labels = {"team=a", "team=b"};
  auto selector = toSelector(options, std::nullopt);
  ASSERT_FALSE(selector.ok());
  EXPECT_THAT(selector.error().message, HasSubstr("--label team"));
}

TEST(ToSelector, NamesTheOlderThanFlag) {
  FilterOptions options;
  options.runId = "r1";
  options.olderThan = "ten minutes";
  auto selector = toSelector(options, std::nullopt);
  ASSERT_FALSE(selector.ok());
  EXPECT_THAT(selector.error().message, HasSubstr("--older-than"));
}

TEST(ParseLabel, NeedsAKeyAndAnEqualsSign) {
  EXPECT_FALSE(parseLabel("team").ok());
  EXPECT_FALSE(parseLabel("=x").ok());
  EXPECT_THAT(parseLabel("team").error().message, HasSubstr("--label"));
  EXPECT_EQ(parseLabel("k=v").value(), std::make_pair(std::string("k"), std::string("v")));
}

TEST(ParseState, AcceptsEveryStateWord) {
  for (const char* word : {"pending", "running", "stopping", "terminal", "gone", "unknown"}) {
    EXPECT_TRUE(parseState(word).ok()) << word;
  }
  auto bad = parseState("Running");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message, HasSubstr("--state"));
}

TEST(FormatTimestamp, PrintsUtcWithMilliseconds) {
  const WallTime time = WallTime(milliseconds(1700000000123));
  EXPECT_EQ(formatTimestamp(time), "2023-11-14T22:13:20.123Z");
}

TEST(ResourceJson, HasStateStatusAndAge) {
  Resource r;
  r.backend = "http";
  r.id = "ag-1";
  r.state = ResourceState::Running;
  r.status = "running";
  r.runId = "r1";
  r.createdAt = WallTime(milliseconds(1000));
  auto json = resourceJson(r, WallTime(milliseconds(3500)));
  EXPECT_EQ(json.at("state"), "running");
  EXPECT_EQ(json.at("ageMs"), 2500);
  EXPECT_EQ(json.at("createdAt"), "1970-01-01T00:00:01.000Z");

  r.createdAt.reset();
  EXPECT_TRUE(resourceJson(r, WallTime()).at("ageMs").is_null());
}

TEST(ResourceTable, AlignsColumns) {
  Resource r;
  r.backend = "http";
  r.id = "ag-1";
  r.state = ResourceState::Stopping;
  r.status = "terminating";
  r.createdAt = WallTime(milliseconds(0));
  const std::string table = resourceTable({r}, WallTime(milliseconds(90000)));
  EXPECT_THAT(table, HasSubstr("BACKEND  ID    NAME  STATE     STATUS       AGE    RUN\n"));
  EXPECT_THAT(table, HasSubstr("http     ag-1  -     stopping  terminating  1m30s  -\n"));
}

TEST(OutcomeWord, SaysWhatHappened) {
  ResourceReport r;
  r.skipped = true;
  EXPECT_EQ(outcomeWord(r, true), "would stop");
  EXPECT_EQ(outcomeWord(r, false), "skipped");
  r.skipped = false;
  r.errors = {"boom"};
  EXPECT_EQ(outcomeWord(r, false), "failed");
  r.errors.clear();
  EXPECT_EQ(outcomeWord(r, false), "left");
  r.cleaned = true;
  EXPECT_EQ(outcomeWord(r, false), "cleaned");
  r.forced = true;
  EXPECT_EQ(outcomeWord(r, false), "forced");
}

TEST(CommandLine, HelpAndVersionExitZero) {
  auto help = run({"--help"});
  EXPECT_EQ(help.exitCode, 0);
  EXPECT_THAT(help.out, HasSubstr("Exit codes"));
  auto version = run({"version"});
  EXPECT_EQ(version.exitCode, 0);
  EXPECT_THAT(version.out, HasSubstr("cleanroom "));
}

TEST(CommandLine, LsTakesSweepsFlagsAndSaysTheyChangeNothing) {
  auto help = run({"ls", "--help"});
  EXPECT_EQ(help.exitCode, 0);
  EXPECT_THAT(help.out, HasSubstr("--dry-run"));
  EXPECT_THAT(help.out, HasSubstr("--fail-fast"));
  EXPECT_THAT(help.out, HasSubstr("ls never changes anything"));
  // The flags parse; the malformed run id is what gets refused (exit 2, named).
  auto parsed = run({"ls", "--dry-run", "--fail-fast", "--json", "--run-id", "bad id!"});
  EXPECT_EQ(parsed.exitCode, 2);
  EXPECT_THAT(parsed.err, HasSubstr("--run-id"));
  EXPECT_THAT(parsed.err, ::testing::Not(HasSubstr("--dry-run")));
}

TEST(CommandLine, WaitTakesJson) {
  auto help = run({"wait", "--help"});
  EXPECT_EQ(help.exitCode, 0);
  EXPECT_THAT(help.out, HasSubstr("--json"));
  // Usage errors stay plain text on stderr, even with --json.
  auto badTimeout = run({"wait", "ag-1", "--timeout", "forever", "--json"});
  EXPECT_EQ(badTimeout.exitCode, 2);
  EXPECT_THAT(badTimeout.err, HasSubstr("--timeout"));
  EXPECT_EQ(badTimeout.out, "");
}

TEST(CommandLine, UsageErrorsExitTwo) {
  EXPECT_EQ(run({}).exitCode, 2);
  EXPECT_EQ(run({"ls", "--run-id", "a", "--all-runs"}).exitCode, 2);
  auto label = run({"ls", "--all-runs", "--label", "nope"});
  EXPECT_EQ(label.exitCode, 2);
  EXPECT_THAT(label.err, HasSubstr("--label"));
}

}  // namespace
}  // namespace cleanroom::cli
