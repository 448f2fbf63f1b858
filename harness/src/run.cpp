#include "cleanroom/run.h"

#include <cstdlib>
#include <mutex>
#include <random>

namespace cleanroom::run {

std::string generateId() {
  static std::mutex mutex;
  static std::mt19937_64 rng{std::random_device{}()};
  std::lock_guard lock(mutex);
  static const char* hex = "0123456789abcdef";
  std::string id(12, '0');
  for (auto& c : id) c = hex[rng() % 16];
  return id;
}

Status validateId(std::string_view id, std::string_view source) {
  const std::string what(source);
  if (id.empty()) return Error::permanent(what + " is empty: use 1-64 characters of [A-Za-z0-9_-], e.g. ci-1234");
  if (id.size() > 64) return Error::permanent(what + " is " + std::to_string(id.size()) + " characters long: use at most 64 of [A-Za-z0-9_-]");
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) {
      return Error::permanent(what + " '" + std::string(id) + "' contains '" + std::string(1, c) +
                              "': use only [A-Za-z0-9_-] (it becomes part of tmux session names and labels)");
    }
  }
  return Status::success();
}

const std::string& id() {
  static const std::string value = [] {
    const char* fromEnv = std::getenv("CLEANROOM_RUN_ID");
    if (fromEnv == nullptr || *fromEnv == '\0') return generateId();
    Status valid = validateId(fromEnv, "CLEANROOM_RUN_ID");
    if (!valid.ok()) throw ConfigError(valid.error().message);
    return std::string(fromEnv);
  }();
  return value;
}

}  // namespace cleanroom::run
