// DockerEngineMock: the Docker Engine API mock (cleanroom-mock-docker) as a
// library, for tests that start it in-process (TCP port 0 and/or a Unix
// socket). The docker CLI (28) and docker-py (7.1) accept it for: version
// negotiation, run -d / create / start, ps with filters, inspect, stop -t,
// kill, wait, rm -f, logs and container prune. Every route answers with any
// "/v1.NN" prefix and without one:
//   HEAD|GET /_ping                 200 "OK", Api-Version: 1.45, Ostype: linux
//   GET  /version, /info            engine facts (ApiVersion 1.45, MinAPIVersion 1.24)
//   POST /containers/create?name=N  201 {"Id","Warnings":[]} | 400 | 409 name in use
//   GET  /containers/json?all=&limit=&filters=   summaries, newest first
//   GET  /containers/{ref}/json     inspect | 404 {"message":"No such container: ref"}
//   POST /containers/{ref}/start    204 | 304 running
//   POST /containers/{ref}/stop?t=&signal=      204 once exited | 304 not running
//   POST /containers/{ref}/restart?t=&signal=   204
//   POST /containers/{ref}/kill?signal=         204 | 409 not running
//   POST /containers/{ref}/wait?condition=not-running|next-exit|removed
//        long-poll: 200 {"StatusCode":N,"Error":null}
//   GET  /containers/{ref}/logs?stdout=&stderr=&tail=&timestamps=&follow=
//        multiplexed stream (raw for Tty); follow waits for the exit, then answers
//   DELETE /containers/{ref}?force=&v=         204 | 409 running | 404
//   POST /containers/prune?filters=  {"ContainersDeleted":[...]|null,"SpaceReclaimed":0}
//   GET  /images/{name}/json        200 for images containers were created from, else 404
// plus the /__cleanroom control API (state = {"containers":[inspect...]}; reset
// kills every container process). Errors are {"message": "..."} as docker's.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace cleanroom::mocks::docker {

struct DockerEngineMockOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;       // 0 = pick a free port
  bool tcp = true;              // false = serve only the Unix socket
  std::string unixSocketPath;   // non-empty = also serve this Unix socket (< 108 bytes)
};

class DockerEngineMock {
 public:
  explicit DockerEngineMock(DockerEngineMockOptions options = {});
  // Calls stop().
  ~DockerEngineMock();
  DockerEngineMock(const DockerEngineMock&) = delete;
  DockerEngineMock& operator=(const DockerEngineMock&) = delete;

  // Binds every endpoint and starts serving; returns once requests are
  // accepted. Throws std::invalid_argument for a bad option (no endpoint, a
  // socket path of 108 bytes or more) and std::system_error when binding fails.
  void start();
  // Wakes every long-poll, kills and reaps every container process, closes
  // every connection and joins all threads. Blocks until done. Idempotent.
  void stop();

  // Returns "http://HOST:PORT" (TCP served) or "unix://PATH" (Unix socket only).
  std::string url() const;
  // Returns the DOCKER_HOST value for the TCP endpoint, "tcp://HOST:PORT" ("" without TCP).
  std::string tcpDockerHost() const;
  // Returns the DOCKER_HOST value for the Unix socket, "unix://PATH" ("" without one).
  std::string unixDockerHost() const;
  // Returns the bound TCP port; 0 without TCP or before start().
  std::uint16_t port() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cleanroom::mocks::docker
