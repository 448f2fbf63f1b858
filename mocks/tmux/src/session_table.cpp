#include "cleanroom/mocks/tmux/session_table.h"

#include <algorithm>
#include <ctime>

namespace cleanroom::mocks::tmux {
namespace {

std::string ctimeText(const std::string& seconds) {
  std::time_t when = 0;
  try {
    when = static_cast<std::time_t>(std::stoll(seconds));
  } catch (const std::exception&) {
    return "";
  }
  char buffer[64] = {};
  if (::ctime_r(&when, buffer) == nullptr) return "";
  std::string text(buffer);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

std::string expandVariable(const std::string& body, const FormatLookup& lookup) {
  std::string value;
  if (body.starts_with("t:")) {
    return lookup(body.substr(2), value) ? ctimeText(value) : "";
  }
  if (body.find(':') != std::string::npos || body.starts_with("?")) return "";
  return lookup(body, value) ? value : "";
}

}  // namespace

std::string sanitiseSessionName(std::string name) {
  std::replace(name.begin(), name.end(), '.', '_');
  std::replace(name.begin(), name.end(), ':', '_');
  return name;
}

Session& SessionTable::add(const std::string& name, std::int64_t created, pid_t panePid,
                           int ptyMaster) {
  Session session;
  session.name = name;
  session.id = nextSessionId_++;
  session.created = created;
  session.panePid = panePid;
  session.paneId = nextPaneId_++;
  session.ptyMaster = ptyMaster;
  return sessions_[name] = session;
}

Session* SessionTable::findExact(const std::string& name) {
  auto it = sessions_.find(name);
  return it == sessions_.end() ? nullptr : &it->second;
}

Session* SessionTable::findTarget(const std::string& target) {
  std::string name = target.substr(0, target.find(':'));
  if (name.empty()) {
    Session* newest = nullptr;
    for (auto& [key, session] : sessions_) {
      if (newest == nullptr || session.id > newest->id) newest = &session;
    }
    return newest;
  }
  if (name.front() == '=') return findExact(name.substr(1));
  if (name.front() == '$') {
    for (auto& [key, session] : sessions_) {
      if ("$" + std::to_string(session.id) == name) return &session;
    }
    return nullptr;
  }
  if (Session* exact = findExact(name)) return exact;
  Session* prefixMatch = nullptr;
  for (auto& [key, session] : sessions_) {
    if (!key.starts_with(name)) continue;
    if (prefixMatch != nullptr) return nullptr;
    prefixMatch = &session;
  }
  return prefixMatch;
}

Session* SessionTable::findByPanePid(pid_t pid) {
  for (auto& [key, session] : sessions_) {
    if (session.panePid == pid) return &session;
  }
  return nullptr;
}

void SessionTable::remove(const std::string& name) { sessions_.erase(name); }

std::vector<Session*> SessionTable::sortedByName() {
  std::vector<Session*> sorted;
  for (auto& [key, session] : sessions_) sorted.push_back(&session);
  return sorted;  // std::map keeps them ordered by name
}

std::string SessionTable::nextDefaultName() const {
  for (int n = 0;; ++n) {
    if (sessions_.count(std::to_string(n)) == 0) return std::to_string(n);
  }
}

std::string expandFormat(const std::string& format, const FormatLookup& lookup) {
  std::string out;
  for (std::size_t i = 0; i < format.size(); ++i) {
    const char c = format[i];
    if (c != '#' || i + 1 == format.size()) {
      out += c;
      continue;
    }
    const char next = format[i + 1];
    if (next == '#') {
      out += '#';
      ++i;
      continue;
    }
    if (next != '{') {
      out += c;
      continue;
    }
    const auto close = format.find('}', i + 2);
    if (close == std::string::npos) {
      out += format.substr(i);
      break;
    }
    out += expandVariable(format.substr(i + 2, close - i - 2), lookup);
    i = close;
  }
  return out;
}

}  // namespace cleanroom::mocks::tmux
