#include "cleanroom/mocks/request_log.h"

#include <cmath>

namespace cleanroom::mocks {

nlohmann::json RequestLogEntry::toJson() const {
  nlohmann::json out = {{"method", method},
          {"path", path},
          {"query", query},
          {"status", status},
          {"ms", std::round(ms * 1000.0) / 1000.0},
          {"fault", fault.empty() ? nlohmann::json(nullptr) : nlohmann::json(fault)}};
  if (!operation.empty()) out["operation"] = operation;
  return out;
}

void RequestLog::record(RequestLogEntry entry) {
  std::lock_guard lock(mutex_);
  entries_.push_back(std::move(entry));
  while (entries_.size() > capacity_) entries_.pop_front();
}

void RequestLog::clear() {
  std::lock_guard lock(mutex_);
  entries_.clear();
}

std::vector<RequestLogEntry> RequestLog::entries() const {
  std::lock_guard lock(mutex_);
  return {entries_.begin(), entries_.end()};
}

nlohmann::json RequestLog::toJson() const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& entry : entries()) out.push_back(entry.toJson());
  return out;
}

}  // namespace cleanroom::mocks
