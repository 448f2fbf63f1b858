#include "cleanroom/pipeline.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cleanroom/trace.h"
#include "manual_clock.h"
#include "event_log.h"

namespace cleanroom {
namespace {

using tests::ManualClock;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Outcome = StepReport::Outcome;

using tests::EventLog;
using tests::Signal;

PipelineStep step(std::string name, std::function<Status(const StepContext&)> run) {
  PipelineStep s;
  s.name = std::move(name);
  s.run = std::move(run);
  return s;
}

PipelineStep succeeding(std::string name) {
  return step(std::move(name), [](const StepContext&) { return Status::success(); });
}

PipelineStep failing(std::string name) {
  return step(std::move(name), [](const StepContext&) -> Status { return Error::permanent("HTTP 400 bad target"); });
}

PipelineStep logged(std::string name, EventLog& log) {
  return step(name, [name, &log](const StepContext&) {
    log.add("start:" + name);
    log.add("end:" + name);
    return Status::success();
  });
}

Pipeline define(std::vector<PipelineStep> steps) {
  auto p = Pipeline::define("session-cleanup", std::move(steps));
  if (!p.ok()) throw std::logic_error(p.error().describe());
  return std::move(p).value();
}

std::string defineError(std::vector<PipelineStep> steps) {
  auto p = Pipeline::define("session-cleanup", std::move(steps));
  return p.ok() ? std::string("(defined)") : p.error().describe();
}

RetryPolicy noJitter(int attempts) {
  RetryPolicy p;
  p.maxAttempts = attempts;
  p.initialDelay = milliseconds(20);
  p.multiplier = 2;
  p.jitter = 0;
  p.deadline = milliseconds(30000);
  return p;
}

TEST(PipelineTest, StepsStartOnlyAfterWhatTheyWaitForFinished) {
  EventLog log;
  // upload ∥ deregister ∥ release → stop → mark
  auto stop = logged("stop-task", log);
  stop.after = {"upload-logs", "release-state"};
  stop.needs = {"deregister-target"};
  auto mark = logged("mark-cleaned", log);
  mark.needs = {"stop-task"};
  ManualClock clock;
  const Pipeline p = define({logged("upload-logs", log), logged("deregister-target", log), logged("release-state", log),
                             stop, mark});

  const PipelineReport report = p.run("s1", clock);

  EXPECT_TRUE(report.ok) << report.summary();
  ASSERT_EQ(log.events().size(), 10u);
  for (const char* first : {"upload-logs", "deregister-target", "release-state"}) {
    EXPECT_LT(log.indexOf(std::string("end:") + first), log.indexOf("start:stop-task")) << first;
  }
  EXPECT_LT(log.indexOf("end:stop-task"), log.indexOf("start:mark-cleaned"));
}

TEST(PipelineTest, IndependentStepsRunAtTheSameTime) {
  Signal arrived;
  auto meet = [&](const StepContext&) -> Status {
    arrived.post();
    // Both must be running for this to end: neither finishes before the other started.
    return arrived.waitFor(2) ? Status::success() : Error::permanent("the other step never ran alongside");
  };
  EventLog log;
  auto last = logged("stop-task", log);
  last.needs = {"upload-logs", "deregister-target"};
  ManualClock clock;
  const Pipeline p = define({step("upload-logs", meet), step("deregister-target", meet), last});

  const PipelineReport report = p.run("s1", clock);

  EXPECT_TRUE(report.ok) << report.summary();
  EXPECT_EQ(report.step("stop-task")->outcome, Outcome::Ok);
}

TEST(PipelineTest, SeveralStepsMaySleepOnOneManualClockAtOnce) {
  Signal arrived;
  auto sleeper = [&](const StepContext& c) -> Status {
    arrived.post();
    if (!arrived.waitFor(2)) return Error::permanent("not concurrent");
    c.clock.sleepUntil(c.clock.now() + milliseconds(100));
    return Status::success();
  };
  ManualClock clock;
  const Pipeline p = define({step("a", sleeper), step("b", sleeper)});

  const PipelineReport report = p.run("s1", clock);

  EXPECT_TRUE(report.ok) << report.summary();
  EXPECT_GE(clock.elapsed(), milliseconds(100));
  EXPECT_LE(clock.elapsed(), milliseconds(200));
}

TEST(PipelineTest, NeedsSkipsStepsWhenWhatTheyNeedFailed) {
  std::atomic<int> calls{0};
  auto counted = [&](const StepContext&) {
    ++calls;
    return Status::success();
  };
  auto stop = step("stop-task", counted);
  stop.needs = {"deregister-target"};
  auto mark = step("mark-cleaned", counted);
  mark.needs = {"stop-task"};
  ManualClock clock;
  const Pipeline p = define({failing("deregister-target"), stop, mark});

  const PipelineReport report = p.run("s1", clock);

  EXPECT_FALSE(report.ok);
  EXPECT_EQ(calls.load(), 0);
  EXPECT_EQ(report.step("deregister-target")->outcome, Outcome::Failed);
  EXPECT_EQ(report.step("deregister-target")->error, "permanent: HTTP 400 bad target");
  EXPECT_EQ(report.step("stop-task")->outcome, Outcome::Skipped);
  EXPECT_EQ(report.step("stop-task")->error, "skipped: needs deregister-target which failed");
  EXPECT_EQ(report.step("mark-cleaned")->error, "skipped: needs stop-task which was skipped");
}

TEST(PipelineTest, AfterRunsStepsWhateverWhatTheyFollowDid) {
  EventLog log;
  auto stop = logged("stop-task", log);
  stop.after = {"upload-logs"};
  ManualClock clock;
  const Pipeline p = define({failing("upload-logs"), stop});

  const PipelineReport report = p.run("s1", clock);

  EXPECT_FALSE(report.ok);  // upload-logs is critical
  EXPECT_EQ(report.step("upload-logs")->outcome, Outcome::Failed);
  EXPECT_EQ(report.step("stop-task")->outcome, Outcome::Ok);
  EXPECT_THAT(log.events(), ElementsAre("start:stop-task", "end:stop-task"));
}

TEST(PipelineTest, AStepStillRunningAtItsTimeoutIsAbandonedAndTheRestGoesOn) {
  ManualClock clock;
  Signal hangStarted;
  Signal release;
  std::atomic<bool> lateStepEnded{false};
  auto hang = step("upload-logs", [&](const StepContext&) {
    hangStarted.post();
    release.waitFor(1);  // blocks until the test ends
    lateStepEnded = true;
    return Status::success();
  });
  hang.timeout = milliseconds(1000);
  // Moves the clock past upload-logs' deadline once it is running.
  auto ticker = step("deregister-target", [&](const StepContext& c) {
    hangStarted.waitFor(1);
    c.clock.sleepUntil(c.clock.now() + milliseconds(2000));
    return Status::success();
  });
  ticker.timeout = milliseconds(5000);
  auto stop = succeeding("stop-task");
  stop.after = {"upload-logs", "deregister-target"};
  auto mark = succeeding("mark-logs-uploaded");
  mark.needs = {"upload-logs"};
  const Pipeline p = define({hang, ticker, stop, mark});
  TraceCapture trace;

  const PipelineReport report = p.run("s1", clock);

  EXPECT_FALSE(lateStepEnded.load());  // run() returned while the step was still blocked
  EXPECT_EQ(p.stepsStillRunning(), 1u);
  EXPECT_FALSE(report.ok);
  const StepReport* upload = report.step("upload-logs");
  EXPECT_EQ(upload->outcome, Outcome::TimedOut);
  EXPECT_EQ(upload->attempts, 1);
  EXPECT_GE(upload->duration, milliseconds(1000));
  EXPECT_THAT(upload->error, HasSubstr("timed out after 1000 ms"));
  EXPECT_EQ(report.step("stop-task")->outcome, Outcome::Ok);
  EXPECT_EQ(report.step("mark-logs-uploaded")->error, "skipped: needs upload-logs which timed out");

  release.post();
  EXPECT_TRUE(p.waitForAbandonedSteps(std::chrono::seconds(30)));
  EXPECT_TRUE(lateStepEnded.load());
  EXPECT_EQ(p.stepsStillRunning(), 0u);
  EXPECT_THAT(trace.text(), HasSubstr("step=upload-logs pipeline=session-cleanup session=s1 event=finished-late result=ok"));
}

TEST(PipelineTest, RetryableErrorsAreRetriedUnderTheStepsPolicy) {
  ManualClock clock;
  std::vector<int> attemptsSeen;
  auto flaky = step("deregister-target", [&](const StepContext& c) -> Status {
    attemptsSeen.push_back(c.attempt);
    if (c.attempt < 3) return Error::retryable("Throttling: Rate exceeded");
    return Status::success();
  });
  flaky.retry = noJitter(5);
  const Pipeline p = define({flaky});

  const PipelineReport report = p.run("s1", clock);

  EXPECT_TRUE(report.ok) << report.summary();
  const StepReport* r = report.step("deregister-target");
  EXPECT_EQ(r->attempts, 3);
  EXPECT_THAT(attemptsSeen, ElementsAre(1, 2, 3));
  EXPECT_THAT(r->failures, ElementsAre("attempt 1: retryable: Throttling: Rate exceeded",
                                       "attempt 2: retryable: Throttling: Rate exceeded"));
  EXPECT_EQ(clock.elapsed(), milliseconds(20 + 40));  // the policy's backoff, on the clock
  EXPECT_EQ(r->duration, milliseconds(60));
}

TEST(PipelineTest, PermanentErrorsAreNotRetried) {
  ManualClock clock;
  std::atomic<int> calls{0};
  auto wrong = step("deregister-target", [&](const StepContext&) -> Status {
    ++calls;
    return Error::permanent("TargetGroupNotFound");
  });
  wrong.retry = noJitter(5);
  const Pipeline p = define({wrong});

  const PipelineReport report = p.run("s1", clock);

  EXPECT_FALSE(report.ok);
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(report.step("deregister-target")->attempts, 1);
  EXPECT_EQ(report.step("deregister-target")->outcome, Outcome::Failed);
}

TEST(PipelineTest, RetriesEndAtTheStepsTimeoutNotThePolicysDeadline) {
  ManualClock clock;
  std::vector<milliseconds> remaining;
  auto throttled = step("upload-logs", [&](const StepContext& c) -> Status {
    remaining.push_back(c.remaining());
    return Error::retryable("SlowDown");
  });
  throttled.retry = noJitter(10);
  throttled.retry.initialDelay = milliseconds(40);  // waits 40, then 80: past 100
  throttled.timeout = milliseconds(100);
  const Pipeline p = define({throttled});

  const PipelineReport report = p.run("s1", clock);

  const StepReport* r = report.step("upload-logs");
  EXPECT_EQ(r->outcome, Outcome::Failed);
  EXPECT_EQ(r->attempts, 2);
  EXPECT_EQ(r->error, "retryable: SlowDown");
  EXPECT_THAT(remaining, ElementsAre(milliseconds(100), milliseconds(60)));
  EXPECT_EQ(clock.elapsed(), milliseconds(40));
}

TEST(PipelineTest, AnInformationalFailureKeepsThePipelineOk) {
  ManualClock clock;
  auto upload = failing("upload-logs");
  upload.critical = false;
  const Pipeline p = define({upload, succeeding("stop-task")});

  const PipelineReport report = p.run("s1", clock);

  EXPECT_TRUE(report.ok);
  EXPECT_EQ(report.step("upload-logs")->outcome, Outcome::Failed);
  EXPECT_THAT(report.summary(), HasSubstr("upload-logs [informational] failed"));
}

TEST(PipelineTest, ACriticalFailureFailsThePipeline) {
  ManualClock clock;
  auto upload = failing("upload-logs");
  upload.critical = false;
  const Pipeline p = define({upload, failing("stop-task")});

  const PipelineReport report = p.run("s1", clock);

  EXPECT_FALSE(report.ok);
  EXPECT_THAT(report.summary(), HasSubstr("FAILED"));
  EXPECT_THAT(report.summary(), HasSubstr("stop-task failed 0 ms (permanent: HTTP 400 bad target)"));
}

TEST(PipelineTest, GoneCountsAsAlreadyDone) {
  ManualClock clock;
  std::atomic<int> calls{0};
  auto stop = step("stop-task", [&](const StepContext&) -> Status {
    ++calls;
    return Error::gone("task arn:aws:ecs:eu-west-1:1:task/c/t1 not found");
  });
  stop.retry = noJitter(5);
  auto mark = succeeding("mark-cleaned");
  mark.needs = {"stop-task"};
  const Pipeline p = define({stop, mark});

  const PipelineReport report = p.run("s1", clock);

  EXPECT_TRUE(report.ok) << report.summary();
  EXPECT_EQ(calls.load(), 1);
  const StepReport* r = report.step("stop-task");
  EXPECT_EQ(r->outcome, Outcome::Ok);
  EXPECT_EQ(r->error, "");
  EXPECT_EQ(r->detail, "already done: task arn:aws:ecs:eu-west-1:1:task/c/t1 not found");
  EXPECT_TRUE(r->failures.empty());
  EXPECT_EQ(report.step("mark-cleaned")->outcome, Outcome::Ok);
}

TEST(PipelineTest, AnExceptionIsAFailedStepAndIsNotRetried) {
  ManualClock clock;
  std::atomic<int> calls{0};
  auto throwing = step("release-state", [&](const StepContext&) -> Status {
    ++calls;
    throw std::runtime_error("state file locked");
  });
  throwing.retry = noJitter(5);
  auto mark = succeeding("mark-cleaned");
  mark.needs = {"release-state"};
  const Pipeline p = define({throwing, mark});

  const PipelineReport report = p.run("s1", clock);

  EXPECT_FALSE(report.ok);
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(report.step("release-state")->outcome, Outcome::Failed);
  EXPECT_EQ(report.step("release-state")->error, "exception: state file locked");
  EXPECT_EQ(report.step("mark-cleaned")->outcome, Outcome::Skipped);
}

TEST(PipelineTest, DefinitionMistakesAreErrorsNamingTheStep) {
  auto a = succeeding("a");
  a.after = {"b"};
  auto b = succeeding("b");
  b.needs = {"a"};
  EXPECT_THAT(defineError({a, b, succeeding("c")}), HasSubstr("cycle"));
  EXPECT_THAT(defineError({a, b}), HasSubstr("a → b → a"));

  auto self = succeeding("self");
  self.after = {"self"};
  EXPECT_THAT(defineError({self}), HasSubstr("cycle (self → self)"));

  auto unknown = succeeding("stop-task");
  unknown.needs = {"deregister"};
  EXPECT_EQ(defineError({unknown}),
            "permanent: pipeline 'session-cleanup': step 'stop-task' lists 'deregister' in needs, but no step has "
            "that name; define it or fix the name");

  EXPECT_THAT(defineError({succeeding("a"), succeeding("a")}), HasSubstr("two steps are named 'a'"));
  PipelineStep noRun;
  noRun.name = "x";
  EXPECT_THAT(defineError({noRun}), HasSubstr("step 'x' has no run function"));
  EXPECT_THAT(defineError({succeeding("")}), HasSubstr("a step has no name"));
  auto instant = succeeding("instant");
  instant.timeout = milliseconds(0);
  EXPECT_THAT(defineError({instant}), HasSubstr("step 'instant' has timeout 0 ms"));
}

TEST(PipelineTest, BoundIsTheLongestChainOfTimeouts) {
  auto upload = succeeding("upload-logs");
  upload.timeout = milliseconds(3000);
  auto deregister = succeeding("deregister-target");
  deregister.timeout = milliseconds(1000);
  auto stop = succeeding("stop-task");
  stop.timeout = milliseconds(500);
  stop.after = {"upload-logs", "deregister-target"};
  auto mark = succeeding("mark-cleaned");
  mark.timeout = milliseconds(100);
  mark.needs = {"stop-task"};

  EXPECT_EQ(define({upload, deregister, stop, mark}).bound(), milliseconds(3600));
}

TEST(PipelineTest, RunAllRunsEverySessionWithBoundedConcurrency) {
  ManualClock clock;
  std::mutex mutex;
  std::condition_variable changed;
  int active = 0;
  int peak = 0;
  std::multiset<std::string> seen;
  auto work = step("stop-task", [&](const StepContext& c) -> Status {
    std::unique_lock lock(mutex);
    seen.insert(c.session);
    peak = std::max(peak, ++active);
    changed.notify_all();
    // The first three sessions wait for each other: three run at once.
    const bool together = changed.wait_for(lock, std::chrono::seconds(30), [&] { return peak >= 3; });
    --active;
    return together ? Status::success() : Error::permanent("fewer than 3 sessions ran at once");
  });
  const Pipeline p = define({work, succeeding("mark-cleaned")});
  std::vector<std::string> sessions;
  for (int i = 0; i < 10; ++i) sessions.push_back("s" + std::to_string(i));

  const std::vector<PipelineReport> reports = p.runAll(sessions, clock, 3);

  ASSERT_EQ(reports.size(), sessions.size());
  for (std::size_t i = 0; i < sessions.size(); ++i) {
    EXPECT_EQ(reports[i].session, sessions[i]);
    EXPECT_TRUE(reports[i].ok) << reports[i].summary();
  }
  EXPECT_EQ(peak, 3);
  EXPECT_EQ(seen, std::multiset<std::string>(sessions.begin(), sessions.end()));
}

TEST(PipelineTest, RunAllOfNoSessionsReturnsNoReports) {
  ManualClock clock;
  EXPECT_TRUE(define({succeeding("a")}).runAll({}, clock, 4).empty());
}

TEST(PipelineTest, ReportSerializesEveryStep) {
  ManualClock clock;
  auto upload = step("upload-logs", [](const StepContext& c) -> Status {
    c.clock.sleepUntil(c.clock.now() + milliseconds(30));
    return Status::success();
  });
  auto stop = failing("stop-task");
  stop.after = {"upload-logs"};
  stop.critical = false;
  const Pipeline p = define({upload, stop});

  const nlohmann::json j = p.run("s7", clock).toJson();

  EXPECT_EQ(j["pipeline"], "session-cleanup");
  EXPECT_EQ(j["session"], "s7");
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["elapsedMs"], 30);
  ASSERT_EQ(j["steps"].size(), 2u);
  EXPECT_EQ(j["steps"][0],
            (nlohmann::json{{"name", "upload-logs"}, {"outcome", "ok"}, {"critical", true}, {"attempts", 1},
                            {"startedAtMs", 0}, {"durationMs", 30}, {"error", ""}, {"detail", ""},
                            {"failures", nlohmann::json::array()}}));
  EXPECT_EQ(j["steps"][1]["outcome"], "failed");
  EXPECT_EQ(j["steps"][1]["critical"], false);
  EXPECT_EQ(j["steps"][1]["startedAtMs"], 30);
  EXPECT_EQ(j["steps"][1]["error"], "permanent: HTTP 400 bad target");
  EXPECT_EQ(j["steps"][1]["failures"], nlohmann::json::array({"attempt 1: permanent: HTTP 400 bad target"}));
}

TEST(PipelineTest, EveryStepStartAndEndIsTraced) {
  ManualClock clock;
  auto stop = failing("stop-task");
  stop.after = {"upload-logs"};
  const Pipeline p = define({succeeding("upload-logs"), stop});
  TraceCapture trace;

  (void)p.run("s1", clock);

  const std::string text = trace.text();
  EXPECT_THAT(text, HasSubstr("step=upload-logs pipeline=session-cleanup session=s1 event=start timeout_ms=10000"));
  EXPECT_THAT(text, HasSubstr("step=upload-logs pipeline=session-cleanup session=s1 result=ok ms=0 attempts=1 "
                              "critical=true"));
  EXPECT_THAT(text, HasSubstr("step=stop-task pipeline=session-cleanup session=s1 result=failed ms=0 attempts=1 "
                              "critical=true error=\"permanent: HTTP 400 bad target\""));
  EXPECT_THAT(text, HasSubstr("step=pipeline pipeline=session-cleanup session=s1 result=failed ms=0"));
}

TEST(PipelineTest, OneDefinitionRunsForSeveralSessionsFromSeveralThreads) {
  ManualClock clock;
  EventLog log;
  const Pipeline p = define({logged("a", log)});
  const Pipeline copy = p;  // copies share the definition

  std::thread other([&] { EXPECT_TRUE(copy.run("s2", clock).ok); });
  EXPECT_TRUE(p.run("s1", clock).ok);
  other.join();

  EXPECT_EQ(log.events().size(), 4u);
  EXPECT_EQ(p.stepsStillRunning(), 0u);
}

}  // namespace
}  // namespace cleanroom
