#include "cleanroom/scoped_resource.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <utility>

#include "cleanroom/trace.h"
#include "fakes.h"

namespace cleanroom {
namespace {

using ::testing::_;
using ::testing::AllOf;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::NiceMock;
using ::testing::Return;
using ::testing::Truly;
using tests::makeResource;
using tests::MockBackend;

constexpr const char* kRun = "run-scoped";

ResourceStatus gone() { return {ResourceState::Gone, "removed"}; }

std::vector<std::string> idsOf(const CleanupReport& report) {
  std::vector<std::string> ids;
  for (const auto& r : report.resources) ids.push_back(r.id);
  return ids;
}

// The guarded resource plus a sibling of the same run the guard must never touch.
class ScopedResourceTest : public ::testing::Test {
 protected:
  ScopedResourceTest() {
    options.retry.jitter = 0;
    options.retry.initialDelay = milliseconds(1);
    options.gracePeriod = milliseconds(2000);
    options.forceTimeout = milliseconds(2000);
    ON_CALL(*backend, canAwait()).WillByDefault(Return(false));
  }

  // The backend lists `listed` until the guarded resource was stopped, then
  // only the sibling; a probe of the guarded one after its stop says gone.
  void behaveLikeARealBackend() {
    ON_CALL(*backend, list(_)).WillByDefault([this](const Selector&) {
      std::vector<Resource> listed{sibling};
      if (!stopped) listed.push_back(guarded);
      return Result<std::vector<Resource>>(listed);
    });
    ON_CALL(*backend, requestStop(_, _)).WillByDefault([this](const Resource&, StopMode) {
      stopped = true;
      return Status::success();
    });
    ON_CALL(*backend, probe(_)).WillByDefault(Return(gone()));
  }

