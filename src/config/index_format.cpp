#include "config/index_format.h"

#include <time.h>

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace fim::config {
namespace {

constexpr const char* kSupported =
    "fimbeat resolves %{[agent.name]}, %{[agent.version]}, %{[agent.type]} and dates such as %{+yyyy.MM.dd}";

// The Joda letters Beats' index dates use in practice; anything else is refused at load time.
bool validDatePattern(std::string_view pattern) {
  for (std::size_t i = 0; i < pattern.size();) {
    const char c = pattern[i];
    std::size_t run = 1;
    while (i + run < pattern.size() && pattern[i + run] == c) ++run;
    if (std::isalpha(static_cast<unsigned char>(c))) {
      const bool ok = (c == 'y' && (run == 2 || run == 4)) || ((c == 'M' || c == 'd' || c == 'H' || c == 'm' || c == 's') && run <= 2);
      if (!ok) return false;
    }
    i += run;
  }
  return true;
}

std::string formatDate(std::string_view pattern, core::TimePoint t) {
  const time_t seconds = std::chrono::system_clock::to_time_t(t);
  struct tm tm {};
  ::gmtime_r(&seconds, &tm);
  std::string out;
  for (std::size_t i = 0; i < pattern.size();) {
    const char c = pattern[i];
    std::size_t run = 1;
    while (i + run < pattern.size() && pattern[i + run] == c) ++run;
    const auto number = [&](int value) { out += run == 2 ? fmt::format("{:02}", value) : std::to_string(value); };
    switch (c) {
      case 'y': out += run == 2 ? fmt::format("{:02}", (tm.tm_year + 1900) % 100) : fmt::format("{:04}", tm.tm_year + 1900); break;
      case 'M': number(tm.tm_mon + 1); break;
      case 'd': number(tm.tm_mday); break;
      case 'H': number(tm.tm_hour); break;
      case 'm': number(tm.tm_min); break;
      case 's': number(tm.tm_sec); break;
      default: out.append(run, c);
    }
    i += run;
  }
  return out;
}

}  // namespace

core::Result<IndexFormat> IndexFormat::parse(std::string_view text) {
  IndexFormat format;
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t open = text.find("%{", i);
    if (open == std::string_view::npos) {
      format.parts_.push_back({Kind::Literal, std::string(text.substr(i))});
      break;
    }
    if (open > i) format.parts_.push_back({Kind::Literal, std::string(text.substr(i, open - i))});
    const std::size_t close = text.find('}', open);
    if (close == std::string_view::npos) {
      return core::failf(core::ErrorCode::InvalidArgument, "\"{}\": a %{{ is not closed by }}", text);
    }
    const std::string_view inner = text.substr(open + 2, close - open - 2);
    if (inner.starts_with('+')) {
      if (inner.size() == 1 || !validDatePattern(inner.substr(1))) {
        return core::failf(core::ErrorCode::InvalidArgument, "\"{}\": date pattern \"{}\" is not supported; {} (letters y, M, d, H, m, s)",
                           text, inner.substr(1), kSupported);
      }
      format.parts_.push_back({Kind::Date, std::string(inner.substr(1))});
    } else if (inner == "[agent.name]" || inner == "[agent.version]" || inner == "[agent.type]" ||
               inner == "[beat.name]" || inner == "[beat.version]") {
      const std::string_view field = inner.substr(inner.find('.') + 1, inner.size() - inner.find('.') - 2);
      format.parts_.push_back({Kind::AgentField, std::string(field)});
    } else {
      return core::failf(core::ErrorCode::InvalidArgument, "\"{}\": %{{{}}} is not supported; {}", text, inner, kSupported);
    }
    i = close + 1;
  }
  return format;
}

std::string IndexFormat::expand(const std::map<std::string, std::string, std::less<>>& agent, core::TimePoint timestamp) const {
  std::string out;
  for (const auto& part : parts_) {
    switch (part.kind) {
      case Kind::Literal: out += part.text; break;
      case Kind::AgentField: {
        const auto it = agent.find(part.text);
        if (it != agent.end()) out += it->second;
        break;
      }
      case Kind::Date: out += formatDate(part.text, timestamp); break;
    }
  }
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool IndexFormat::hasDate() const {
  return std::any_of(parts_.begin(), parts_.end(), [](const Part& p) { return p.kind == Kind::Date; });
}

std::string indexNameProblem(std::string_view text) {
  auto format = IndexFormat::parse(text);
  if (!format) return format.error().message();
  const std::string sample = format->expand({{"name", "host"}, {"version", "1.0.0"}, {"type", "fimbeat"}}, core::TimePoint{});
  if (sample.empty() || sample.find_first_of("\\/*?\"<>| ,#:") != std::string::npos || sample.front() == '_' ||
      sample.front() == '-' || sample.front() == '+') {
    return fmt::format("\"{}\" is not a valid Elasticsearch index name (no \\ / * ? \" < > | space , # :, not starting with _ - +)", text);
  }
  return {};
}

}  // namespace fim::config
