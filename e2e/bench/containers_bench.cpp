// cleanroom container benchmarks: print figures, assert nothing. Not run by
// ctest; run this binary directly (scripts/bench.sh runs it too).
//
//   cleanroom_containers_bench [clean] [rate] [ps] [--containers 10,100]
//                              [--no-loop] [--docker PATH] [--runs N]
//
// Every section talks to cleanroom-mock-docker started as a real process,
// serving TCP and a Unix socket in a temp dir (DOCKER_HOST=unix://…/docker.sock).
//   clean  N containers (default 10 and 100) whose processes exit 0-3 s after
//          SIGTERM (spread evenly), created with plain POST /containers/create
//          + /start (label cleanroom.run=<run>, Env CLEANROOM_MOCK_EXIT_DELAY_MS):
//            cleanroom  CleanupEngine + DockerBackend over the Unix socket
//                       (stop -t 10, grace 10 s: nothing is forced)
//            loop       the loop benchmark harnesses use today, one container
//                       at a time: POST /containers/{id}/stop?t=10, then
//                       DELETE /containers/{id}; each call retried up to 3
//                       times with backoff 2 s, 4 s, 8 s
//          total time, requests each sent (the mock's request log), and the
//          slowest exit for reference
//   rate   GET /containers/json?all=1 and GET /_ping per second from 4 client
//          threads, over TCP and over the Unix socket: keep-alive connections
//          (Beast) and cleanroom's HttpClient (one connection per request)
//   ps     the real `docker ps -a` against the mock with 0 and 100
//          containers, over both transports: p50 and max of --runs (10) runs
//          after one warm-up (temp DOCKER_CONFIG)
//
// Leaves nothing behind: the mock is reset (it kills and reaps every container
// process), stopped and reaped; the temp dir is removed.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "bench_support.h"
#include "cleanroom/backends/docker_backend.h"
#include "cleanroom/child_process.h"
#include "cleanroom/engine.h"
#include "cleanroom/http_client.h"
#include "cleanroom/run.h"
#include "cleanroom/selector.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;
namespace net = boost::asio;
namespace http = boost::beast::http;
using namespace std::chrono_literals;
using json = nlohmann::json;
using cleanroom::bench::msSince;
using cleanroom::bench::percentile;
using cleanroom::bench::SteadyClock;

constexpr int kSlowestExitMs = 3000;
constexpr const char* kApi = "/v1.45";

// A private temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "cr-containers-bench-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// cleanroom-mock-docker as a real process on TCP and a Unix socket.
class MockDocker {
 public:
  explicit MockDocker(const fs::path& dir) : socketPath_((dir / "docker.sock").string()) {
    auto child = cleanroom::ChildProcess::spawn({CLEANROOM_MOCK_DOCKER_PATH, "--port", "0", "--socket", socketPath_, "--log-level", "warn"});
    if (!child.ok()) throw std::runtime_error(child.error().describe());
    process_ = std::move(child).value();
    auto line = process_->readLine(15s);
    if (!line.ok()) throw std::runtime_error("cleanroom-mock-docker did not start: " + line.error().describe());
    tcpUrl_ = line.value().substr(std::string("listening on ").size());
    auto client = cleanroom::makeUnixHttpClient(socketPath_, "the mock's Unix socket");
    if (!client.ok()) throw std::runtime_error(client.error().describe());
    unix_ = std::move(client).value();
  }
  // Kills every container process (reset), then stops and reaps the mock.
  ~MockDocker() {
    (void)unix_->send({"POST", "/__cleanroom/reset", {}, "", ""}, 10s);
    process_->stop(10s);
  }

  const std::string& socketPath() const { return socketPath_; }
  std::string unixDockerHost() const { return "unix://" + socketPath_; }
  std::string tcpDockerHost() const { return "tcp://" + tcpUrl_.substr(std::string("http://").size()); }
  const std::string& tcpUrl() const { return tcpUrl_; }
  cleanroom::HttpClient& client() { return *unix_; }

