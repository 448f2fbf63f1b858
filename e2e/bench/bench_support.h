// Shared by the benchmark programs: time since a point, percentiles, and a
// one-line description of the machine the figures were measured on.
#pragma once

#include <sys/utsname.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace cleanroom::bench {

using SteadyClock = std::chrono::steady_clock;

// Returns the milliseconds since `start`.
inline double msSince(SteadyClock::time_point start) {
  return std::chrono::duration<double, std::milli>(SteadyClock::now() - start).count();
}

// Returns the p-th percentile (0..1) of `v` (nearest rank); 0 for none.
inline double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto index = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(index, v.size() - 1)];
}

// Returns e.g. "AMD EPYC, 2 cores, Linux 6.18.44".
inline std::string machineDescription() {
  utsname u{};
  uname(&u);
  std::string cpu = "unknown cpu";
  std::ifstream info("/proc/cpuinfo");
  for (std::string line; std::getline(info, line);) {
    if (line.rfind("model name", 0) == 0) {
      cpu = line.substr(line.find(':') + 2);
      break;
    }
  }
  return cpu + ", " + std::to_string(std::thread::hardware_concurrency()) + " cores, " + u.sysname + " " + u.release;
}

}  // namespace cleanroom::bench
