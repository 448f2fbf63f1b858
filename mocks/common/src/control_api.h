// Internal: the /__cleanroom/* control API shared by every mock.
#pragma once

#include <functional>
#include <optional>

#include <nlohmann/json.hpp>

#include "cleanroom/mocks/fault_rules.h"
#include "cleanroom/mocks/http_message.h"
#include "cleanroom/mocks/request_log.h"

namespace cleanroom::mocks {

inline constexpr std::string_view kControlPrefix = "/__cleanroom/";

struct ControlApi {
  FaultRuleSet& faults;
  RequestLog& log;
  const std::function<void()>& resetState;
  const std::function<nlohmann::json()>& describeState;

  // Returns true if and only if `path` belongs to the control API.
  static bool owns(std::string_view path);
  // Returns the control API's answer to `request` (404 for unknown control paths).
  HttpResponse serve(const HttpRequest& request) const;
};

}  // namespace cleanroom::mocks
