#include "core/logging.h"
#include "core/time_format.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include <fmt/format.h>
#include <rapidjson/writer.h>
#include <spdlog/formatter.h>
#include <spdlog/sinks/dist_sink.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "core/utf8.h"

namespace fim::core {

namespace {

constexpr unsigned kLogsDirMode = 0750;
constexpr int kMaxKeepFiles = 1024;
constexpr auto kFlushInterval = std::chrono::seconds(1);
constexpr const char* kFlusherName = "fim.core.log-flusher";

// Adapts spdlog's line buffer to rapidjson's output-stream concept, so lines are written in place.
class BufferStream {
 public:
  using Ch = char;
  explicit BufferStream(spdlog::memory_buf_t& buffer) : buffer_(buffer) {}
  void Put(char c) { buffer_.push_back(c); }
  void Flush() {}

 private:
  spdlog::memory_buf_t& buffer_;
};

using LineWriter = rapidjson::Writer<BufferStream>;

void writeString(LineWriter& writer, std::string_view text) {
  // An empty payload may have a null data(); rapidjson wants a real pointer.
  writer.String(text.data() != nullptr ? text.data() : "", static_cast<rapidjson::SizeType>(text.size()));
}

void writeKey(LineWriter& writer, std::string_view key) {
  writer.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
}

// Writes text as a JSON string, repairing invalid UTF-8 so the line stays valid JSON.
void writeText(LineWriter& writer, std::string_view text) {
  if (isValidUtf8(text)) {
    writeString(writer, text);
  } else {
    writeString(writer, toValidUtf8(text));
  }
}

std::string_view levelName(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace: return "trace";
    case spdlog::level::debug: return "debug";
    case spdlog::level::info: return "info";
    case spdlog::level::warn: return "warn";  // what beats writes in log.level
    case spdlog::level::err: return "error";
    case spdlog::level::critical: return "critical";
    default: return "off";
  }
}

// The structured value of the line being logged by this thread (logWithObject): spdlog's
// synchronous loggers format each line in the thread that logs it.
struct Attachment {
  std::string_view key;
  std::string_view json;
};
thread_local const Attachment* tAttachment = nullptr;

// Formats every record as one JSON object per line.
class JsonLineFormatter final : public spdlog::formatter {
 public:
  explicit JsonLineFormatter(bool timestamps) : timestamps_(timestamps) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    std::array<char, 32> timestamp;
    BufferStream stream(dest);
    LineWriter writer(stream);
    writer.StartObject();
    if (timestamps_) {
      writeKey(writer, "@timestamp");
      writeString(writer, formatTimestamp(msg.time, timestamp));
    }
    writeKey(writer, "log.level");
    writeString(writer, levelName(msg.level));
    writeKey(writer, "log.logger");
    writeText(writer, std::string_view(msg.logger_name.data(), msg.logger_name.size()));
    writeKey(writer, "message");
    writeText(writer, std::string_view(msg.payload.data(), msg.payload.size()));
    if (const Attachment* attachment = tAttachment) {
      writeKey(writer, attachment->key);
      writer.RawValue(attachment->json.data(), attachment->json.size(), rapidjson::kObjectType);
    }
    writer.EndObject();
    dest.push_back('\n');
  }

  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonLineFormatter>(timestamps_); }

 private:
  bool timestamps_;
};

// Lets spdlog's periodic flusher reach our shared sink without exposing it to spdlog's
// registry-wide set_pattern/set_formatter, which would replace the JSON format.
class FlushOnlySink final : public spdlog::sinks::sink {
 public:
  explicit FlushOnlySink(spdlog::sink_ptr target) : target_(std::move(target)) {}
  void log(const spdlog::details::log_msg&) override {}
  void flush() override { target_->flush(); }
  void set_pattern(const std::string&) override {}
  void set_formatter(std::unique_ptr<spdlog::formatter>) override {}

 private:
  spdlog::sink_ptr target_;
};

spdlog::sink_ptr withJsonFormat(spdlog::sink_ptr sink, bool timestamps = true) {
  sink->set_formatter(std::make_unique<JsonLineFormatter>(timestamps));
  return sink;
}

std::vector<spdlog::sink_ptr> stderrSinks(bool timestamps = true) {
  return {withJsonFormat(std::make_shared<spdlog::sinks::stderr_sink_mt>(), timestamps)};
}

std::optional<spdlog::level::level_enum> parseLevel(std::string_view name) {
  if (name == "debug") return spdlog::level::debug;
  if (name == "info") return spdlog::level::info;
  if (name == "warning" || name == "warn") return spdlog::level::warn;
  if (name == "error") return spdlog::level::err;
  if (name == "critical") return spdlog::level::critical;
  return std::nullopt;
}

// Like mkdir -p, but new directories get kLogsDirMode rather than 0777 & ~umask.
Status createDirectories(const std::string& dir) {
  const std::string what = "creating logs directory " + dir;
  for (std::size_t pos = 1;; ++pos) {
    pos = dir.find('/', pos);
    const std::string prefix = dir.substr(0, pos);
    if (::mkdir(prefix.c_str(), kLogsDirMode) != 0 && errno != EEXIST) {
      return std::unexpected(errnoError(what, errno));
    }
    if (pos == std::string::npos) break;
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return std::unexpected(errnoError(what, errno));
  if (!S_ISDIR(st.st_mode)) return failf(ErrorCode::InvalidArgument, "{}: exists and is not a directory", what);
  return {};
}

spdlog::file_event_handlers permissionHandlers(unsigned permissions) {
  const mode_t mode = permissions & 07777;
  spdlog::file_event_handlers handlers;
  // Creating the file ourselves means it never exists with the looser default mode.
  handlers.before_open = [mode](const spdlog::filename_t& file) {
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, mode);
    if (fd >= 0) ::close(fd);
  };
  // fchmod on every open (rotation included) so the mode does not depend on the umask.
  handlers.after_open = [mode](const spdlog::filename_t&, std::FILE* file) {
    (void)::fchmod(::fileno(file), mode);
  };
  return handlers;
}

