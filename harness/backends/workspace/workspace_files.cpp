// PosixWorkspaceFiles, the real WorkspaceFiles: POSIX calls (renameat2, open/fsync, unlink) and
// std::filesystem for directories. Each call is one attempt; errors are
// returned as errno-style codes, never thrown.
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>

#include "cleanroom/backends/workspace_backend.h"

namespace cleanroom {
namespace {

namespace fs = std::filesystem;

std::error_code lastError() { return {errno, std::generic_category()}; }

// Closes a descriptor when it goes out of scope.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Closes now and returns close()'s error (a delayed write error shows here).
  std::error_code close() {
    int fd = fd_;
    fd_ = -1;
    return ::close(fd) == 0 ? std::error_code() : lastError();
  }

 private:
  int fd_;
};

// Best effort: makes a rename or a new entry in `dir` durable. The operation
// itself already happened, so a failure here is not reported.
void syncDirectory(const fs::path& dir) {
  FileDescriptor fd(::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.valid()) ::fsync(fd.get());
}

// Writes all of `data`, retrying short writes and EINTR.
std::error_code writeAll(int fd, const char* data, size_t length) {
  while (length > 0) {
    ssize_t written = ::write(fd, data, length);
    if (written < 0 && errno == EINTR) continue;
    if (written < 0) return lastError();
    data += written;
    length -= static_cast<size_t>(written);
  }
  return {};
}

std::error_code copyBytes(int from, int to) {
  std::array<char, 64 * 1024> buffer{};
  for (;;) {
    ssize_t got = ::read(from, buffer.data(), buffer.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return lastError();
    if (got == 0) return {};
    if (std::error_code ec = writeAll(to, buffer.data(), static_cast<size_t>(got))) return ec;
  }
}

// For filesystems without RENAME_NOREPLACE: link() never replaces either.
std::error_code linkThenUnlink(const fs::path& from, const fs::path& to) {
  if (::link(from.c_str(), to.c_str()) != 0) return lastError();
  if (::unlink(from.c_str()) != 0) return lastError();
  return {};
}

}  // namespace

std::error_code PosixWorkspaceFiles::renameNoReplace(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) != 0) ec = lastError();
  if (ec == std::errc::invalid_argument || ec == std::errc::function_not_supported) ec = linkThenUnlink(from, to);
  if (ec) return ec;
  syncDirectory(to.parent_path());
  syncDirectory(from.parent_path());
  return {};
}

std::error_code PosixWorkspaceFiles::copyAndSync(const fs::path& from, const fs::path& to) {
  FileDescriptor source(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
  if (!source.valid()) return lastError();
  struct stat info {};
  if (::fstat(source.get(), &info) != 0) return lastError();
  FileDescriptor target(::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, info.st_mode & 07777));
  if (!target.valid()) return lastError();
  if (std::error_code ec = copyBytes(source.get(), target.get())) return ec;
  if (::fsync(target.get()) != 0) return lastError();
  if (std::error_code ec = target.close()) return ec;
  syncDirectory(to.parent_path());
  return {};
}

std::error_code PosixWorkspaceFiles::remove(const fs::path& file) {
  if (::unlink(file.c_str()) != 0) return lastError();
  return {};
}

std::error_code PosixWorkspaceFiles::fileSize(const fs::path& file, std::uintmax_t& size) {
  struct stat info {};
  if (::stat(file.c_str(), &info) != 0) return lastError();
  size = static_cast<std::uintmax_t>(info.st_size);
  return {};
}

std::error_code PosixWorkspaceFiles::createDirectories(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  return ec;
}

std::error_code PosixWorkspaceFiles::listFiles(const fs::path& dir, std::vector<std::string>& names) {
  names.clear();
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code typeError;
    if (it->symlink_status(typeError).type() == fs::file_type::directory) continue;
    names.push_back(it->path().filename().string());
  }
  return ec;
}

bool PosixWorkspaceFiles::isDirectory(const fs::path& path) {
  std::error_code ec;
  return fs::is_directory(path, ec);
}

WorkspaceFiles& WorkspaceFiles::real() {
  static PosixWorkspaceFiles files;
  return files;
}

}  // namespace cleanroom
