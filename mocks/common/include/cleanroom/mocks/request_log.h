// RequestLog: the record of what a mock served (GET /__cleanroom/requests), so a
// test can assert what its code sent: method, path, query, status, duration and
// the injected fault, if any. Control-API requests are not recorded.
#pragma once

#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cleanroom::mocks {

struct RequestLogEntry {
  std::string method;
  std::string path;
  std::string query;  // raw query string, "" if none
  int status = 0;     // 0 when the connection was dropped by a fault
  double ms = 0;      // time from request read to response ready
  std::string fault;  // e.g. "status 503", "drop", "delay 800ms"; "" if none
  std::string operation = {};  // the mock's operation name (e.g. "ecs:StopTask"); "" if none

  // JSON form; "operation" is present only when non-empty.
  nlohmann::json toJson() const;
};

// Thread-safe bounded log (oldest entries are discarded past `capacity`).
class RequestLog {
 public:
  explicit RequestLog(std::size_t capacity = 100000) : capacity_(capacity) {}
  // Appends one entry.
  void record(RequestLogEntry entry);
  // Removes every entry.
  void clear();
  // Returns a copy of every entry, oldest first.
  std::vector<RequestLogEntry> entries() const;
  // Returns the entries as a JSON array, oldest first.
  nlohmann::json toJson() const;

 private:
  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::deque<RequestLogEntry> entries_;
};

}  // namespace cleanroom::mocks