Result<spdlog::sink_ptr> fileSink(const LogOptions& options) {
  if (options.logsDir.empty()) return fail(ErrorCode::InvalidArgument, "logging to files needs a logs directory (path.logs)");
  if (options.fileName.empty() || options.fileName.find('/') != std::string::npos) {
    return failf(ErrorCode::InvalidArgument, "invalid log file name '{}'", options.fileName);
  }
  if (options.rotateEveryBytes == 0) return fail(ErrorCode::InvalidArgument, "log rotation size must be above 0 bytes");
  if (options.keepFiles < 0 || options.keepFiles > kMaxKeepFiles) {
    return failf(ErrorCode::InvalidArgument, "number of kept log files must be 0..{}, not {}", kMaxKeepFiles,
                 options.keepFiles);
  }
  if (auto created = createDirectories(options.logsDir); !created) return std::unexpected(created.error());

  const std::string path = options.logsDir + "/" + options.fileName + ".ndjson";
  try {
    return withJsonFormat(std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
        path, static_cast<std::size_t>(options.rotateEveryBytes), static_cast<std::size_t>(options.keepFiles),
        false, permissionHandlers(options.permissions)));
  } catch (const spdlog::spdlog_ex& e) {
    return failf(ErrorCode::Io, "opening log file {}: {}", path, e.what());
  }
}

Result<std::vector<spdlog::sink_ptr>> makeSinks(const LogOptions& options) {
  if (options.toStderr) return stderrSinks(options.timestamps);
  if (!options.toFiles) return std::vector<spdlog::sink_ptr>{};  // beats discards logs with no output
  auto sink = fileSink(options);
  if (!sink) return std::unexpected(sink.error());
  return std::vector<spdlog::sink_ptr>{std::move(*sink)};
}

// Every component logger writes through one router whose sinks initLogging swaps under its lock.
struct State {
  std::mutex mutex;
  std::shared_ptr<spdlog::sinks::dist_sink_mt> router =
      std::make_shared<spdlog::sinks::dist_sink_mt>(stderrSinks());
  std::map<std::string, std::unique_ptr<spdlog::logger>, std::less<>> loggers;
  spdlog::level::level_enum level = spdlog::level::info;
  std::vector<std::string> debugSelectors;
  bool flushing = false;
};

// Function-local static: the facade's API is free functions, and spdlog itself is process-wide.
State& state() {
  static State s;
  return s;
}

spdlog::level::level_enum levelFor(const State& s, std::string_view component) {
  const bool selected = std::any_of(s.debugSelectors.begin(), s.debugSelectors.end(),
                                    [&](const std::string& sel) { return sel == "*" || sel == component; });
  return selected ? std::min(s.level, spdlog::level::debug) : s.level;
}

void startPeriodicFlush(State& s) {
  if (s.flushing) return;
  s.flushing = true;
  // flush_every flushes only loggers in spdlog's registry; one stand-in covers the shared router.
  auto flusher = std::make_shared<spdlog::logger>(kFlusherName, std::make_shared<FlushOnlySink>(s.router));
  flusher->set_level(spdlog::level::off);
  try {
    spdlog::register_logger(std::move(flusher));
  } catch (const spdlog::spdlog_ex&) {
    // Already registered (cannot happen unless someone used our name); lines still flush on warn.
  }
  // spdlog's built-in default logger writes to stdout; flushing it would take the console lock
  // that our stderr sink shares, so a stalled stdout (a console output nobody reads) would stall logging.
  spdlog::drop("");
  spdlog::flush_every(kFlushInterval);
}

}  // namespace

Status initLogging(const LogOptions& options) {
  const auto level = parseLevel(options.level);
  if (!level) {
    return failf(ErrorCode::InvalidArgument,
                 "unknown logging level '{}' (want debug, info, warning, error or critical)", options.level);
  }
  auto sinks = makeSinks(options);
  if (!sinks) return std::unexpected(sinks.error().context("configuring logging"));

  State& s = state();
  std::lock_guard lock(s.mutex);
  s.level = *level;
  s.debugSelectors = options.debugSelectors;
  s.router->set_sinks(std::move(*sinks));
  for (auto& [name, lg] : s.loggers) lg->set_level(levelFor(s, name));
  startPeriodicFlush(s);
  return {};
}

spdlog::logger& logger(std::string_view component) {
  State& s = state();
  std::lock_guard lock(s.mutex);
  if (auto it = s.loggers.find(component); it != s.loggers.end()) return *it->second;
  auto lg = std::make_unique<spdlog::logger>(std::string(component), s.router);
  lg->set_level(levelFor(s, component));
  lg->flush_on(spdlog::level::warn);
  return *s.loggers.emplace(std::string(component), std::move(lg)).first->second;
}

void logWithObject(spdlog::logger& logger, spdlog::level::level_enum level, std::string_view message,
                   std::string_view key, std::string_view json) {
  const Attachment attachment{key, json};
  tAttachment = &attachment;
  logger.log(level, "{}", message);
  tAttachment = nullptr;
}

void shutdownLogging() {
  State& s = state();
  std::lock_guard lock(s.mutex);
  s.router->flush();
  s.router->set_sinks(stderrSinks());  // drops the last references to the file sinks, closing them
}

}  // namespace fim::core
