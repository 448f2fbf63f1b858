// ECS session cleanup benchmarks: print figures, assert nothing. Not run by
// ctest; run this binary directly (scripts/bench.sh runs it too).
//
//   cleanroom_ecs_sessions_bench [pipeline] [many] [mock] [--sessions 100]
//
// Every section talks to cleanroom-mock-aws (SigV4 verified). The seed's
// latencies are injected into the mock: every S3 PutObject takes 3 s and every
// ELBv2 DeregisterTargets 1 s (fault rules with delayMs), and a stopped task
// reaches STOPPED 0.5 s after StopTask (--task-stop-ms).
//   pipeline  one session (a log file, an ALB target, a task):
//               sequential  the seed's order, one step after the other:
//                           upload each file, deregister, stop, wait STOPPED
//               cleanroom   EcsSessions::cleanup — upload ∥ deregister ∥
//                           release → stop → mark cleaned
//             total time; the critical path is upload (3 s) → stop (0.5 s)
//   many      --sessions sessions at once through the process-exit scope
//             (EcsSessions::cleanupAll): total time over the critical path
//   mock      cleanroom-mock-aws start-up to ready (p50/max of 10), and
//             signed ECS ListTasks per second from 4 client threads
//
// Leaves nothing behind: the mocks are stopped, temp dirs removed.
#include <algorithm>
#include <cstdlib>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "bench_support.h"
#include "cleanroom/aws/aws_client.h"
#include "cleanroom/aws/ecs_session_site.h"
#include "cleanroom/aws/ecs_sessions.h"
#include "cleanroom/backends/ecs_backend.h"
#include "cleanroom/child_process.h"
#include "cleanroom/mocks/aws/aws_mock.h"
#include "cleanroom/wait.h"

namespace cleanroom::bench {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

constexpr milliseconds kTimeout{10000};
constexpr double kUploadMs = 3000;
constexpr double kDeregisterMs = 1000;
constexpr double kStopMs = 500;

// The mock with the seed's latencies, a cluster, a task definition, a target
// group and a bucket; runs tasks and opens sessions on it.
class SessionWorld {
 public:
  SessionWorld() : mock_(options()) {
    mock_.start();
    aws::AwsConfig config;
    config.region = "us-east-1";
    config.credentials = {"cleanroom", "cleanroom-secret", ""};
    config.endpoints[""] = mock_.url();
    client_ = std::make_shared<aws::AwsClient>(config);
    aws::EcsSiteSpec spec;
    spec.cluster = "agents";
    spec.taskFamily = "agent";
    spec.targetGroupName = "agents";
    spec.logBucket = "session-logs";
    spec.requestTimeout = kTimeout;
    if (auto site = aws::EcsSessionSite::provision(client_, spec); site.ok()) {
      targetGroup_ = site->targetGroupArn();
    } else {
      std::fprintf(stderr, "provisioning the session site failed: %s\n", site.error().describe().c_str());
      std::exit(1);
    }
    EcsBackendOptions backendOptions;
    backendOptions.aws = config;
    backendOptions.clusters = {"agents"};
    tasks_ = std::make_unique<EcsBackend>(backendOptions);
    std::string pattern = (fs::temp_directory_path() / "cr-ecs-bench-XXXXXX").string();
    dir_ = ::mkdtemp(pattern.data());
  }

