// ScopedResource: cleans one resource through the engine when it leaves scope.
#include "cleanroom/scoped_resource.h"

#include <spdlog/spdlog.h>

#include <exception>
#include <stdexcept>
#include <utility>

#include "cleanroom/selector.h"
#include "cleanroom/trace.h"

namespace cleanroom {

ScopedResource::ScopedResource(std::shared_ptr<Backend> backend, Resource resource, CleanupOptions options)
    : backend_(std::move(backend)), resource_(std::move(resource)), options_(std::move(options)) {
  if (!backend_) throw std::invalid_argument("ScopedResource: the backend is null");
  if (resource_.id.empty()) throw std::invalid_argument("ScopedResource: the resource has no id");
  if (resource_.backend.empty()) resource_.backend = backend_->name();
}

ScopedResource::~ScopedResource() { cleanQuietly(); }

ScopedResource::ScopedResource(ScopedResource&& other) noexcept
    : backend_(std::move(other.backend_)),
      resource_(std::move(other.resource_)),
      options_(std::move(other.options_)),
      armed_(std::exchange(other.armed_, false)) {}

ScopedResource& ScopedResource::operator=(ScopedResource&& other) noexcept {
  if (this == &other) return *this;
  cleanQuietly();
  backend_ = std::move(other.backend_);
  resource_ = std::move(other.resource_);
  options_ = std::move(other.options_);
  armed_ = std::exchange(other.armed_, false);
  return *this;
}

CleanupReport ScopedResource::cleanNow() {
  armed_ = false;
  if (!backend_) {
    CleanupReport empty;
    empty.finalize();
    return empty;
  }
  CleanupEngine engine(options_);
  engine.addBackend(backend_);
  // The id pins the one resource; a resource without an owner run is
  // looked for in every run (still only that id).
  Selector selector = resource_.runId.empty() ? Selector::allRuns() : Selector::forRun(resource_.runId);
  selector.ids = {resource_.id};
  CleanupReport report = engine.cleanup(selector);
  logger().debug("step=scoped-cleanup ref={} result={} found={} ms={}", resource_.ref(),
                 report.success ? "ok" : "failed", report.totals.found, report.elapsed.count());
  return report;
}

void ScopedResource::cleanQuietly() noexcept {
  if (!armed_ || !backend_) return;
  try {
    CleanupReport report = cleanNow();
    if (report.success) return;
    logger().warn("step=scoped-cleanup ref={} result=failed summary=\"{}\"", resource_.ref(), report.summary());
  } catch (const std::exception& e) {
    try {
      logger().warn("step=scoped-cleanup ref={} result=failed error=\"{}\"", resource_.ref(), e.what());
    } catch (...) {
    }
  } catch (...) {
  }
}

}  // namespace cleanroom
