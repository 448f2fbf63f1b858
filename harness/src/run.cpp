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

std::string idFromEnvironment() {
  const char* fromEnv = std::getenv("CLEANROOM_RUN_ID");
  if (fromEnv == nullptr || *fromEnv == '\0') return generateId();
  Status valid = validateId(fromEnv, "CLEANROOM_RUN_ID");
  if (!valid.ok()) throw ConfigError(valid.error().message);
  std::string id = fromEnv;
  // gtest shards share their environment: each gets a run of its own.
  const char* shard = std::getenv("GTEST_SHARD_INDEX");
  const char* total = std::getenv("GTEST_TOTAL_SHARDS");
  const bool sharded = shard != nullptr && total != nullptr && std::string(total) != "1" && std::string(total) != "0" &&
                       *shard != '\0' && std::string(shard).find_first_not_of("0123456789") == std::string::npos;
  if (!sharded) return id;
  id += std::string("_s") + shard;
  if (Status shardValid = validateId(id, "CLEANROOM_RUN_ID plus the gtest shard suffix"); !shardValid.ok()) {
    throw ConfigError(shardValid.error().message + " (shorten CLEANROOM_RUN_ID)");
  }
  return id;
}

const std::string& id() {
  static const std::string value = idFromEnvironment();
  return value;
}

}  // namespace cleanroom::run
