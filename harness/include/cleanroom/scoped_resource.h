// ScopedResource: "always clean up" for one resource in code outside gtest
// (a benchmark harness, a script, a tool): an RAII guard that cleans ONE
// container, sandbox, agent… when it leaves scope, on every path out —
// return, break, exception.
//
//   auto docker = std::make_shared<DockerBackend>(*DockerBackendOptions::fromEnvironment());
//   Result<Resource> container = docker->createContainer({.image = "busybox", .command = {"sleep", "600"}});
//   if (!container) return fail(container.error());
//   ScopedResource guard(docker, *container);   // from here on it is always cleaned
//   runTaskIn(guard.resource().id);             // may throw
//   // leaving scope: graceful stop → force after the grace period → removed
//
//   auto daytona = std::make_shared<DaytonaBackend>(config);
//   ScopedResource sandbox(daytona, daytona->createSandbox(spec).value());
//   CleanupReport report = sandbox.cleanNow();  // clean now and look at the report
//   if (!report.success) std::cerr << report.summary();
//
// Cleaning goes through the one engine (engine.h): a CleanupEngine holding
// only the guard's backend, with Selector::forRun(resource.runId) (every
// run when the resource names none) narrowed to the resource's id
// (Selector::ids) — so the guard never touches anything else, even of its
// own run — graceful stop, await exit, forced stop after
// the grace period, retries of Retryable errors, verify, all bounded by the
// options (CleanupOptions::deadline bounds the whole of it when set). A
// resource already gone is success.
//
// Movable, not copyable: exactly one guard owns the cleaning. Not
// thread-safe: one guard is used by one thread at a time.
#pragma once

#include <memory>

#include "cleanroom/backend.h"
#include "cleanroom/engine.h"
#include "cleanroom/report.h"
#include "cleanroom/resource.h"

namespace cleanroom {

class ScopedResource {
 public:
  // Guards `resource` (as a backend returned it: id and runId are what the
  // cleanup selects by) on `backend`, cleaned with `options`. Does not touch
  // the backend. Throws std::invalid_argument (a programmer error) when
  // `backend` is null or resource.id is empty.
  ScopedResource(std::shared_ptr<Backend> backend, Resource resource, CleanupOptions options = {});
  // Cleans the resource unless cleanNow() or dismiss() was called or the
  // guard was moved from. Blocks like cleanNow(). Never throws: a failed
  // cleanup is logged as a warning with the report's summary.
  ~ScopedResource();

  ScopedResource(ScopedResource&& other) noexcept;
  // Cleans the resource this guard holds (as the destructor would), then
  // takes over `other`'s.
  ScopedResource& operator=(ScopedResource&& other) noexcept;
  ScopedResource(const ScopedResource&) = delete;
  ScopedResource& operator=(const ScopedResource&) = delete;

  // Cleans the resource now and returns the engine's report; the destructor
  // then does nothing. Idempotent: a second call cleans again and finds
  // nothing (success). Works after dismiss() too (an explicit request). On
  // a moved-from guard: an empty, successful report. Blocks for at most the
  // engine's bound (engine.h: options.deadline when set, else about
  // retry.deadline + gracePeriod + forceTimeout + retry.deadline).
  CleanupReport cleanNow();
  // Releases the resource: the destructor will not clean it (it was handed
  // on, or is cleaned by other means). Touches nothing.
  void dismiss() { armed_ = false; }
  // Returns true while the destructor would still clean the resource.
  bool armed() const { return armed_; }

  const Resource& resource() const { return resource_; }
  const std::shared_ptr<Backend>& backend() const { return backend_; }
  const CleanupOptions& options() const { return options_; }

 private:
  void cleanQuietly() noexcept;

  std::shared_ptr<Backend> backend_;
  Resource resource_;
  CleanupOptions options_;
  bool armed_ = true;
};

}  // namespace cleanroom
