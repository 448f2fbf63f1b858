// Test support for the workspace backend: a temporary workspace directory
// (mkdtemp, removed at the end) and FaultyFiles, a WorkspaceFiles that runs
// the real operations but fails chosen ones with chosen errors.
#pragma once

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "cleanroom/backends/workspace_backend.h"

namespace cleanroom::tests {

namespace fs = std::filesystem;

// A directory made with mkdtemp under `parent`, removed with everything in
// it when the object dies.
class TempDir {
 public:
  explicit TempDir(const fs::path& parent = fs::temp_directory_path()) {
    std::string pattern = (parent / "cr-workspace-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed under " + parent.string());
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }

  // Writes `content` to `relative`, creating parent directories.
  void write(const std::string& relative, const std::string& content) const {
    fs::path file = path_ / relative;
    fs::create_directories(file.parent_path());
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out) throw std::runtime_error("cannot write " + file.string());
  }
  // Returns the bytes of `relative`.
  std::string read(const std::string& relative) const {
    std::ifstream in(path_ / relative, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + (path_ / relative).string());
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }
  bool exists(const std::string& relative) const {
    std::error_code ec;
    return fs::exists(fs::symlink_status(path_ / relative, ec));
  }
  // Returns the names of the entries in `relative` (sorted), empty when it does not exist.
  std::vector<std::string> entries(const std::string& relative) const {
    std::vector<std::string> names;
    std::error_code ec;
    for (fs::directory_iterator it(path_ / relative, ec), end; !ec && it != end; it.increment(ec)) {
      names.push_back(it->path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

 private:
  fs::path path_;
};

// The real file operations, except those matching a rule: those fail with the
// rule's error. Records every call as "<op> <path>" so tests can prove a
// call (say, deleting an original) never happened. Thread-safe.
class FaultyFiles : public PosixWorkspaceFiles {
 public:
  enum class Op { Rename, Copy, Remove, Size, CreateDirectories, List };

  // Makes `op` fail with `error` for every path containing `fragment` (for
  // Rename and Copy: the source path). Rules are checked in order.
  void fail(Op op, std::string fragment, std::errc error) {
    std::lock_guard<std::mutex> lock(mutex_);
    rules_.push_back({op, std::move(fragment), std::make_error_code(error), nullptr});
  }
  // Makes `op` fail with `error` for paths matching `predicate`.
  void failWhen(Op op, std::function<bool(const fs::path&)> predicate, std::errc error) {
    std::lock_guard<std::mutex> lock(mutex_);
    rules_.push_back({op, "", std::make_error_code(error), std::move(predicate)});
  }
  // A failing Copy writes this many bytes of the source first (a disk that
  // fills up mid-copy).
  void writeBeforeCopyFails(size_t bytes) { partialBytes_ = bytes; }
  // Called after every successful copy with (from, to): e.g. an agent that
  // keeps appending to its log.
  void afterCopy(std::function<void(const fs::path&, const fs::path&)> hook) { afterCopy_ = std::move(hook); }

  std::vector<std::string> calls() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return calls_;
  }
  bool called(const std::string& call) const {
    std::vector<std::string> all = calls();
    return std::find(all.begin(), all.end(), call) != all.end();
  }

  std::error_code renameNoReplace(const fs::path& from, const fs::path& to) override {
    if (std::error_code ec = check(Op::Rename, "rename", from)) return ec;
    return PosixWorkspaceFiles::renameNoReplace(from, to);
  }
  std::error_code copyAndSync(const fs::path& from, const fs::path& to) override {
    if (std::error_code ec = check(Op::Copy, "copy", from)) {
      writePartial(from, to);
      return ec;
    }
    std::error_code ec = PosixWorkspaceFiles::copyAndSync(from, to);
    if (!ec && afterCopy_) afterCopy_(from, to);
    return ec;
  }
  std::error_code remove(const fs::path& file) override {
    if (std::error_code ec = check(Op::Remove, "remove", file)) return ec;
    return PosixWorkspaceFiles::remove(file);
  }
  std::error_code fileSize(const fs::path& file, std::uintmax_t& size) override {
    if (std::error_code ec = check(Op::Size, "size", file)) return ec;
    return PosixWorkspaceFiles::fileSize(file, size);
  }
  std::error_code createDirectories(const fs::path& dir) override {
    if (std::error_code ec = check(Op::CreateDirectories, "mkdir", dir)) return ec;
    return PosixWorkspaceFiles::createDirectories(dir);
  }
  std::error_code listFiles(const fs::path& dir, std::vector<std::string>& names) override {
    if (std::error_code ec = check(Op::List, "list", dir)) return ec;
    return PosixWorkspaceFiles::listFiles(dir, names);
  }

 private:
  struct Rule {
    Op op;
    std::string fragment;
    std::error_code error;
    std::function<bool(const fs::path&)> predicate;
  };

  std::error_code check(Op op, const std::string& name, const fs::path& path) {
    std::lock_guard<std::mutex> lock(mutex_);
    calls_.push_back(name + " " + path.string());
    for (const Rule& rule : rules_) {
      if (rule.op != op) continue;
      bool hit = rule.predicate ? rule.predicate(path) : path.string().find(rule.fragment) != std::string::npos;
      if (hit) return rule.error;
    }
    return {};
  }

  void writePartial(const fs::path& from, const fs::path& to) const {
    if (partialBytes_ == 0) return;
    std::ifstream in(from, std::ios::binary);
    std::string bytes(partialBytes_, '\0');
    in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    std::ofstream out(to, std::ios::binary);
    out.write(bytes.data(), in.gcount());
  }

  mutable std::mutex mutex_;
  std::vector<Rule> rules_;
  std::vector<std::string> calls_;
  size_t partialBytes_ = 0;
  std::function<void(const fs::path&, const fs::path&)> afterCopy_;
};

// Returns true for a path outside any "archive" directory: a rename of an
// original log (as opposed to the temporary file inside archive/).
inline bool outsideArchive(const fs::path& path) {
  return path.parent_path().filename() != "archive";
}

}  // namespace cleanroom::tests
