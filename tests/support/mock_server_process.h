// MockServerProcess: a cleanroom mock (agents, docker, daytona…) as a real
// child process for e2e tests — started on port 0, read until it listens,
// restartable on the same port, stopped with SIGTERM — plus the control API
// every mock serves (faults, request log, state; DESIGN 3.2).
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "cleanroom/child_process.h"

namespace cleanroom::tests {

class MockServerProcess {
 public:
  // Starts `binary` with `extraArgs`; throws std::runtime_error when it does
  // not print its "listening on" line within 15 s.
  explicit MockServerProcess(std::string binary, std::vector<std::string> extraArgs = {})
      : binary_(std::move(binary)), extraArgs_(std::move(extraArgs)) {
    start("0");
  }

  const std::string& url() const { return url_; }
  const std::string& port() const { return port_; }
  pid_t pid() const { return process_->pid(); }
  ChildProcess& process() { return *process_; }

  // Stops the mock (SIGTERM: it ends its resources' processes) and starts a new
  // one on the same port, with empty state. Throws when either fails.
  void restart() {
    auto ending = process_->stop(std::chrono::seconds(5));
    if (!ending.graceful) throw std::runtime_error("mock did not stop cleanly: " + ending.description);
    start(port_);
  }

  // Sends a control-API request; returns the parsed JSON body (null when empty).
  nlohmann::json control(const std::string& method, const std::string& path,
                         const nlohmann::json& body = nullptr) const {
    httplib::Client client(url_);
    client.set_read_timeout(5, 0);
    httplib::Result r = method == "POST"     ? client.Post(path.c_str(), body.dump(), "application/json")
                        : method == "DELETE" ? client.Delete(path.c_str())
                                             : client.Get(path.c_str());
    if (!r) throw std::runtime_error("control request failed: " + method + " " + path);
    return r->body.empty() ? nlohmann::json() : nlohmann::json::parse(r->body, nullptr, false);
  }
  void addFault(const nlohmann::json& rule) const { control("POST", "/__cleanroom/faults", rule); }
  void clearFaults() const { control("DELETE", "/__cleanroom/faults"); }
  // GET `path` on the mock (e.g. "/api/agents/ag-1"), parsed.
  nlohmann::json get(const std::string& path) const { return control("GET", path); }

  // Returns the logged requests whose path starts with `prefix`.
  std::vector<nlohmann::json> requests(const std::string& prefix) const {
    std::vector<nlohmann::json> out;
    for (const auto& r : control("GET", "/__cleanroom/requests")) {
      if (r.value("path", "").rfind(prefix, 0) == 0) out.push_back(r);
    }
    return out;
  }
  // Whether a `method` request to a path starting with `prefix` was logged.
  bool received(const std::string& method, const std::string& prefix) const {
    for (const auto& r : requests(prefix)) {
      if (r.value("method", "") == method) return true;
    }
    return false;
  }

 private:
  void start(const std::string& port) {
    std::vector<std::string> argv = {binary_, "--port", port};
    argv.insert(argv.end(), extraArgs_.begin(), extraArgs_.end());
    auto child = ChildProcess::spawn(argv);
    if (!child.ok()) throw std::runtime_error(child.error().message);
    process_ = std::move(child).value();
    auto line = process_->readLine(std::chrono::seconds(15));
    if (!line.ok()) throw std::runtime_error("mock did not start: " + line.error().message);
    const std::string prefix = "listening on ";
    if (line.value().rfind(prefix, 0) != 0) throw std::runtime_error("unexpected first line: " + line.value());
    url_ = line.value().substr(prefix.size());
    port_ = url_.substr(url_.rfind(':') + 1);
  }

  std::string binary_;
  std::vector<std::string> extraArgs_;
  std::unique_ptr<ChildProcess> process_;
  std::string url_;
  std::string port_;
};

}  // namespace cleanroom::tests