  // Sends one request on the Unix socket; throws unless it is answered `expected`.
  cleanroom::HttpResponse call(const std::string& method, const std::string& target, const std::string& body,
                               int expected) {
    cleanroom::HttpRequest request{method, target, {}, body, body.empty() ? "" : "application/json"};
    auto response = unix_->send(request, 10s);
    if (!response.ok()) throw std::runtime_error(method + " " + target + ": " + response.error().describe());
    if (response.value().status != expected) {
      throw std::runtime_error(method + " " + target + ": status " + std::to_string(response.value().status) + ": " +
                               response.value().body);
    }
    return response.value();
  }

  // Kills and forgets every container, clears the request log.
  void reset() { call("POST", "/__cleanroom/reset", "", 200); }
  // Returns the request log (oldest first).
  json requests() { return json::parse(call("GET", "/__cleanroom/requests", "", 200).body); }

  // Creates and starts a container of run `runId` that exits `exitDelayMs`
  // after SIGTERM; returns its id.
  std::string startContainer(const std::string& runId, const std::string& name, int exitDelayMs) {
    const json body = {{"Image", "cleanroom/bench:1"},
                       {"Cmd", {"sleep", "infinity"}},
                       {"Labels", {{"cleanroom.run", runId}}},
                       {"Env", {"CLEANROOM_MOCK_EXIT_DELAY_MS=" + std::to_string(exitDelayMs)}}};
    const auto created = call("POST", std::string(kApi) + "/containers/create?name=" + name, body.dump(), 201);
    const std::string id = json::parse(created.body).at("Id").get<std::string>();
    call("POST", std::string(kApi) + "/containers/" + id + "/start", "", 204);
    return id;
  }

  // Returns how many containers (any state) carry cleanroom.run=<runId>.
  std::size_t countOfRun(const std::string& runId) {
    const json filters = {{"label", {"cleanroom.run=" + runId}}};
    const auto listed = call("GET", std::string(kApi) + "/containers/json?all=1&filters=" +
                                        cleanroom::urlEncode(filters.dump()), "", 200);
    return json::parse(listed.body).size();
  }

 private:
  std::string socketPath_;
  std::string tcpUrl_;
  std::unique_ptr<cleanroom::ChildProcess> process_;
  std::unique_ptr<cleanroom::HttpClient> unix_;
};

// ---- clean ---------------------------------------------------------------

int exitDelayMs(int index, int count) { return count == 1 ? kSlowestExitMs : kSlowestExitMs * index / (count - 1); }

// Starts `count` containers of a fresh run; returns their ids (oldest first).
std::vector<std::string> startContainers(MockDocker& mock, const std::string& runId, int count) {
  std::vector<std::string> ids;
  for (int i = 0; i < count; ++i) {
    ids.push_back(mock.startContainer(runId, "cr-" + runId + "-c" + std::to_string(i), exitDelayMs(i, count)));
  }
  return ids;
}

// Returns what a logged request did: "stop", "rm", "list", "inspect", "ping"…
std::string kindOf(const json& entry) {
  std::string path = entry.value("path", "");
  if (path.rfind("/v1.", 0) == 0) path = path.substr(std::min(path.size(), path.find('/', 1)));
  const std::string method = entry.value("method", "");
  if (path == "/_ping") return "ping";
  if (path == "/version") return "version";
  if (path == "/containers/json") return "list";
  if (path.rfind("/containers/", 0) != 0) return method + " " + path;
  if (method == "DELETE") return "rm";
  const std::string tail = path.substr(path.rfind('/') + 1);
  if (tail == "json") return "inspect";
  return tail;  // stop, kill, wait, start…
}

// Returns "stop 100, rm 100, list 2" for the log entries from `from` on.
std::string breakdown(const json& log, std::size_t from) {
  std::map<std::string, int> counts;
  for (std::size_t i = from; i < log.size(); ++i) ++counts[kindOf(log[i])];
  std::vector<std::pair<int, std::string>> ordered;
  for (const auto& [kind, n] : counts) ordered.emplace_back(-n, kind);
  std::sort(ordered.begin(), ordered.end());
  std::string text;
  for (const auto& [n, kind] : ordered) text += (text.empty() ? "" : ", ") + kind + " " + std::to_string(-n);
  return text;
}