  CleanupOptions options;
  std::shared_ptr<NiceMock<MockBackend>> backend = std::make_shared<NiceMock<MockBackend>>();
  Resource guarded = makeResource("c1", kRun);
  Resource sibling = makeResource("c2", kRun);
  bool stopped = false;
};

TEST_F(ScopedResourceTest, LeavingScopeStopsOnlyTheGuardedResource) {
  behaveLikeARealBackend();
  EXPECT_CALL(*backend, requestStop(Field(&Resource::id, "c1"), StopMode::Graceful)).Times(1);
  EXPECT_CALL(*backend, requestStop(Field(&Resource::id, "c2"), _)).Times(0);
  {
    ScopedResource guard(backend, guarded, options);
    EXPECT_TRUE(guard.armed());
  }
  EXPECT_TRUE(stopped);
}

TEST_F(ScopedResourceTest, TheCleanupSelectsTheResourcesRunAndId) {
  behaveLikeARealBackend();
  EXPECT_CALL(*backend, list(Truly([](const Selector& s) {
                return s.runId == std::optional<std::string>(kRun) && s.ids == std::set<std::string>{"c1"};
              })))
      .Times(::testing::AtLeast(1));
  ScopedResource guard(backend, guarded, options);

  CleanupReport report = guard.cleanNow();

  EXPECT_TRUE(report.success) << report.summary();
  EXPECT_EQ(report.totals.found, 1);
  ASSERT_EQ(report.resources.size(), 1u);
  EXPECT_EQ(report.resources[0].id, "c1");
  EXPECT_THAT(report.selector, HasSubstr("id=c1"));
}

TEST_F(ScopedResourceTest, AResourceWithoutARunIsSelectedByItsIdAlone) {
  guarded.runId.clear();
  behaveLikeARealBackend();
  EXPECT_CALL(*backend, list(Truly([](const Selector& s) {
                return !s.runId.has_value() && s.ids == std::set<std::string>{"c1"};
              })))
      .Times(::testing::AtLeast(1));
  EXPECT_CALL(*backend, requestStop(Field(&Resource::id, "c1"), _)).Times(1);
  EXPECT_CALL(*backend, requestStop(Field(&Resource::id, "c2"), _)).Times(0);
  ScopedResource guard(backend, guarded, options);

  CleanupReport report = guard.cleanNow();

  EXPECT_TRUE(report.success) << report.summary();
  EXPECT_EQ(idsOf(report), std::vector<std::string>{"c1"});
}

TEST_F(ScopedResourceTest, AnExceptionLeavingTheScopeStillCleans) {
  behaveLikeARealBackend();
  EXPECT_CALL(*backend, requestStop(Field(&Resource::id, "c1"), _)).Times(1);
  try {
    ScopedResource guard(backend, guarded, options);
    throw std::runtime_error("the task failed");
  } catch (const std::runtime_error&) {
  }
  EXPECT_TRUE(stopped);
}

TEST_F(ScopedResourceTest, CleanNowIsIdempotentAndDisarmsTheDestructor) {
  behaveLikeARealBackend();
  EXPECT_CALL(*backend, requestStop(_, _)).Times(1);
  {
    ScopedResource guard(backend, guarded, options);
    CleanupReport first = guard.cleanNow();
    EXPECT_TRUE(first.success) << first.summary();
    EXPECT_EQ(first.totals.cleaned, 1);
    EXPECT_FALSE(guard.armed());

    CleanupReport second = guard.cleanNow();
    EXPECT_TRUE(second.success) << second.summary();
    EXPECT_EQ(second.totals.found, 0) << "the second clean finds nothing";
  }
}

TEST_F(ScopedResourceTest, DismissLeavesTheResourceAlone) {
  behaveLikeARealBackend();
  EXPECT_CALL(*backend, list(_)).Times(0);
  EXPECT_CALL(*backend, requestStop(_, _)).Times(0);
  {
    ScopedResource guard(backend, guarded, options);
    guard.dismiss();
    EXPECT_FALSE(guard.armed());
    EXPECT_EQ(guard.resource().id, "c1");
  }
  EXPECT_FALSE(stopped);
}

TEST_F(ScopedResourceTest, MovingHandsTheCleaningOnExactlyOnce) {
  behaveLikeARealBackend();
  EXPECT_CALL(*backend, requestStop(Field(&Resource::id, "c1"), _)).Times(1);
  {
    ScopedResource first(backend, guarded, options);
    ScopedResource second(std::move(first));
    EXPECT_FALSE(first.armed());  // NOLINT(bugprone-use-after-move): moved-from state is specified
    EXPECT_TRUE(second.armed());
    EXPECT_EQ(second.resource().id, "c1");
    CleanupReport empty = first.cleanNow();  // NOLINT(bugprone-use-after-move)
    EXPECT_TRUE(empty.success);
    EXPECT_EQ(empty.totals.found, 0);
    EXPECT_FALSE(stopped) << "a moved-from guard cleans nothing";
  }
  EXPECT_TRUE(stopped);
}

TEST_F(ScopedResourceTest, MoveAssignmentCleansTheResourceItReplaces) {
  Resource other = makeResource("c3", kRun);
  std::set<std::string> stoppedIds;
  ON_CALL(*backend, list(_)).WillByDefault([&](const Selector&) {
    std::vector<Resource> listed;
    for (const auto& r : {guarded, other}) {
      if (!stoppedIds.count(r.id)) listed.push_back(r);
    }
    return Result<std::vector<Resource>>(listed);
  });
  ON_CALL(*backend, requestStop(_, _)).WillByDefault([&](const Resource& r, StopMode) {
    stoppedIds.insert(r.id);
    return Status::success();
  });
  ON_CALL(*backend, probe(_)).WillByDefault(Return(gone()));

  ScopedResource guard(backend, guarded, options);
  guard = ScopedResource(backend, other, options);
  EXPECT_EQ(stoppedIds, std::set<std::string>{"c1"}) << "assigning cleans the resource it replaces";
  EXPECT_EQ(guard.resource().id, "c3");
  guard.cleanNow();
  EXPECT_EQ(stoppedIds, (std::set<std::string>{"c1", "c3"}));
}

TEST_F(ScopedResourceTest, AFailedCleanupInTheDestructorIsLoggedNeverThrown) {
  ON_CALL(*backend, list(_)).WillByDefault(Return(Result<std::vector<Resource>>(std::vector<Resource>{guarded})));
  ON_CALL(*backend, requestStop(_, _)).WillByDefault(Return(Status(Error::permanent("HTTP 403 forbidden"))));
  ON_CALL(*backend, probe(_)).WillByDefault(Return(ResourceStatus{ResourceState::Running, "running"}));
  options.gracePeriod = milliseconds(10);
  options.forceTimeout = milliseconds(10);
  TraceCapture trace;

  EXPECT_NO_THROW({ ScopedResource guard(backend, guarded, options); });

  EXPECT_THAT(trace.text(), AllOf(HasSubstr("step=scoped-cleanup"), HasSubstr("ref=fake/c1"),
                                  HasSubstr("result=failed"), HasSubstr("403")));
}

TEST_F(ScopedResourceTest, AnExceptionFromTheBackendNeverLeavesTheDestructor) {
  ON_CALL(*backend, list(_)).WillByDefault([](const Selector&) -> Result<std::vector<Resource>> {
    throw std::runtime_error("backend blew up");
  });
  TraceCapture trace;

  EXPECT_NO_THROW({ ScopedResource guard(backend, guarded, options); });

  EXPECT_THAT(trace.text(), HasSubstr("result=failed"));
}

TEST_F(ScopedResourceTest, RejectsANullBackendOrAResourceWithoutId) {
  EXPECT_THROW(ScopedResource(nullptr, guarded), std::invalid_argument);
  Resource anonymous = guarded;
  anonymous.id.clear();
  EXPECT_THROW(ScopedResource(backend, anonymous), std::invalid_argument);
}

TEST_F(ScopedResourceTest, RetriesRetryableFailuresThroughTheEngine) {
  behaveLikeARealBackend();
  EXPECT_CALL(*backend, requestStop(Field(&Resource::id, "c1"), StopMode::Graceful))
      .WillOnce(Return(Status(Error::retryable("HTTP 503"))))
      .WillOnce([this](const Resource&, StopMode) {
        stopped = true;
        return Status::success();
      });
  ScopedResource guard(backend, guarded, options);

  CleanupReport report = guard.cleanNow();

  EXPECT_TRUE(report.success) << report.summary();
  ASSERT_EQ(report.resources.size(), 1u);
  EXPECT_THAT(report.resources[0].actions[0].failures, ::testing::ElementsAre(HasSubstr("HTTP 503")));
}

}  // namespace
}  // namespace cleanroom
