// MockBackend: a gmock Backend for unit tests of the engine and fixtures.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>

#include "cleanroom/backend.h"

namespace cleanroom::tests {

class MockBackend : public Backend {
 public:
  explicit MockBackend(std::string name = "fake") : name_(std::move(name)) {}
  std::string name() const override { return name_; }
  MOCK_METHOD(Result<std::vector<Resource>>, list, (const Selector& selector), (override));
  MOCK_METHOD(Status, requestStop, (const Resource& resource, StopMode mode), (override));
  MOCK_METHOD(Result<ResourceStatus>, probe, (const Resource& resource), (override));
  MOCK_METHOD(bool, canAwait, (), (const, override));
  MOCK_METHOD(Result<ResourceStatus>, awaitFinished, (const Resource& resource, milliseconds timeout), (override));
  // Default (NiceMock): CleanupStage::Agents, no teardown details.
  MOCK_METHOD(CleanupStage, stage, (), (const, override));
  MOCK_METHOD(void, describeTeardown, (const Resource& resource, AgentTeardown& record), (override));
  MOCK_METHOD((std::map<std::string, std::string>), locator, (), (const, override));
  MOCK_METHOD(int, stopConcurrency, (), (const, override));

 private:
  std::string name_;
};

}  // namespace cleanroom::tests
