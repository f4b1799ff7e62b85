#pragma once
// Pure parsers for the /proc/<pid> files the process reader uses, so they can be table-tested.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fim::watcher::process {

// The fields of /proc/<pid>/status fimbeat needs.
struct ProcStatus {
  std::string name;                     // Name: (the kernel's comm, at most 15 bytes)
  char state = 0;                       // State: R, S, D, Z, ...
  std::optional<std::int64_t> parentPid;  // PPid:
  std::optional<std::uint32_t> userId;    // Uid: second column, the effective id
  std::optional<std::uint32_t> groupId;   // Gid: second column
  std::optional<std::uint32_t> realUserId;   // Uid: first column (add_process_metadata's owner)
  std::optional<std::uint32_t> realGroupId;  // Gid: first column
  std::optional<std::uint64_t> capEffective;  // CapEff: (hex)
  std::optional<std::uint64_t> capPermitted;  // CapPrm: (hex)
};

ProcStatus parseStatus(std::string_view text);

// Who holds a pid right now, from /proc/<pid>/stat: the start time (field 22, clock ticks after
// boot) changes when the pid is reused, the comm (field 2) when the process execs.
struct ProcIdentity {
  std::uint64_t startTime = 0;
  std::string comm;
  bool operator==(const ProcIdentity&) const = default;
};

// The comm may hold spaces and parentheses, so fields are counted after the last ')'.
std::optional<ProcIdentity> parseStat(std::string_view stat);

// The boot time in seconds since the epoch: the `btime` line of /proc/stat.
std::optional<std::int64_t> parseBootTime(std::string_view procStat);

struct ArgsLimits {
  std::size_t maxArgs = 64;
  std::size_t maxBytes = 4096;  // over all arguments, not counting separators
};

// Appended as an extra last argument when arguments were left out or cut short.
inline constexpr std::string_view kArgsTruncated = "[truncated]";

// /proc/<pid>/cmdline (NUL-separated) into at most limits.maxArgs arguments of at most
// limits.maxBytes bytes together. `more` says the file held more bytes than `raw`. A cut falls
// on a UTF-8 character boundary; when anything was dropped kArgsTruncated is appended.
std::vector<std::string> parseCmdline(std::string_view raw, bool more, const ArgsLimits& limits);

}  // namespace fim::watcher::process
