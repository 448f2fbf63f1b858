// cleanroom benchmarks: print figures, assert nothing. Not run by ctest; run
// them with `bash scripts/bench.sh` (or this binary directly).
//
//   teardown   cleanroom vs the fixed-delay strategy (DELETE, wait 3 s, then
//              poll every 2 s up to 5 times) for agents whose real exit
//              delay is 0.2, 1, 2.5 and 5 s; overhead over the real exit
//   scaling    1, 10, 100 agents with exits spread over 1-5 s: total vs the
//              slowest exit
//   fixture    SetUp + TearDown with nothing to clean
//   mock       cleanroom-mock-agents start-up to ready, and its request rate
//
// Every section starts cleanroom-mock-agents as a real process and stops it.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "cleanroom/backends/agent_api_backend.h"
#include "cleanroom/child_process.h"
#include "cleanroom/engine.h"
#include "cleanroom/fixtures.h"
#include "cleanroom/run.h"
#include "bench_support.h"

namespace {

using namespace std::chrono_literals;
using cleanroom::milliseconds;
using json = nlohmann::json;
using Seconds = std::chrono::duration<double>;
using cleanroom::bench::msSince;
using cleanroom::bench::percentile;
using cleanroom::bench::SteadyClock;

struct Mock {
  std::unique_ptr<cleanroom::ChildProcess> process;
  std::string url;
  double startupMs = 0;

  Mock() {
    const auto start = SteadyClock::now();
    auto child = cleanroom::ChildProcess::spawn({CLEANROOM_MOCK_AGENTS_PATH, "--port", "0", "--linger-ms", "60000"});
    if (!child.ok()) throw std::runtime_error(child.error().message);
    process = std::move(child).value();
    auto line = process->readLine(15s);
    if (!line.ok()) throw std::runtime_error(line.error().message);
    startupMs = msSince(start);
    url = line.value().substr(std::string("listening on ").size());
  }
  ~Mock() { process->stop(5s); }
};

struct Harness {
  std::shared_ptr<cleanroom::AgentApiBackend> backend;
  cleanroom::CleanupEngine engine;
  std::string runId = "bench-" + cleanroom::run::generateId();

  explicit Harness(const std::string& url) {
    cleanroom::AgentApiConfig config;
    config.baseUrl = url;
    backend = std::make_shared<cleanroom::AgentApiBackend>(config);
    engine.addBackend(backend);
  }

  std::string create(json behavior) {
    cleanroom::AgentSpec spec;
    spec.runId = runId;
    spec.behavior = std::move(behavior);
    auto r = backend->createAgent(spec);
    if (!r.ok()) throw std::runtime_error(r.error().describe());
    return r.value().id;
  }