struct CleanFigures {
  double totalMs = 0;
  std::size_t requests = 0;
  std::string kinds;
  int retriesOrForced = 0;
  std::size_t left = 0;
  bool clean = false;
};

void printCleanRow(const char* who, int count, const CleanFigures& f) {
  std::printf("%-10s %6d %9dms %9.0fms %9.0fms %9zu %8d %5zu  %-9s %s\n", who, count, kSlowestExitMs, f.totalMs,
              f.totalMs - kSlowestExitMs, f.requests, f.retriesOrForced, f.left, f.clean ? "clean" : "NOT CLEAN",
              f.kinds.c_str());
}

CleanFigures cleanroomCase(MockDocker& mock, int count) {
  mock.reset();
  const std::string runId = cleanroom::run::generateId();
  startContainers(mock, runId, count);
  const std::size_t before = mock.requests().size();

  cleanroom::DockerBackendOptions backendOptions;
  backendOptions.dockerHost = mock.unixDockerHost();
  backendOptions.stopTimeout = 10s;  // as the loop's stop?t=10: the daemon never kills
  cleanroom::CleanupOptions options;
  options.gracePeriod = 10s;
  cleanroom::CleanupEngine engine(options);
  engine.addBackend(std::make_shared<cleanroom::DockerBackend>(backendOptions));
  const auto start = SteadyClock::now();
  const auto report = engine.cleanup(cleanroom::Selector::forRun(runId));
  CleanFigures f;
  f.totalMs = msSince(start);

  const json log = mock.requests();
  f.requests = log.size() - before;
  f.kinds = breakdown(log, before);
  f.retriesOrForced = report.totals.forced;
  f.left = mock.countOfRun(runId);
  f.clean = report.success && f.left == 0;
  return f;
}

// One call of the loop: up to 1 + 3 attempts, backoff 2 s, 4 s, 8 s after
// a connection failure, a timeout, 429 or 5xx. Returns whether it ended in
// one of `done` (e.g. 204, 304, 404); counts retries.
bool callWithRetries(cleanroom::HttpClient& client, const std::string& method, const std::string& target,
                     std::chrono::milliseconds timeout, const std::vector<int>& done, int& retries) {
  auto delay = 2000ms;
  for (int attempt = 0;; ++attempt) {
    auto response = client.send({method, target, {}, "", ""}, timeout);
    const int status = response.ok() ? response.value().status : 0;
    if (std::find(done.begin(), done.end(), status) != done.end()) return true;
    const bool retryable = status == 0 || status == 429 || status >= 500;
    if (!retryable || attempt == 3) return false;
    ++retries;
    std::this_thread::sleep_for(delay);  // the strategy under comparison, not ours
    delay *= 2;
  }
}

CleanFigures loopCase(MockDocker& mock, int count) {
  mock.reset();
  const std::string runId = cleanroom::run::generateId();
  const auto ids = startContainers(mock, runId, count);
  const std::size_t before = mock.requests().size();

  auto client = cleanroom::makeUnixHttpClient(mock.socketPath(), "the mock's Unix socket");
  if (!client.ok()) throw std::runtime_error(client.error().describe());
  int retries = 0;
  int failures = 0;
  const auto start = SteadyClock::now();
  for (const auto& id : ids) {
    const std::string container = std::string(kApi) + "/containers/" + id;
    // docker-py's read timeout for a stop is its default 60 s plus t.
    if (!callWithRetries(*client.value(), "POST", container + "/stop?t=10", 70s, {204, 304, 404}, retries)) ++failures;
    if (!callWithRetries(*client.value(), "DELETE", container, 60s, {204, 404}, retries)) ++failures;
  }
  CleanFigures f;
  f.totalMs = msSince(start);

  const json log = mock.requests();
  f.requests = log.size() - before;
  f.kinds = breakdown(log, before);
  f.retriesOrForced = retries;
  f.left = mock.countOfRun(runId);
  f.clean = failures == 0 && f.left == 0;
  return f;
}

