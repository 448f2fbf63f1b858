// Selector: which resources a listing, a cleanup or an isolation check is
// about.
//
// The default scope is "owned by this run" (run::id()). Widening to every run
// is explicit (Selector::allRuns()), so one test process never touches what
// another one (ctest -j, gtest shards, another CI job) owns.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>

#include "cleanroom/clock.h"
#include "cleanroom/resource.h"

namespace cleanroom {

struct Selector {
  // Owner run id; nullopt means every run (explicit widening).
  std::optional<std::string> runId;
  // Labels that must all be present with these values.
  std::map<std::string, std::string> labels;
  // Resource name must start with this (empty = any).
  std::string namePrefix;
  // Resource must be at least this old (0 = any). A resource without a
  // creation time never satisfies a non-zero minimum age.
  milliseconds minAge{0};
  // Resource state must be one of these (empty = any).
  std::set<ResourceState> states;
  // Resource id must be one of these (empty = any): one resource, or a few
  // (ScopedResource cleans exactly one). Backends filter it after listing.
  std::set<std::string> ids;

  // Returns a selector for resources owned by this process's run.
  static Selector thisRun();
  // Returns a selector for resources owned by `runId`.
  static Selector forRun(std::string runId);
  // Returns a selector for every run's resources (explicit widening).
  static Selector allRuns();
  // Returns the states in which something still needs cleaning: pending,
  // running, stopping, unknown, and stopped (exists, holds resources).
  static std::set<ResourceState> activeStates();

  // Returns a copy restricted to active (not finished) resources.
  Selector activeOnly() const;

  // Returns true when `r` satisfies every criterion, with ages measured at `now`.
  bool matches(const Resource& r, WallTime now) const;
  // Returns e.g. "run=abc label:team=x older-than=90s state=running|pending id=c1|c2".
  std::string describe() const;
};

}  // namespace cleanroom
