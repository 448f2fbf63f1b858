// Environment variables, read with errors that name the variable.
#pragma once

#include <optional>
#include <string>

#include "cleanroom/result.h"

namespace cleanroom::env {

// Returns the variable's value, or nullopt when unset or empty.
std::optional<std::string> get(const char* name);

// Returns the variable parsed as an http:// or https:// URL (scheme, host, port, optional
// path prefix; trailing slash removed), nullopt when unset, or a Permanent
// error naming the variable and showing a valid example.
std::optional<Result<std::string>> httpUrl(const char* name);

// Checks that `url` is an absolute http:// or https:// URL; `what` names it
// in the error. Returns the URL with the scheme in lower case and without a
// trailing slash.
Result<std::string> checkHttpUrl(const std::string& url, const std::string& what);

}  // namespace cleanroom::env