void cleanSection(MockDocker& mock, const std::vector<int>& counts, bool runLoop) {
  std::printf("\n## clean N containers, exits spread evenly over 0-%d s after SIGTERM (Unix socket)\n",
              kSlowestExitMs / 1000);
  std::printf("cleanroom: CleanupEngine + DockerBackend (stop -t 10, grace 10 s); forced/retries = forced stops\n");
  std::printf("loop: per container stop?t=10 then DELETE, each up to 3 retries (2 s, x2); forced/retries = retries\n");
  std::printf("%-10s %6s %11s %11s %11s %9s %8s %5s  %-9s %s\n", "who", "ctrs", "slowest", "total", "over",
              "requests", "f/retry", "left", "result", "requests by kind");
  for (int count : counts) {
    printCleanRow("cleanroom", count, cleanroomCase(mock, count));
    if (runLoop) printCleanRow("loop", count, loopCase(mock, count));
    std::fflush(stdout);
  }
}

// ---- rate ----------------------------------------------------------------

// Sends GET `target` on one keep-alive connection until `stop`; counts answers.
template <class Protocol>
void keepAliveClient(typename Protocol::endpoint endpoint, const std::string& target, const std::atomic<bool>& stop,
                     std::atomic<long>& answered) {
  net::io_context io;
  typename Protocol::socket socket(io);
  socket.connect(endpoint);
  http::request<http::empty_body> request{http::verb::get, target, 11};
  request.set(http::field::host, "docker");
  request.keep_alive(true);
  boost::beast::flat_buffer buffer;
  while (!stop) {
    http::write(socket, request);
    http::response<http::string_body> response;
    http::read(socket, buffer, response);
    if (response.result_int() != 200) break;
    ++answered;
  }
}

// Sends GET `target` through cleanroom's HttpClient (a connection per request).
void cleanroomClient(cleanroom::HttpClient& client, const std::string& target, const std::atomic<bool>& stop,
                     std::atomic<long>& answered) {
  while (!stop) {
    auto response = client.send({"GET", target, {}, "", ""}, 5s);
    if (!response.ok() || response.value().status != 200) break;
    ++answered;
  }
}

// Runs `clients` threads of `body` for `window`; returns answers per second.
double measureRate(int clients, std::chrono::milliseconds window,
                   const std::function<void(const std::atomic<bool>&, std::atomic<long>&)>& body) {
  std::atomic<bool> stop{false};
  std::atomic<long> answered{0};
  std::vector<std::thread> threads;
  const auto start = SteadyClock::now();
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&] {
      try {
        body(stop, answered);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "rate client: %s\n", e.what());
      }
    });
  }
  std::this_thread::sleep_for(window);  // the measurement window of the benchmark
  stop = true;
  for (auto& t : threads) t.join();
  return static_cast<double>(answered.load()) / (msSince(start) / 1000.0);
}

