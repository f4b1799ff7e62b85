#include "core/time_format.h"

#include <algorithm>
#include <ctime>

#include <fmt/compile.h>

namespace fim::core {

std::string_view formatTimestamp(TimePoint t, std::array<char, 32>& out) {
  using namespace std::chrono;
  const auto sinceEpoch = floor<milliseconds>(t.time_since_epoch());
  const auto wholeSeconds = floor<seconds>(sinceEpoch);
  const std::time_t seconds = static_cast<std::time_t>(wholeSeconds.count());
  std::tm tm{};
  ::gmtime_r(&seconds, &tm);
  const auto result = fmt::format_to_n(out.data(), out.size(), FMT_COMPILE("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z"),
                                       tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                                       tm.tm_sec, static_cast<int>((sinceEpoch - wholeSeconds).count()));
  return std::string_view(out.data(), std::min(result.size, out.size()));
}

std::string formatTimestamp(TimePoint t) {
  std::array<char, 32> buffer;
  return std::string(formatTimestamp(t, buffer));
}

}  // namespace fim::core
