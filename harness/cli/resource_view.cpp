#include "resource_view.h"

#include <algorithm>
#include <ctime>
#include <sstream>

#include "cleanroom/duration.h"

namespace cleanroom::cli {
namespace {

// Rows of cells printed in left-aligned columns two spaces apart.
class TextTable {
 public:
  explicit TextTable(std::vector<std::string> header) { rows_.push_back(std::move(header)); }

  void addRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }

  std::string render() const {
    std::vector<std::size_t> widths(rows_.front().size(), 0);
    for (const auto& row : rows_) {
      for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
    }
    std::ostringstream out;
    for (const auto& row : rows_) out << renderRow(row, widths) << '\n';
    return out.str();
  }

 private:
  static std::string renderRow(const std::vector<std::string>& row, const std::vector<std::size_t>& widths) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      const bool last = i + 1 == row.size();
      line += last ? row[i] : row[i] + std::string(widths[i] - row[i].size() + 2, ' ');
    }
    return line;
  }

  std::vector<std::vector<std::string>> rows_;
};

std::string orDash(const std::string& text) { return text.empty() ? "-" : text; }

std::string ageText(const Resource& resource, WallTime now) {
  if (!resource.createdAt) return "-";
  return formatDuration(std::chrono::duration_cast<milliseconds>(now - *resource.createdAt));
}

std::string statusWord(const std::string& status, ResourceState state) {
  return status.empty() ? toString(state) : status;
}

}  // namespace

std::string formatTimestamp(WallTime time) {
  const auto sinceEpoch = std::chrono::duration_cast<milliseconds>(time.time_since_epoch());
  const auto millis = ((sinceEpoch.count() % 1000) + 1000) % 1000;
  const std::time_t seconds = std::chrono::system_clock::to_time_t(time - milliseconds(millis));
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  char withMillis[40];
  std::snprintf(withMillis, sizeof withMillis, "%s.%03dZ", text, static_cast<int>(millis));
  return withMillis;
}

nlohmann::json resourceJson(const Resource& resource, WallTime now) {
  nlohmann::json json = {{"backend", resource.backend}, {"id", resource.id},
                         {"name", resource.name},       {"state", toString(resource.state)},
                         {"status", resource.status},   {"runId", resource.runId},
                         {"labels", resource.labels}};
  json["createdAt"] = resource.createdAt ? nlohmann::json(formatTimestamp(*resource.createdAt)) : nlohmann::json();
  json["ageMs"] = resource.createdAt
                      ? nlohmann::json(std::chrono::duration_cast<milliseconds>(now - *resource.createdAt).count())
                      : nlohmann::json();
  return json;
}

std::string resourceTable(const std::vector<Resource>& resources, WallTime now) {
  TextTable table({"BACKEND", "ID", "NAME", "STATE", "STATUS", "AGE", "RUN"});
  for (const auto& r : resources) {
    table.addRow({r.backend, r.id, orDash(r.name), toString(r.state), orDash(r.status), ageText(r, now),
                  orDash(r.runId)});
  }
  return table.render();
}

std::string outcomeWord(const ResourceReport& resource, bool dryRun) {
  if (resource.skipped) return dryRun ? "would stop" : "skipped";
  if (!resource.errors.empty()) return "failed";
  if (!resource.cleaned) return "left";
  return resource.forced ? "forced" : "cleaned";
}

std::string reportTable(const CleanupReport& report) {
  if (report.resources.empty()) return "";
  TextTable table({"BACKEND", "ID", "NAME", "BEFORE", "AFTER", "RESULT", "ATTEMPTS", "TIME"});
  for (const auto& r : report.resources) {
    table.addRow({r.backend, r.id, orDash(r.name), orDash(r.initialStatus), statusWord(r.finalStatus, r.finalState),
                  outcomeWord(r, report.dryRun), std::to_string(r.attempts), formatDuration(r.duration)});
  }
  return table.render();
}

}  // namespace cleanroom::cli
