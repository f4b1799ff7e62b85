#pragma once
// Logging facade on spdlog: one named logger per component, every line one ECS-style JSON object.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <spdlog/logger.h>

#include "core/result.h"

namespace fim::core {

struct LogOptions {
  bool toStderr = false;            // -e: JSON lines to stderr only
  bool toFiles = true;              // else (and not toStderr) lines are discarded, as in beats
  std::string logsDir;              // path.logs
  std::string fileName = "fimbeat"; // file is <logsDir>/<fileName>.ndjson, rotated to <fileName>.1.ndjson ...
  std::uint64_t rotateEveryBytes = 10 * 1024 * 1024;
  int keepFiles = 7;                // rotated files kept besides the current one
  unsigned permissions = 0600;
  std::string level = "info";       // debug, info, warning (or warn), error, critical
  std::vector<std::string> debugSelectors;  // components at debug level; "*" = all
  bool timestamps = true;           // false under systemd: the journal stamps each line itself
};

// Applies `options` to every logger, existing and future; may be called again to reconfigure.
// Creates logsDir (0750) if missing. On error the previous configuration stays in effect.
[[nodiscard]] Status initLogging(const LogOptions& options);

// The logger of `component` ("config", "watcher", ...), created on first use. The reference
// stays valid for the program's life; cache it rather than calling this on a hot path.
// Before initLogging, lines go to stderr at level info.
spdlog::logger& logger(std::string_view component);

// Logs `message` with a structured value under the top-level key `key` of the line, e.g.
// {"message":"Non-zero metrics in the last 30s","monitoring":{"metrics":{...}}}. `json` must be
// one JSON value written by RapidJSON's Writer; it is embedded as is, not as an escaped string.
void logWithObject(spdlog::logger& logger, spdlog::level::level_enum level, std::string_view message,
                   std::string_view key, std::string_view json);

// Flushes and closes the log files; later lines go to stderr as before initLogging.
void shutdownLogging();

}  // namespace fim::core
