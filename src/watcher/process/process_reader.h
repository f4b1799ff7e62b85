#pragma once
// ProcessReader: who a pid is, from /proc/<pid>: name, executable, arguments, parent, working
// directory, effective user and group (with names) and container.

#include <cstdint>
#include <optional>
#include <string>

#include "core/result.h"

#include "events/metadata.h"
#include "watcher/name_cache.h"
#include "watcher/process/proc_parse.h"

namespace fim::watcher::process {

struct ProcessSnapshot {
  events::ProcessInfo info;
  ProcIdentity identity;  // start time and comm when read; zero and empty when the process was gone
};

class ProcessReader {
 public:
  // `procRoot` is where proc is mounted ("/proc"); names are looked up through `names`.
  explicit ProcessReader(NameCache& names, std::string procRoot = "/proc", ArgsLimits limits = {});

  // The start time and comm alone (one small read): tell whether a cached snapshot still
  // describes the pid (not reused, no exec since). nullopt when the pid no longer exists.
  std::optional<ProcIdentity> identity(std::int64_t pid) const;

  // Everything /proc still tells about `pid`. Never fails: a process that is gone yields
  // {pid, exited = true}; a zombie yields exited = true with what its status still holds (name,
  // parent, ids); a file that cannot be read leaves its fields empty.
  ProcessSnapshot read(std::int64_t pid) const;

  // When a process that started `ticks` after boot started (nullopt when the boot time is unknown).
  std::optional<core::TimePoint> startTime(std::uint64_t ticks) const;

  // The names of ids learnt elsewhere (a process's setuid), as read() names them.
  std::string userName(std::uint32_t uid) const { return names_.user(uid); }
  std::string groupName(std::uint32_t gid) const { return names_.group(gid); }

  // Proves that another process's executable can be read (that of `pid`, e.g. 1), as who-data
  // needs. PermissionDenied names CAP_SYS_PTRACE; nothing to prove when `pid` is this process.
  [[nodiscard]] core::Status proveReadable(std::int64_t pid) const;

 private:
  std::string dir(std::int64_t pid) const;

  NameCache& names_;
  std::string procRoot_;
  ArgsLimits limits_;
  std::optional<std::int64_t> bootSeconds_;  // /proc/stat's btime, read once
};

}  // namespace fim::watcher::process