void rateSection(MockDocker& mock) {
  constexpr int kClients = 4;
  constexpr int kContainers = 10;
  mock.reset();
  startContainers(mock, cleanroom::run::generateId(), kContainers);
  const std::string port = mock.tcpUrl().substr(mock.tcpUrl().rfind(':') + 1);
  const net::ip::tcp::endpoint tcpEndpoint(net::ip::make_address("127.0.0.1"),
                                           static_cast<unsigned short>(std::stoi(port)));
  const net::local::stream_protocol::endpoint unixEndpoint(mock.socketPath());
  auto tcpClient = cleanroom::makeHttpClient(mock.tcpUrl(), "the mock's TCP port");
  if (!tcpClient.ok()) throw std::runtime_error(tcpClient.error().describe());
  cleanroom::HttpClient& unixClient = mock.client();

  std::printf("\n## cleanroom-mock-docker request rate: %d client threads, %u cores, %d running containers, 3 s each\n",
              kClients, std::thread::hardware_concurrency(), kContainers);
  std::printf("%-40s %18s %18s\n", "request", "TCP req/s", "Unix socket req/s");
  for (const std::string& target : {std::string(kApi) + "/containers/json?all=1", std::string("/_ping")}) {
    const double tcpKeepAlive = measureRate(kClients, 3000ms, [&](const auto& stop, auto& answered) {
      keepAliveClient<net::ip::tcp>(tcpEndpoint, target, stop, answered);
    });
    const double unixKeepAlive = measureRate(kClients, 3000ms, [&](const auto& stop, auto& answered) {
      keepAliveClient<net::local::stream_protocol>(unixEndpoint, target, stop, answered);
    });
    const double tcpPerRequest = measureRate(kClients, 3000ms, [&](const auto& stop, auto& answered) {
      cleanroomClient(*tcpClient.value(), target, stop, answered);
    });
    const double unixPerRequest = measureRate(kClients, 3000ms, [&](const auto& stop, auto& answered) {
      cleanroomClient(unixClient, target, stop, answered);
    });
    const std::string shown = target.substr(0, target.find('?')) == "/_ping" ? "GET /_ping" : "GET /containers/json?all=1";
    std::printf("%-40s %18.0f %18.0f\n", (shown + " keep-alive").c_str(), tcpKeepAlive, unixKeepAlive);
    std::printf("%-40s %18.0f %18.0f\n", (shown + " HttpClient*").c_str(), tcpPerRequest, unixPerRequest);
    std::fflush(stdout);
  }
  std::printf("* cleanroom's HttpClient: one connection per request (as the DockerBackend sends)\n");
  mock.reset();
}

// ---- ps ------------------------------------------------------------------

struct Ran {
  int exitStatus = -1;
  std::string output;
  double ms = 0;
};

// Runs argv with the given extra environment, stdout+stderr captured; waits
// for its exit (waitpid on its pid).
Ran runCaptured(const std::vector<std::string>& argv, const std::map<std::string, std::string>& overrides) {
  std::vector<std::string> envText;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    if (overrides.count(entry.substr(0, entry.find('='))) == 0) envText.push_back(entry);
  }
  for (const auto& [name, value] : overrides) envText.push_back(name + "=" + value);
  std::vector<char*> envp, args;
  for (auto& e : envText) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> argvCopy = argv;
  for (auto& a : argvCopy) args.push_back(a.data());
  args.push_back(nullptr);

  int pipeFds[2];
  if (::pipe2(pipeFds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipeFds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, pipeFds[1], 2);
  Ran ran;
  const auto start = SteadyClock::now();
  pid_t pid = -1;
  const int spawned = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipeFds[1]);
  if (spawned != 0) {
    ::close(pipeFds[0]);
    throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(spawned));
  }
  char buffer[65536];
  for (ssize_t n; (n = ::read(pipeFds[0], buffer, sizeof buffer)) != 0;) {
    if (n > 0) ran.output.append(buffer, static_cast<std::size_t>(n));
    if (n < 0 && errno != EINTR) break;
  }
  ::close(pipeFds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  ran.ms = msSince(start);
  ran.exitStatus = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return ran;
}

std::string findDocker() {
  for (const char* candidate : {"/usr/bin/docker", "/usr/local/bin/docker"}) {
    if (::access(candidate, X_OK) == 0) return candidate;
  }
  return "";
}

