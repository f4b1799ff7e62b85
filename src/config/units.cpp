#include "config/units.h"

#include <cctype>
#include <cmath>
#include <limits>
#include <optional>

namespace fim::config {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Reads a non-negative decimal number ("12", "1.5") from the front of s.
std::optional<double> takeNumber(std::string_view& s) {
  std::size_t i = 0;
  bool digits = false;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) { ++i; digits = true; }
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) { ++i; digits = true; }
  }
  if (!digits) return std::nullopt;
  double value = std::stod(std::string(s.substr(0, i)));
  s.remove_prefix(i);
  return value;
}

std::optional<double> sizeMultiplier(const std::string& unit) {
  if (unit.empty() || unit == "b") return 1.0;
  static const char kPrefixes[] = "kmgtpe";
  for (int i = 0; kPrefixes[i]; ++i) {
    const std::string p(1, kPrefixes[i]);
    const int exponent = i + 1;
    if (unit == p || unit == p + "b") return std::pow(1000.0, exponent);
    if (unit == p + "i" || unit == p + "ib") return std::pow(1024.0, exponent);
  }
  return std::nullopt;
}

}  // namespace

core::Result<std::uint64_t> parseSize(std::string_view text) {
  std::string_view s = trim(text);
  const auto bad = [&] {
    return core::failf(core::ErrorCode::InvalidArgument,
                       "invalid size \"{}\": expected bytes or a number with a unit such as 512KiB, 50 MiB or 1GB",
                       std::string(text));
  };
  auto number = takeNumber(s);
  if (!number) return bad();
  auto multiplier = sizeMultiplier(lower(trim(s)));
  if (!multiplier) return bad();
  const double bytes = *number * *multiplier;
  if (bytes >= static_cast<double>(std::numeric_limits<std::uint64_t>::max())) return bad();
  return static_cast<std::uint64_t>(bytes);
}

core::Result<Duration> parseDuration(std::string_view text) {
  std::string_view s = trim(text);
  const auto bad = [&] {
    return core::failf(core::ErrorCode::InvalidArgument,
                       "invalid duration \"{}\": expected a number with a unit such as 500ms, 1s, 5m or 12h",
                       std::string(text));
  };
  if (s.empty()) return bad();
  std::string_view probe = s;
  if (auto plain = takeNumber(probe); plain && probe.empty()) {
    return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(*plain));
  }
  double total = 0;
  while (!s.empty()) {
    auto number = takeNumber(s);
    if (!number) return bad();
    std::size_t n = 0;
    while (n < s.size() && !std::isdigit(static_cast<unsigned char>(s[n])) && s[n] != '.') ++n;
    const std::string unit(s.substr(0, n));
    s.remove_prefix(n);
    double ns = 0;
    if (unit == "ns") ns = 1;
    else if (unit == "us" || unit == "\u00b5s" || unit == "\u03bcs") ns = 1e3;
    else if (unit == "ms") ns = 1e6;
    else if (unit == "s") ns = 1e9;
    else if (unit == "m") ns = 60e9;
    else if (unit == "h") ns = 3600e9;
    else return bad();
    total += *number * ns;
  }
  return Duration(static_cast<Duration::rep>(total));
}

std::string formatSize(std::uint64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  std::uint64_t value = bytes;
  while (unit < 4 && value >= 1024 && value % 1024 == 0) {
    value /= 1024;
    ++unit;
  }
  return unit == 0 ? std::to_string(bytes) : fmt::format("{} {}", value, kUnits[unit]);
}

std::string formatDuration(Duration d) {
  using namespace std::chrono;
  const auto ns = d.count();
  if (ns % 3'600'000'000'000 == 0 && ns != 0) return fmt::format("{}h", ns / 3'600'000'000'000);
  if (ns % 60'000'000'000 == 0 && ns != 0) return fmt::format("{}m", ns / 60'000'000'000);
  if (ns % 1'000'000'000 == 0) return fmt::format("{}s", ns / 1'000'000'000);
  if (ns % 1'000'000 == 0) return fmt::format("{}ms", ns / 1'000'000);
  return fmt::format("{}ns", ns);
}

}  // namespace fim::config
