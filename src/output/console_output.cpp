#include "output/console_output.h"

#include <cerrno>

#include <rapidjson/document.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

namespace fim::output {
namespace {

// A stream error as an Error; stdio does not always set errno, so fall back to a plain message.
core::Error streamError(const char* action, int err) {
  if (err != 0) return core::errnoError(std::string(action) + " console output", err);
  return core::Error(core::ErrorCode::Io, std::string(action) + " console output: stream error");
}

}  // namespace

ConsoleOutput::ConsoleOutput(const config::ConsoleOutputConfig& config, std::FILE* stream)
    : config_(config), stream_(stream) {}

core::Result<WriteOutcome> ConsoleOutput::write(std::span<const events::EncodedEvent> events, std::stop_token) {
  if (events.empty()) return WriteOutcome{};
  if (stream_ == nullptr) return core::fail(core::ErrorCode::Internal, "console output has no stream");
  std::string out;
  for (const auto& event : events) {
    const std::string& doc = event.json;
    if (config_.pretty) {
      appendPretty(doc, out);
    } else {
      out.append(doc);
    }
    out.push_back('\n');
  }
  errno = 0;
  const std::size_t written = std::fwrite(out.data(), 1, out.size(), stream_);
  if (written != out.size() || std::ferror(stream_)) {
    const int err = errno;
    std::clearerr(stream_);  // the error flag is sticky; let a later write try again
    return std::unexpected(streamError("writing to", err));
  }
  return WriteOutcome{.acked = events.size()};
}

core::Status ConsoleOutput::flush() {
  if (stream_ == nullptr) return core::fail(core::ErrorCode::Internal, "console output has no stream");
  errno = 0;
  if (std::fflush(stream_) != 0 || std::ferror(stream_)) {
    const int err = errno;
    std::clearerr(stream_);
    return std::unexpected(streamError("flushing", err));
  }
  return {};
}

std::string ConsoleOutput::describe() const {
  return config_.pretty ? "console output (pretty)" : "console output";
}

void ConsoleOutput::appendPretty(const std::string& doc, std::string& out) const {
  rapidjson::Document parsed;
  // Full precision so numbers print back as they came in.
  parsed.Parse<rapidjson::kParseFullPrecisionFlag>(doc.data(), doc.size());
  if (parsed.HasParseError()) {
    // Not JSON (should not happen for our own documents): emit it raw rather than lose the event.
    out.append(doc);
    return;
  }
  rapidjson::StringBuffer buffer;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> writer(buffer);
  writer.SetIndent(' ', 4);
  parsed.Accept(writer);
  out.append(buffer.GetString(), buffer.GetSize());
}

}  // namespace fim::output
