// Test support for the Unix-socket transport: a private temporary directory
// and a raw one-request-per-connection Unix-socket server that answers with
// canned bytes (chunked bodies, bodies up to close, dropped connections,
// silence), which an HTTP library server would not produce.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

namespace cleanroom::tests {

// A fresh directory under /tmp (short, so socket paths fit), removed with
// everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    std::string pattern = "/tmp/cr-dkr-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string path(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Serves connections one at a time: reads one request head (and a body of
// its Content-Length), then writes what `answer` returns for it and closes;
// nullopt = stay silent until the client hangs up; "" = close at once.
class RawUnixServer {
 public:
  using Answer = std::function<std::optional<std::string>(const std::string& request)>;

  RawUnixServer(std::string path, Answer answer) : path_(std::move(path)), answer_(std::move(answer)) {
    listener_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    path_.copy(address.sun_path, sizeof(address.sun_path) - 1);
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 || ::listen(listener_, 16) != 0) {
      ::close(listener_);
      throw std::runtime_error("RawUnixServer: cannot listen on " + path_);
    }
    thread_ = std::thread([this] { serve(); });
  }
  ~RawUnixServer() {
    ::shutdown(listener_, SHUT_RDWR);  // wakes accept()
    thread_.join();
    ::close(listener_);
    ::unlink(path_.c_str());
  }
  RawUnixServer(const RawUnixServer&) = delete;
  RawUnixServer& operator=(const RawUnixServer&) = delete;

  // The last request received (head and body).
  std::string lastRequest() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return last_;
  }

 private:
  void serve() {
    for (;;) {
      int connection = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (connection < 0) return;
      std::string request = readRequest(connection);
      {
        std::lock_guard<std::mutex> lock(mutex_);
        last_ = request;  // before answering: the client sees it once answered
      }
      std::optional<std::string> answer = answer_(request);
      if (answer) writeAll(connection, *answer);
      if (!answer) waitForHangUp(connection);
      ::close(connection);
    }
  }

  static std::string readRequest(int connection) {
    std::string data;
    char buffer[4096];
    size_t headEnd = std::string::npos;
    while (headEnd == std::string::npos) {
      ssize_t n = ::read(connection, buffer, sizeof(buffer));
      if (n <= 0) return data;
      data.append(buffer, static_cast<size_t>(n));
      headEnd = data.find("\r\n\r\n");
    }
    size_t length = 0;
    size_t at = data.find("Content-Length: ");
    if (at != std::string::npos && at < headEnd) length = std::stoul(data.substr(at + 16));
    while (data.size() < headEnd + 4 + length) {
      ssize_t n = ::read(connection, buffer, sizeof(buffer));
      if (n <= 0) break;
      data.append(buffer, static_cast<size_t>(n));
    }
    return data;
  }

  static void writeAll(int connection, const std::string& bytes) {
    size_t sent = 0;
    while (sent < bytes.size()) {
      ssize_t n = ::send(connection, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += static_cast<size_t>(n);
    }
  }

  static void waitForHangUp(int connection) {
    char byte;
    while (::read(connection, &byte, 1) > 0) {
    }
  }

  std::string path_;
  Answer answer_;
  int listener_ = -1;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::string last_;
};

}  // namespace cleanroom::tests
