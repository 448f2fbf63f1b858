// cleanroom-mock-tmux's parts in-process: command line, session table,
// format expansion, fault plan.
#include <gtest/gtest.h>

#include "cleanroom/mocks/tmux/command_line.h"
#include "cleanroom/mocks/tmux/fault_plan.h"
#include "cleanroom/mocks/tmux/session_table.h"

namespace cleanroom::mocks::tmux {
namespace {

TEST(CommandLineTest, SocketFromSAndL) {
  auto byPath = parseGlobalOptions({"-S", "/x/sock", "ls"});
  ASSERT_TRUE(byPath) << byPath.message();
  EXPECT_EQ(byPath.value().socketPath, "/x/sock");
  EXPECT_EQ(byPath.value().words, std::vector<std::string>{"ls"});
  auto byName = parseGlobalOptions({"-Lname", "ls"});
  ASSERT_TRUE(byName);
  EXPECT_EQ(byName.value().socketPath, socketDirectory() + "/name");
  EXPECT_EQ(parseGlobalOptions({"ls"}).value().socketPath, socketDirectory() + "/default");
  const auto missing = parseGlobalOptions({"-L"});
  EXPECT_FALSE(missing);
  EXPECT_EQ(missing.message().substr(0, 39), "tmux: option requires an argument -- L\n");
}

TEST(CommandLineTest, AliasesPrefixesAndFlags) {
  auto parsed = parseCommand({"new", "-d", "-s", "a", "-e", "A=1", "-eB=2", "echo hi"});
  ASSERT_TRUE(parsed) << parsed.message();
  EXPECT_EQ(parsed.value().name, "new-session");
  EXPECT_TRUE(parsed.value().has('d'));
  EXPECT_EQ(parsed.value().value('s'), "a");
  EXPECT_EQ(parsed.value().allValues('e'), (std::vector<std::string>{"A=1", "B=2"}));
  EXPECT_EQ(parsed.value().args, std::vector<std::string>{"echo hi"});
  EXPECT_EQ(canonicalCommandName("list-s"), "list-sessions");
  EXPECT_EQ(canonicalCommandName("kill"), std::nullopt);
  EXPECT_EQ(parseCommand({"frob"}).message(), "unknown command: frob");
  EXPECT_EQ(parseCommand({"has", "-z"}).message(), "command has-session: unknown flag -z");
  EXPECT_EQ(parseCommand({"has", "-t", "a", "extra"}).message(),
            "command has-session: too many arguments (need at most 0)");
}

TEST(SessionTableTest, SanitisesNames) { EXPECT_EQ(sanitiseSessionName("a.b:c"), "a_b_c"); }

TEST(SessionTableTest, TargetsLikeTmux) {
  SessionTable table;
  table.add("abc", 0, 10, -1);
  EXPECT_EQ(table.findTarget("ab")->name, "abc");
  EXPECT_EQ(table.findTarget("=ab"), nullptr);
  EXPECT_EQ(table.findTarget("abc:0.0")->name, "abc");
  table.add("abd", 0, 11, -1);
  EXPECT_EQ(table.findTarget("ab"), nullptr);
  EXPECT_EQ(table.findTarget("$1")->name, "abd");
  EXPECT_EQ(table.findTarget("")->name, "abd") << "newest session";
  EXPECT_EQ(table.findByPanePid(10)->name, "abc");
  EXPECT_EQ(table.nextDefaultName(), "0");
}

TEST(FormatTest, ExpandsVariablesAndTime) {
  const FormatLookup lookup = [](const std::string& name, std::string& value) {
    if (name == "session_name") value = "s";
    else if (name == "session_created") value = "0";
    else return false;
    return true;
  };
  EXPECT_EQ(expandFormat("#{session_name} #{nope} ## x", lookup), "s  # x");
  EXPECT_EQ(expandFormat("#{t:session_created}", lookup).size(), std::string("Thu Jan  1 00:00:00 1970").size());
}

TEST(FaultPlanTest, FailCountsDownPerCommand) {
  FaultPlan plan;
  plan.arm(parseFaultRule({{"fail", 2}, {"command", "kill-session"}}).value());
  EXPECT_FALSE(plan.nextCall("has-session").failure);
  EXPECT_TRUE(plan.nextCall("kill-session").failure);
  EXPECT_TRUE(plan.nextCall("kill-session").failure);
  EXPECT_FALSE(plan.nextCall("kill-session").failure);
}

TEST(FaultPlanTest, HangOrphanAndClear) {
  FaultPlan plan;
  plan.arm(parseFaultRule({{"hang_ms", 20}}).value());
  plan.arm(parseFaultRule({{"orphan", 1}}).value());
  EXPECT_EQ(plan.nextCall("ls").hang.count(), 20);
  EXPECT_EQ(plan.nextCall("ls").hang.count(), 0);
  plan.arm(parseFaultRule({{"fail", 5}}).value());
  plan.arm(parseFaultRule({{"clear", true}}).value());
  EXPECT_FALSE(plan.nextCall("ls").failure);
  EXPECT_FALSE(plan.takeOrphan());
  EXPECT_FALSE(parseFaultRule({{"fail", 1}, {"hang_ms", 5}}));
  EXPECT_FALSE(parseFaultRules("[{\"bogus\": 1}]"));
}

}  // namespace
}  // namespace cleanroom::mocks::tmux
