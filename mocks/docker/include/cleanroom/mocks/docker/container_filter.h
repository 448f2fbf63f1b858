// ContainerFilter: the `filters` query parameter of GET /containers/json and
// POST /containers/prune, in both encodings the clients send:
//   map form (docker CLI):   {"label":{"a=b":true,"c":true},"status":{"running":true}}
//   list form (docker-py):   {"label":["a=b","c"],"status":["exited"]}
// Keys: label (k = key exists, k=v = equal; all ANDed), status (created,
// restarting, running, removing, paused, exited, dead; ORed), name and id
// (unanchored regular expressions, ORed; name is tried with and without the
// leading '/'), exited (exit code of an exited container; ORed). Different
// keys are ANDed, as the daemon does. Other keys are rejected as docker does.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "cleanroom/mocks/docker/container.h"
#include "cleanroom/mocks/parse_result.h"

namespace cleanroom::mocks::docker {

class ContainerFilter {
 public:
  // Returns the filter in `filtersJson` ("" = no filter), or an error such as
  // "invalid filter 'bogus'" or "invalid filter 'status=sleepy'".
  static ParseResult<ContainerFilter> parse(std::string_view filtersJson);

  // Returns true if and only if `container` passes every key of the filter.
  bool matches(const Container& container) const;
  // Returns true if and only if the filter has values for `key`.
  bool has(const std::string& key) const { return values_.count(key) != 0; }
  // Returns the values given for `key` (empty when absent).
  std::vector<std::string> values(const std::string& key) const;

 private:
  std::map<std::string, std::vector<std::string>> values_;
};

}  // namespace cleanroom::mocks::docker
