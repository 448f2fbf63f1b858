// ParseResult<T>: the outcome of validating client input (a fault rule, a request
// body, a query parameter) as a value: either the parsed T, or a message for the
// client that names the offending field and says what to send instead.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace cleanroom::mocks {

template <class T>
class ParseResult {
 public:
  // Returns a successful result holding `value`.
  static ParseResult ok(T value) {
    ParseResult result;
    result.value_ = std::move(value);
    return result;
  }

  // Returns a failed result: `field` names the input (e.g. "behavior.runMs"),
  // `message` is the full sentence shown to the client.
  static ParseResult error(std::string field, std::string message) {
    ParseResult result;
    result.field_ = std::move(field);
    result.message_ = std::move(message);
    return result;
  }

  // Returns true if and only if parsing succeeded.
  bool ok() const { return value_.has_value(); }
  explicit operator bool() const { return ok(); }

  // Returns the parsed value; only valid when ok().
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }

  // Returns the name of the bad field; empty when ok().
  const std::string& field() const { return field_; }
  // Returns the client-facing error message; empty when ok().
  const std::string& message() const { return message_; }

  // Re-labels an error of another type (used to pass nested errors upwards).
  template <class U>
  static ParseResult from(const ParseResult<U>& other) {
    return error(other.field(), other.message());
  }

 private:
  ParseResult() = default;
  std::optional<T> value_;
  std::string field_;
  std::string message_;
};

}  // namespace cleanroom::mocks
