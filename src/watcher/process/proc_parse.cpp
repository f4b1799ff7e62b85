#include "watcher/process/proc_parse.h"

#include <algorithm>
#include <charconv>

namespace fim::watcher::process {
namespace {

template <typename Int>
std::optional<Int> toInt(std::string_view text) {
  Int value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end == text.data()) return std::nullopt;
  return value;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// The n-th (0-based) whitespace-separated column of a status value ("0\t1000\t0\t0").
std::string_view column(std::string_view value, std::size_t n) {
  std::size_t index = 0;
  while (true) {
    value = trim(value);
    if (value.empty()) return {};
    const std::size_t end = value.find_first_of(" \t");
    if (index == n) return value.substr(0, end);
    if (end == std::string_view::npos) return {};
    value.remove_prefix(end);
    ++index;
  }
}

// Bytes of `s` that fit in `budget` without splitting a UTF-8 sequence.
std::size_t utf8Cut(std::string_view s, std::size_t budget) {
  if (budget >= s.size()) return s.size();
  std::size_t cut = budget;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return cut;
}

}  // namespace

ProcStatus parseStatus(std::string_view text) {
  ProcStatus status;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view key = line.substr(0, colon);
    const std::string_view value = line.substr(colon + 1);
    if (key == "Name") {
      // Only the leading tab is the separator: a comm may start or end with spaces.
      std::string_view name = value;
      if (!name.empty() && name.front() == '\t') name.remove_prefix(1);
      status.name = std::string(name);
    } else if (key == "State") {
      const std::string_view state = trim(value);
      if (!state.empty()) status.state = state.front();
    } else if (key == "PPid") {
      status.parentPid = toInt<std::int64_t>(trim(value));
    } else if (key == "Uid") {
      status.userId = toInt<std::uint32_t>(column(value, 1));
      status.realUserId = toInt<std::uint32_t>(column(value, 0));
    } else if (key == "Gid") {
      status.groupId = toInt<std::uint32_t>(column(value, 1));
      status.realGroupId = toInt<std::uint32_t>(column(value, 0));
    } else if (key == "CapEff" || key == "CapPrm") {
      const std::string_view hex = trim(value);
      std::uint64_t bits = 0;
      const auto [at, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), bits, 16);
      if (ec == std::errc() && at == hex.data() + hex.size() && !hex.empty()) (key == "CapEff" ? status.capEffective : status.capPermitted) = bits;
    }
  }
  return status;
}

std::optional<ProcIdentity> parseStat(std::string_view stat) {
  const std::size_t open = stat.find('(');
  const std::size_t close = stat.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) return std::nullopt;
  constexpr std::size_t kStartTimeColumn = 22 - 3;  // columns after ')' start at field 3 (state)
  const std::string_view field = column(stat.substr(close + 1), kStartTimeColumn);
  const std::optional<std::uint64_t> startTime = toInt<std::uint64_t>(trim(field));
  if (!startTime) return std::nullopt;
  return ProcIdentity{*startTime, std::string(stat.substr(open + 1, close - open - 1))};
}

std::optional<std::int64_t> parseBootTime(std::string_view procStat) {
  std::size_t at = 0;
  while (at < procStat.size()) {
    const std::size_t end = std::min(procStat.find('\n', at), procStat.size());
    const std::string_view line = procStat.substr(at, end - at);
    if (line.starts_with("btime ")) return toInt<std::int64_t>(trim(line.substr(6)));
    at = end + 1;
  }
  return std::nullopt;
}

std::vector<std::string> parseCmdline(std::string_view raw, bool more, const ArgsLimits& limits) {
  // A trailing NUL ends the last argument; a process that rewrote its title may have none.
  if (!raw.empty() && raw.back() == '\0') raw.remove_suffix(1);
  std::vector<std::string> args;
  bool truncated = more;
  std::size_t budget = limits.maxBytes;
  bool atEnd = raw.empty() && !more;  // an empty cmdline: a kernel thread or a zombie
  while (!atEnd) {
    const std::size_t end = raw.find('\0');
    const std::string_view arg = raw.substr(0, end);
    if (args.size() == limits.maxArgs || (budget == 0 && !arg.empty())) {
      truncated = true;
      break;
    }
    const std::size_t keep = utf8Cut(arg, budget);
    args.emplace_back(arg.substr(0, keep));
    budget -= keep;
    if (keep < arg.size()) {
      truncated = true;
      break;
    }
    atEnd = end == std::string_view::npos;
    if (!atEnd) raw.remove_prefix(end + 1);
  }
  if (truncated) args.emplace_back(kArgsTruncated);
  return args;
}

}  // namespace fim::watcher::process
