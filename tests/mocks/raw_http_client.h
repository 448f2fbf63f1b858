// Test helper: a minimal blocking HTTP/1.1 client over one TCP or Unix socket,
// for what httplib::Client cannot do on purpose: several requests on one
// visible connection, Expect: 100-continue, hand-written chunked bodies.
// Every read gives up after a timeout so that a broken server fails a test
// instead of hanging it.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>

namespace cleanroom::mocks::testing {

struct RawResponse {
  std::string statusLine;
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

class RawHttpConnection {
 public:
  static RawHttpConnection tcp(std::uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      ::close(fd);
      throw std::runtime_error("connect failed");
    }
    return RawHttpConnection(fd);
  }

  static RawHttpConnection unixSocket(const std::string& path) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      ::close(fd);
      throw std::runtime_error("connect failed");
    }
    return RawHttpConnection(fd);
  }

  RawHttpConnection(RawHttpConnection&& other) noexcept : fd_(other.fd_), buffer_(std::move(other.buffer_)) {
    other.fd_ = -1;
  }
  ~RawHttpConnection() {
    if (fd_ >= 0) ::close(fd_);
  }

  void send(const std::string& data) {
    std::size_t sent = 0;
    while (sent < data.size()) {
      ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) throw std::runtime_error("send failed");
      sent += static_cast<std::size_t>(n);
    }
  }

  // Reads one response (status line, headers, Content-Length body); a HEAD
  // response or a 1xx/204/304 has no body. Throws on timeout or EOF.
  RawResponse readResponse(bool headRequest = false) {
    RawResponse response;
    const std::string head = readUntil("\r\n\r\n");
    const auto firstLineEnd = head.find("\r\n");
    response.statusLine = head.substr(0, firstLineEnd);
    response.status = std::stoi(response.statusLine.substr(9, 3));
    std::size_t position = firstLineEnd + 2;
    while (position < head.size()) {
      const auto end = head.find("\r\n", position);
      const std::string line = head.substr(position, end - position);
      position = end + 2;
      const auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      response.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
    }
    const bool bodyless = headRequest || response.status < 200 || response.status == 204 || response.status == 304;
    auto length = response.headers.find("content-length");
    if (!bodyless && length != response.headers.end()) response.body = readExactly(std::stoul(length->second));
    return response;
  }

  // Returns true if and only if the peer closed the connection (EOF) within the timeout.
  bool closedByPeer(int timeoutMs = 5000) {
    if (!buffer_.empty()) return false;
    char byte = 0;
    if (!waitReadable(timeoutMs)) return false;
    return ::recv(fd_, &byte, 1, 0) <= 0;
  }

 private:
  explicit RawHttpConnection(int fd) : fd_(fd) {}

  bool waitReadable(int timeoutMs) {
    pollfd pfd{fd_, POLLIN, 0};
    return ::poll(&pfd, 1, timeoutMs) > 0;
  }

  void fill() {
    if (!waitReadable(5000)) throw std::runtime_error("timed out reading the response");
    char chunk[4096];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) throw std::runtime_error("connection closed while reading the response");
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }

  std::string readUntil(const std::string& delimiter) {
    std::size_t found;
    while ((found = buffer_.find(delimiter)) == std::string::npos) fill();
    std::string data = buffer_.substr(0, found + delimiter.size());
    buffer_.erase(0, found + delimiter.size());
    return data;
  }

  std::string readExactly(std::size_t size) {
    while (buffer_.size() < size) fill();
    std::string data = buffer_.substr(0, size);
    buffer_.erase(0, size);
    return data;
  }

  int fd_ = -1;
  std::string buffer_;
};

}  // namespace cleanroom::mocks::testing