void psSection(MockDocker& mock, const fs::path& dir, const std::string& docker, int runs) {
  std::printf("\n## real `docker ps -a` against cleanroom-mock-docker (%s; %d runs after 1 warm-up)\n",
              docker.empty() ? "no docker CLI" : docker.c_str(), runs);
  if (docker.empty()) {
    std::printf("skipped: no docker CLI at /usr/bin/docker or /usr/local/bin/docker (pass --docker PATH)\n");
    return;
  }
  const fs::path config = dir / "docker-config";
  fs::create_directories(config);
  std::printf("%-12s %-6s %10s %10s %6s %10s\n", "containers", "via", "p50", "max", "rows", "requests");
  for (int count : {0, 100}) {
    mock.reset();
    startContainers(mock, cleanroom::run::generateId(), count);
    for (const auto& [via, host] : {std::pair{"unix", mock.unixDockerHost()}, std::pair{"tcp", mock.tcpDockerHost()}}) {
      const std::map<std::string, std::string> env = {{"DOCKER_HOST", host}, {"DOCKER_CONFIG", config.string()}};
      runCaptured({docker, "ps", "-a"}, env);  // warm-up
      const std::size_t before = mock.requests().size();
      std::vector<double> ms;
      Ran last;
      for (int i = 0; i < runs; ++i) {
        last = runCaptured({docker, "ps", "-a"}, env);
        ms.push_back(last.ms);
      }
      const std::size_t requests = mock.requests().size() - before;
      const auto rows = std::count(last.output.begin(), last.output.end(), '\n') - 1;
      std::printf("%-12d %-6s %8.1fms %8.1fms %6ld %10.1f%s\n", count, via, percentile(ms, 0.5),
                  *std::max_element(ms.begin(), ms.end()), static_cast<long>(rows),
                  static_cast<double>(requests) / runs,
                  last.exitStatus == 0 ? "" : ("  (exit " + std::to_string(last.exitStatus) + ": " + last.output + ")").c_str());
      std::fflush(stdout);
    }
  }
  std::printf("rows: lines `docker ps -a` printed below its header; requests: per run, from the mock's log\n");
  mock.reset();
}

// ---- main ----------------------------------------------------------------

// Parses "10,100"; empty when malformed.
std::vector<int> parseCounts(const std::string& text) {
  std::vector<int> counts;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, comma - start);
    if (item.empty() || item.find_first_not_of("0123456789") != std::string::npos || item.size() > 4) return {};
    counts.push_back(std::stoi(item));
    if (counts.back() == 0) return {};
    start = comma + 1;
  }
  return counts;
}

int usage() {
  std::fprintf(stderr,
               "usage: cleanroom_containers_bench [clean] [rate] [ps] [--containers 10,100] [--no-loop] "
               "[--docker PATH] [--runs N]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  std::vector<std::string> sections;
  std::vector<int> counts{10, 100};
  bool runLoop = true;
  std::string docker = findDocker();
  int runs = 10;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const bool hasValue = i + 1 < args.size();
    if (args[i] == "clean" || args[i] == "rate" || args[i] == "ps") {
      sections.push_back(args[i]);
    } else if (args[i] == "--containers" && hasValue && !parseCounts(args[i + 1]).empty()) {
      counts = parseCounts(args[++i]);
    } else if (args[i] == "--no-loop") {
      runLoop = false;
    } else if (args[i] == "--docker" && hasValue) {
      docker = args[++i];
    } else if (args[i] == "--runs" && hasValue && std::atoi(args[i + 1].c_str()) > 0) {
      runs = std::atoi(args[++i].c_str());
    } else {
      return usage();
    }
  }
  auto wanted = [&](const std::string& name) {
    return sections.empty() || std::find(sections.begin(), sections.end(), name) != sections.end();
  };
  std::printf("# cleanroom container benchmarks\nmachine: %s (nproc %u)\n",
              cleanroom::bench::machineDescription().c_str(), std::thread::hardware_concurrency());
  try {
    TempDir dir;
    MockDocker mock(dir.path());
    std::printf("mock: cleanroom-mock-docker on %s and %s\n", mock.tcpDockerHost().c_str(),
                mock.unixDockerHost().c_str());
    if (wanted("clean")) cleanSection(mock, counts, runLoop);
    if (wanted("rate")) rateSection(mock);
    if (wanted("ps")) psSection(mock, dir.path(), docker, runs);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "containers bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
