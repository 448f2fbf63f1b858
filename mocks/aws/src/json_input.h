// Internal: typed reads of a JSON request body that remember the first type
// mismatch, so an operation reads every field first and checks once:
//   JsonInput in(body); auto cluster = in.str("cluster", "default");
//   if (auto bad = in.error()) return *bad;   // SerializationException
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cleanroom/mocks/aws/aws_wire.h"

namespace cleanroom::mocks::aws {

class JsonInput {
 public:
  explicit JsonInput(const nlohmann::json& body) : body_(body) {
    if (!body_.is_object()) fail("", "the request body must be a JSON object");
  }

  // Returns the string field `name`, or `fallback` when absent or null.
  std::string str(const char* name, std::string fallback = {}) {
    const auto* value = field(name);
    if (value == nullptr) return fallback;
    if (!value->is_string()) return fail(name, "expected a string"), fallback;
    return value->get<std::string>();
  }
  // Returns the integer field `name`, or nullopt when absent or null.
  std::optional<std::int64_t> integer(const char* name) {
    const auto* value = field(name);
    if (value == nullptr) return std::nullopt;
    if (!value->is_number_integer()) return fail(name, "expected an integer"), std::nullopt;
    return value->get<std::int64_t>();
  }
  // Returns the boolean field `name`, or `fallback`.
  bool boolean(const char* name, bool fallback = false) {
    const auto* value = field(name);
    if (value == nullptr) return fallback;
    if (!value->is_boolean()) return fail(name, "expected a boolean"), fallback;
    return value->get<bool>();
  }
  // Returns the string-list field `name` (empty when absent).
  std::vector<std::string> strings(const char* name) {
    std::vector<std::string> out;
    const auto* value = field(name);
    if (value == nullptr) return out;
    if (!value->is_array()) return fail(name, "expected a list of strings"), out;
    for (const auto& item : *value) {
      if (!item.is_string()) return fail(name, "expected a list of strings"), out;
      out.push_back(item.get<std::string>());
    }
    return out;
  }
  // Returns the list of {key, value} tags in field `name` (empty when absent).
  std::vector<std::pair<std::string, std::string>> tags(const char* name) {
    std::vector<std::pair<std::string, std::string>> out;
    const auto* value = field(name);
    if (value == nullptr) return out;
    if (!value->is_array()) return fail(name, "expected a list of {key, value}"), out;
    for (const auto& tag : *value) {
      if (!tag.is_object() || !tag.contains("key") || !tag["key"].is_string() ||
          (tag.contains("value") && !tag["value"].is_string())) {
        return fail(name, "expected a list of {\"key\": string, \"value\": string}"), out;
      }
      out.emplace_back(tag["key"].get<std::string>(), tag.value("value", std::string()));
    }
    return out;
  }
  // Returns the object or array field `name`, or nullptr when absent.
  const nlohmann::json* raw(const char* name) { return field(name); }
  // Returns the first type error as a SerializationException, or nullopt.
  const std::optional<AwsError>& error() const { return error_; }

 private:
  const nlohmann::json* field(const char* name) const {
    if (!body_.is_object()) return nullptr;
    auto it = body_.find(name);
    if (it == body_.end() || it->is_null()) return nullptr;
    return &*it;
  }
  void fail(const std::string& name, const std::string& what) {
    if (error_) return;
    error_ = AwsError{400, "SerializationException",
                      name.empty() ? what : "Unexpected value for field '" + name + "': " + what};
  }
  const nlohmann::json& body_;
  std::optional<AwsError> error_;
};

}  // namespace cleanroom::mocks::aws
