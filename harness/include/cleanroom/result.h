// Result and Status: expected failures as values.
//
// A backend call that can fail for reasons outside the caller's control (the
// server said 404, a connection was refused, a request timed out) returns a
// Result<T> or a Status instead of throwing. The error's kind *is* the retry
// decision, so RetryPolicy needs no string matching:
//   Retryable  transient: connection failure, timeout, 5xx, 429 (maybe with
//              Retry-After). Retry this call with backoff.
//   Permanent  the request itself is wrong (other 4xx, validation). Don't
//              retry until the input or state is fixed.
//   Gone       the resource does not exist (404). For cleanup this is success.
// Exceptions are kept for programmer errors (value() on an error) and for the
// gtest boundary.
#pragma once

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

namespace cleanroom {

enum class ErrorKind { Retryable, Permanent, Gone };

// Returns "retryable", "permanent" or "gone".
const char* toString(ErrorKind kind);

struct Error {
  ErrorKind kind = ErrorKind::Permanent;
  std::string message;
  int httpStatus = 0;  // 0 when the failure was not an HTTP answer
  std::optional<std::chrono::milliseconds> retryAfter;  // server's Retry-After

  static Error retryable(std::string message) { return make(ErrorKind::Retryable, std::move(message)); }
  static Error permanent(std::string message) { return make(ErrorKind::Permanent, std::move(message)); }
  static Error gone(std::string message) { return make(ErrorKind::Gone, std::move(message)); }
  static Error make(ErrorKind kind, std::string message) {
    Error e;
    e.kind = kind;
    e.message = std::move(message);
    return e;
  }

  bool isRetryable() const { return kind == ErrorKind::Retryable; }
  bool isGone() const { return kind == ErrorKind::Gone; }
  // Returns e.g. "retryable: HTTP 503 from DELETE /api/agents/x: ...".
  std::string describe() const;
};

// Thrown by Result::value()/Status::error() when misused: a programmer error.
class BadResultAccess : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

// Thrown for configuration mistakes found at start-up (a malformed environment
// variable, an unknown backend name). The message names the thing and says
// what to do.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : state_(std::move(error)) {}  // NOLINT

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // Returns the value; throws BadResultAccess when this holds an error.
  const T& value() const& { check(); return std::get<0>(state_); }
  T& value() & { check(); return std::get<0>(state_); }
  T&& value() && { check(); return std::get<0>(std::move(state_)); }
  const T& operator*() const& { return value(); }
  const T* operator->() const { return &value(); }

  // Returns the error; throws BadResultAccess when this holds a value.
  const Error& error() const {
    if (ok()) throw BadResultAccess("Result::error() called on a value");
    return std::get<1>(state_);
  }

 private:
  void check() const {
    if (!ok()) throw BadResultAccess("Result::value() called on an error: " + std::get<1>(state_).describe());
  }
  std::variant<T, Error> state_;
};

class [[nodiscard]] Status {
 public:
  Status() = default;  // success
  Status(Error error) : error_(std::move(error)) {}  // NOLINT: implicit by design

  static Status success() { return {}; }
  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  // Returns the error; throws BadResultAccess on success.
  const Error& error() const {
    if (!error_) throw BadResultAccess("Status::error() called on success");
    return *error_;
  }

 private:
  std::optional<Error> error_;
};

}  // namespace cleanroom
