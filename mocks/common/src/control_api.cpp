#include "control_api.h"

#include "cleanroom/mocks/mock_logger.h"

namespace cleanroom::mocks {
namespace {

using nlohmann::json;

HttpResponse postFaults(FaultRuleSet& faults, const std::string& body) {
  json rules = json::parse(body, nullptr, false);
  if (rules.is_discarded()) {
    return HttpResponse::json(400, {{"error", "fault rules: request body is not valid JSON; send one rule "
                                              "object or an array of them"},
                                    {"field", "body"}});
  }
  auto added = faults.addFromJson(rules);
  if (!added) return HttpResponse::json(400, {{"error", added.message()}, {"field", added.field()}});
  mockLogger()->info("fault rules added: {}", rules.dump());
  return HttpResponse::json(201, {{"added", added.value()}, {"faults", faults.toJson()}});
}

}  // namespace

bool ControlApi::owns(std::string_view path) { return path.starts_with(kControlPrefix); }

HttpResponse ControlApi::serve(const HttpRequest& request) const {
  const std::string_view name = std::string_view(request.path).substr(kControlPrefix.size());
  const std::string& method = request.method;
  if (name == "health" && (method == "GET" || method == "HEAD")) {
    return HttpResponse::json(200, {{"status", "ok"}});
  }
  if (name == "reset" && method == "POST") {
    if (resetState) resetState();
    faults.clear();
    log.clear();
    mockLogger()->info("state, faults and request log reset");
    return HttpResponse::json(200, {{"status", "reset"}});
  }
  if (name == "state" && method == "GET") {
    return HttpResponse::json(200, describeState ? describeState() : json::object());
  }
  if (name == "requests" && method == "GET") return HttpResponse::json(200, log.toJson());
  if (name == "faults" && method == "GET") return HttpResponse::json(200, faults.toJson());
  if (name == "faults" && method == "POST") return postFaults(faults, request.body);
  if (name == "faults" && method == "DELETE") {
    faults.clear();
    return HttpResponse::json(200, {{"status", "cleared"}});
  }
  return HttpResponse::error(404, "unknown control endpoint " + method + " " + request.path +
                                      "; available: GET health, POST reset, GET state, GET requests, "
                                      "GET|POST|DELETE faults");
}

}  // namespace cleanroom::mocks
