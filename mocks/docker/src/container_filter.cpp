#include "cleanroom/mocks/docker/container_filter.h"

#include <algorithm>
#include <regex>
#include <set>

#include <nlohmann/json.hpp>

namespace cleanroom::mocks::docker {
namespace {

using nlohmann::json;

const std::set<std::string>& knownKeys() {
  static const std::set<std::string> keys{"label", "status", "name", "id", "exited"};
  return keys;
}

const std::set<std::string>& knownStatuses() {
  static const std::set<std::string> statuses{"created", "restarting", "running", "removing",
                                              "paused",  "exited",     "dead"};
  return statuses;
}

ParseResult<ContainerFilter> invalid(const std::string& what) {
  return ParseResult<ContainerFilter>::error("filters", "invalid filter '" + what + "'");
}

// Returns the values of one key in either encoding, or nullopt when malformed.
std::optional<std::vector<std::string>> valuesOf(const json& node) {
  std::vector<std::string> values;
  if (node.is_array()) {
    for (const auto& value : node) {
      if (!value.is_string()) return std::nullopt;
      values.push_back(value.get<std::string>());
    }
    return values;
  }
  if (node.is_object()) {
    for (const auto& [value, enabled] : node.items()) {
      if (!enabled.is_boolean()) return std::nullopt;
      if (enabled.get<bool>()) values.push_back(value);
    }
    return values;
  }
  return std::nullopt;
}

// Unanchored regular-expression search, as docker's filters.Match; a pattern
// that is not a valid expression is searched for literally.
bool searches(const std::string& pattern, const std::string& text) {
  try {
    return std::regex_search(text, std::regex(pattern));
  } catch (const std::regex_error&) {
    return text.find(pattern) != std::string::npos;
  }
}

bool labelMatches(const std::string& wanted, const std::map<std::string, std::string>& labels) {
  const auto equals = wanted.find('=');
  const auto found = labels.find(wanted.substr(0, equals));
  if (found == labels.end()) return false;
  return equals == std::string::npos || found->second == wanted.substr(equals + 1);
}

std::string checkValues(const std::string& key, const std::vector<std::string>& values) {
  for (const auto& value : values) {
    if (key == "status" && knownStatuses().count(value) == 0) return key + "=" + value;
    if (key == "exited" && (value.empty() || value.find_first_not_of("0123456789") != std::string::npos)) {
      return key + "=" + value;
    }
  }
  return {};
}

}  // namespace

ParseResult<ContainerFilter> ContainerFilter::parse(std::string_view filtersJson) {
  ContainerFilter filter;
  if (filtersJson.empty()) return ParseResult<ContainerFilter>::ok(filter);
  const json document = json::parse(filtersJson, nullptr, false);
  if (document.is_discarded() || !document.is_object()) {
    return ParseResult<ContainerFilter>::error(
        "filters", "invalid filters: expected a JSON object such as {\"label\":{\"k=v\":true}}; got " +
                       std::string(filtersJson));
  }
  for (const auto& [key, node] : document.items()) {
    if (knownKeys().count(key) == 0) return invalid(key);
    auto values = valuesOf(node);
    if (!values) return invalid(key);
    if (const auto bad = checkValues(key, *values); !bad.empty()) return invalid(bad);
    if (!values->empty()) filter.values_[key] = std::move(*values);
  }
  return ParseResult<ContainerFilter>::ok(std::move(filter));
}

std::vector<std::string> ContainerFilter::values(const std::string& key) const {
  const auto found = values_.find(key);
  return found == values_.end() ? std::vector<std::string>() : found->second;
}

bool ContainerFilter::matches(const Container& container) const {
  for (const auto& [key, values] : values_) {
    const auto any = [&](auto predicate) { return std::any_of(values.begin(), values.end(), predicate); };
    bool passes = true;
    if (key == "label") {
      passes = std::all_of(values.begin(), values.end(),
                           [&](const std::string& v) { return labelMatches(v, container.spec.labels); });
    } else if (key == "status") {
      passes = any([&](const std::string& v) { return v == statusName(container.status); });
    } else if (key == "name") {
      passes = any([&](const std::string& v) {
        return searches(v, container.slashName()) || searches(v, container.spec.name);
      });
    } else if (key == "id") {
      passes = any([&](const std::string& v) { return searches(v, container.id); });
    } else if (key == "exited") {
      passes = container.status == ContainerStatus::exited &&
               any([&](const std::string& v) { return std::stoi(v) == container.exitCode; });
    }
    if (!passes) return false;
  }
  return true;
}

}  // namespace cleanroom::mocks::docker