  cleanroom::AgentCleanupResult cleanup() {
    cleanroom::AgentCleanupOptions o;
    o.selector = cleanroom::Selector::forRun(runId);
    o.processExitDelay = 10s;
    return cleanroom::cleanupRealAgents(engine, o);
  }
};

// The helper teams copy today: DELETE, wait 3 s, then poll every 2 s, 5 times.
double fixedDelayTeardownMs(Harness& h, const std::string& id) {
  const auto start = SteadyClock::now();
  httplib::Client client(h.backend->config().baseUrl);
  client.Delete(("/api/agents/" + id + "?force=false").c_str());
  std::this_thread::sleep_for(3s);  // the strategy under comparison, not ours
  for (int poll = 0; poll < 5; ++poll) {
    auto r = client.Get(("/api/agents/" + id).c_str());
    if (r && (r->status == 404 || json::parse(r->body).value("status", "") == "terminated")) break;
    std::this_thread::sleep_for(2s);
  }
  return msSince(start);
}

void teardownLatency(const std::string& url) {
  std::printf("\n## teardown latency: one agent, real exit delay after SIGTERM\n");
  std::printf("%-10s %14s %14s %14s %8s\n", "exit", "cleanroom p50", "overhead p50", "fixed-delay", "ratio");
  for (int delayMs : {200, 1000, 2500, 5000}) {
    Harness h(url);
    std::vector<double> ours;
    for (int i = 0; i < 5; ++i) {
      h.create({{"realProcess", true}, {"exitDelayMs", delayMs}});
      const auto start = SteadyClock::now();
      h.cleanup();
      ours.push_back(msSince(start));
    }
    const std::string id = h.create({{"realProcess", true}, {"exitDelayMs", delayMs}});
    const double fixed = fixedDelayTeardownMs(h, id);
    h.cleanup();
    const double p50 = percentile(ours, 0.5);
    std::printf("%-10s %12.0fms %12.1fms %12.0fms %7.1fx\n", (std::to_string(delayMs) + "ms").c_str(), p50,
                p50 - delayMs, fixed, fixed / p50);
  }
}

void scaling(const std::string& url) {
  std::printf("\n## scaling: agents with exit delays spread evenly over 1-5 s\n");
  std::printf("%-8s %12s %12s %12s\n", "agents", "slowest", "total", "over");
  for (int n : {1, 10, 100}) {
    Harness h(url);
    int slowest = 0;
    for (int i = 0; i < n; ++i) {
      const int delay = n == 1 ? 5000 : 1000 + 4000 * i / (n - 1);
      slowest = std::max(slowest, delay);
      h.create({{"realProcess", true}, {"exitDelayMs", delay}});
    }
    const auto start = SteadyClock::now();
    auto result = h.cleanup();
    const double total = msSince(start);
    std::printf("%-8d %10dms %10.0fms %10.0fms%s\n", n, slowest, total, total - slowest,
                result.success ? "" : "  (NOT CLEAN)");
  }
}

void fixtureOverhead(const std::string& url) {
  std::printf("\n## empty fixture: verifyTestIsolation + cleanupRealAgents with nothing to clean\n");
  Harness h(url);
  std::vector<double> samples;
  for (int i = 0; i < 500; ++i) {
    const auto start = SteadyClock::now();
    cleanroom::verifyTestIsolation(h.engine, cleanroom::Selector::forRun(h.runId).activeOnly());
    h.cleanup();
    samples.push_back(msSince(start));
  }
  std::printf("p50 %.3fms  p90 %.3fms  mean %.3fms  (500 SetUp+TearDown pairs)\n", percentile(samples, 0.5),
              percentile(samples, 0.9), std::accumulate(samples.begin(), samples.end(), 0.0) / samples.size());
}

void mockFigures() {
  std::printf("\n## cleanroom-mock-agents\n");
  std::vector<double> startups;
  for (int i = 0; i < 10; ++i) startups.push_back(Mock().startupMs);
  std::printf("start-up to ready: p50 %.1fms  max %.1fms (10 starts)\n", percentile(startups, 0.5),
              *std::max_element(startups.begin(), startups.end()));

  Mock mock;
  Harness h(mock.url);
  const std::string id = h.create(json::object());
  const int clients = 4;
  std::atomic<long> requests{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&] {
      httplib::Client client(mock.url);
      client.set_keep_alive(true);
      while (!stop) {
        if (client.Get(("/api/agents/" + id).c_str())) ++requests;
      }
    });
  }
  const auto start = SteadyClock::now();
  std::this_thread::sleep_for(3s);  // measurement window of the benchmark
  stop = true;
  for (auto& t : threads) t.join();
  const double seconds = msSince(start) / 1000.0;
  std::printf("request rate: %.0f GET /api/agents/{id} per second (%d keep-alive clients, %u cores)\n",
              static_cast<double>(requests.load()) / seconds, clients, std::thread::hardware_concurrency());
  h.cleanup();
}

void printMachine() {
  std::printf("# cleanroom benchmarks\nmachine: %s\n", cleanroom::bench::machineDescription().c_str());
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  auto wanted = [&](const std::string& name) {
    return args.empty() || std::find(args.begin(), args.end(), name) != args.end();
  };
  printMachine();
  try {
    if (wanted("mock")) mockFigures();
    Mock mock;
    if (wanted("fixture")) fixtureOverhead(mock.url);
    if (wanted("teardown")) teardownLatency(mock.url);
    if (wanted("scaling")) scaling(mock.url);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