  ~SessionWorld() {
    tasks_.reset();
    mock_.stop();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  // Makes every PutObject and DeregisterTargets as slow as the seed's.
  void injectSeedLatencies() {
    httplib::Client control(mock_.url());
    const json rules =
        json::array({{{"match", {{"operation", "s3:PutObject"}}}, {"delayMs", static_cast<int>(kUploadMs)}},
                     {{"match", {{"operation", "DeregisterTargets"}}}, {"delayMs", static_cast<int>(kDeregisterMs)}}});
    auto answer = control.Post("/__cleanroom/faults", rules.dump(), "application/json");
    if (!answer || answer->status >= 300) {
      std::fprintf(stderr, "injecting the latencies failed: %s\n", answer ? answer->body.c_str() : "no answer");
      std::exit(1);
    }
  }

  // Runs a task, registers its IP as a target, writes its log file (one
  // upload: the seed's "S3 3 s" is the whole upload).
  aws::EcsSession open(const std::string& id) {
    auto run = ecs("RunTask", {{"cluster", "agents"},
                               {"taskDefinition", "agent"},
                               {"launchType", "FARGATE"},
                               {"startedBy", kRun},
                               {"tags", {{{"key", "cleanroom.run"}, {"value", kRun}}}},
                               {"networkConfiguration", {{"awsvpcConfiguration", {{"subnets", {"subnet-1"}}}}}}});
    aws::EcsSession s;
    s.id = id;
    if (!run.ok()) return s;
    const json task = run.value()["tasks"][0];
    s.taskArn = task["taskArn"];
    for (const auto& detail : task["attachments"][0]["details"]) {
      if (detail["name"] == "privateIPv4Address") s.targetIp = detail["value"];
    }
    (void)client_->callQuery("elasticloadbalancing", {{"Action", "RegisterTargets"},
                                                      {"Version", "2015-12-01"},
                                                      {"TargetGroupArn", targetGroup_},
                                                      {"Targets.member.1.Id", s.targetIp},
                                                      {"Targets.member.1.Port", "8080"}},
                             kTimeout);
    s.targetGroupArn = targetGroup_;
    s.targetPort = 8080;
    s.logDirectory = dir_ / id;
    fs::create_directories(s.logDirectory);
    std::ofstream(s.logDirectory / "agent.log") << "agent " << id << " says hi\n";
    s.logBucket = "session-logs";
    s.logKeyPrefix = "bench";
    return s;
  }

  // The seed's cleanup: every step after the other, no timeouts of its own.
  double cleanSequentially(const aws::EcsSession& s) {
    aws::AwsSessionApi api(client_);
    const auto start = SteadyClock::now();
    for (const auto& file : fs::recursive_directory_iterator(s.logDirectory)) {
      if (!file.is_regular_file()) continue;
      (void)api.putObject(s.logBucket, s.logKey(fs::relative(file.path(), s.logDirectory)), file.path(), kTimeout);
    }
    (void)api.deregisterTarget(s.targetGroupArn, s.targetIp, s.targetPort, kTimeout);
    (void)api.stopTask("agents", s.taskArn, "session over", kTimeout);
    (void)waitUntil(Clock::system(), Clock::system().now() + kTimeout, AdaptiveWait{}, [&] {
      auto status = api.taskStatus("agents", s.taskArn, kTimeout);
      return !status.ok() || status.value() == "STOPPED";
    });
    return msSince(start);
  }

  std::unique_ptr<aws::EcsSessions> sessions() {
    aws::EcsSessionsOptions o;
    o.runId = kRun;
    o.journal = false;
    o.failSafe = false;
    return std::make_unique<aws::EcsSessions>(std::make_shared<aws::AwsSessionApi>(client_), *tasks_, o);
  }

  std::shared_ptr<aws::AwsClient> client() const { return client_; }

 private:
  static constexpr const char* kRun = "bench-ecs";

  static mocks::aws::AwsMockOptions options() {
    mocks::aws::AwsMockOptions o;
    o.taskStart = milliseconds(10);
    o.taskStop = milliseconds(static_cast<int>(kStopMs));
    o.targetHealthy = milliseconds(10);
    o.deregistrationDelay = milliseconds(60000);
    return o;
  }

  Result<json> ecs(const std::string& operation, const json& body) {
    return client_->callJson("ecs", "AmazonEC2ContainerServiceV20141113." + operation, body, kTimeout);
  }

  mocks::aws::AwsMock mock_;
  std::shared_ptr<aws::AwsClient> client_;
  std::string targetGroup_;
  std::unique_ptr<EcsBackend> tasks_;
  fs::path dir_;
};

void pipelineSection() {
  std::printf("\n## One session: S3 %.0f ms, ALB %.0f ms, stop %.0f ms (critical path upload → stop: %.0f ms)\n",
              kUploadMs, kDeregisterMs, kStopMs, kUploadMs + kStopMs);
  std::printf("| order | total | over critical path | over longest step |\n|---|---|---|---|\n");
  for (int round = 0; round < 2; ++round) {
    SessionWorld world;
    world.injectSeedLatencies();
    const aws::EcsSession sequential = world.open("seq");
    const double seqMs = world.cleanSequentially(sequential);
    auto registry = world.sessions();
    const aws::EcsSession parallel = world.open("par");
    (void)registry->open(parallel);
    const auto start = SteadyClock::now();
    const PipelineReport report = registry->cleanup("par");
    const double parMs = msSince(start);
    if (round == 0) continue;  // warm-up
    std::printf("| sequential (seed) | %.0f ms | %+.0f ms | %+.0f ms |\n", seqMs, seqMs - (kUploadMs + kStopMs),
                seqMs - kUploadMs);
    std::printf("| cleanroom pipeline | %.0f ms | %+.0f ms | %+.0f ms |\n", parMs, parMs - (kUploadMs + kStopMs),
                parMs - kUploadMs);
    std::printf("\n%s\n", report.summary().c_str());
  }
}

void manySection(int count) {
  std::printf("\n## %d sessions at once (process-exit scope, cleanupAll)\n", count);
  SessionWorld world;
  world.injectSeedLatencies();
  auto registry = world.sessions();
  for (int i = 0; i < count; ++i) (void)registry->open(world.open("s" + std::to_string(i)));
  const auto start = SteadyClock::now();
  const aws::EcsSessionsReport report = registry->cleanupAll(static_cast<std::size_t>(count));
  const double ms = msSince(start);
  int ok = 0;
  for (const auto& session : report.sessions) ok += session.ok ? 1 : 0;
  std::printf("| sessions | ok | total | over critical path (%.0f ms) |\n|---|---|---|---|\n", kUploadMs + kStopMs);
  std::printf("| %d | %d | %.0f ms | %+.0f ms |\n", count, ok, ms, ms - (kUploadMs + kStopMs));
}

void mockSection() {
  std::printf("\n## cleanroom-mock-aws\n");
  std::vector<double> startups;
  for (int i = 0; i < 10; ++i) {
    const auto start = SteadyClock::now();
    auto child = ChildProcess::spawn({CLEANROOM_MOCK_AWS_PATH, "--port", "0", "--log-level", "warn"});
    if (!child.ok()) break;
    auto line = (*child)->readLine(kTimeout);
    if (line.ok()) startups.push_back(msSince(start));
    (void)(*child)->stop(kTimeout);
  }
  std::printf("start-up to ready: p50 %.1f ms, max %.1f ms (%zu runs)\n", percentile(startups, 0.5),
              percentile(startups, 1.0), startups.size());

  SessionWorld world;
  std::atomic<long> requests{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      while (!stop) {
        auto listed = world.client()->callJson("ecs", "AmazonEC2ContainerServiceV20141113.ListTasks",
                                               {{"cluster", "agents"}}, kTimeout);
        if (listed.ok()) ++requests;
      }
    });
  }
  const auto start = SteadyClock::now();
  std::this_thread::sleep_for(std::chrono::seconds(3));  // a measuring window, not synchronisation
  stop = true;
  for (auto& c : clients) c.join();
  std::printf("signed ECS ListTasks: %.0f per second from 4 client threads (one connection per request)\n",
              requests.load() * 1000.0 / msSince(start));
}

}  // namespace
}  // namespace cleanroom::bench

int main(int argc, char** argv) {
  using namespace cleanroom::bench;
  std::set<std::string> sections;
  int count = 100;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--sessions" && i + 1 < argc) {
      count = std::max(1, std::atoi(argv[++i]));
    } else {
      sections.insert(arg);
    }
  }
  const auto wants = [&](const char* name) { return sections.empty() || sections.count(name) > 0; };
  std::printf("# cleanroom ECS session benchmarks — %s\n", machineDescription().c_str());
  if (wants("pipeline")) pipelineSection();
  if (wants("many")) manySection(count);
  if (wants("mock")) mockSection();
  return 0;
}
