// The wire format of the Docker Engine API mock: parsing create requests and
// query parameters, rendering containers, /version and /info, and docker's
// multiplexed log stream. Pure functions, no state, no I/O.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "cleanroom/mocks/docker/container.h"
#include "cleanroom/mocks/parse_result.h"

namespace cleanroom::mocks::docker {

// The API version the mock announces (Api-Version header, /version ApiVersion).
inline constexpr std::string_view kApiVersion = "1.45";
inline constexpr std::string_view kMinApiVersion = "1.24";
inline constexpr std::string_view kEngineVersion = "28.2.2";

// Returns the spec of a POST /containers/create body (name from ?name=), or an
// error naming the field (e.g. "Env: CLEANROOM_MOCK_RUN_MS must be ...").
ParseResult<ContainerSpec> parseCreateRequest(std::string_view body, const std::string& name);

// Returns the boolean a query value spells: 1/true/True/TRUE -> true,
// 0/false/False/"" -> false; nullopt otherwise.
std::optional<bool> parseQueryBool(std::string_view value);

// Returns `time` as RFC 3339 with nanoseconds, trailing zeros trimmed, in UTC
// ("2025-01-02T03:04:05.1234Z"); the epoch prints as "0001-01-01T00:00:00Z"
// (docker's zero time).
std::string formatTime(WallClock::time_point time);

// Returns docker's human duration: "Less than a second", "5 seconds",
// "About a minute", "3 hours", ...
std::string humanDuration(std::chrono::seconds duration);

// Returns the list (GET /containers/json) form of a container; `now` is used
// for Status ("Up 5 seconds", "Exited (137) 2 minutes ago", "Created").
nlohmann::json containerSummaryJson(const Container& container, WallClock::time_point now);
// Returns the inspect (GET /containers/{id}/json) form of a container.
nlohmann::json containerInspectJson(const Container& container);
// Returns the inspect form of an image known by `name` (GET /images/{name}/json).
nlohmann::json imageInspectJson(const std::string& name);
// Returns the GET /version body.
nlohmann::json versionJson();
// Returns the GET /info body for `containers` (their counts).
nlohmann::json infoJson(const std::vector<Container>& containers, std::size_t imageCount);

// What GET /containers/{id}/logs asked for.
struct LogsQuery {
  bool stdoutStream = false;
  bool stderrStream = false;
  bool follow = false;
  bool timestamps = false;
  std::optional<std::size_t> tail;  // nullopt = all
};

// Returns the query, or an error naming the bad parameter.
ParseResult<LogsQuery> parseLogsQuery(const std::multimap<std::string, std::string>& query);

// Returns the log body: for a non-TTY container docker's multiplexed stream
// (per line an 8-byte header [stream, 0, 0, 0, size as big-endian uint32] then
// the bytes), for a TTY container the raw bytes.
std::string renderLogs(const Container& container, const LogsQuery& query);

}  // namespace cleanroom::mocks::docker
