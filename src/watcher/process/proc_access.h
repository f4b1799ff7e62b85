#pragma once
// What fimbeat may read of other processes in /proc, checked at start so that who-data that will
// be missing is said once instead of being silently absent from events.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fim::watcher::process {

inline constexpr int kCapSysPtrace = 19;

struct ProcAccess {
  bool ptrace = false;  // CAP_SYS_PTRACE effective: every process's exe and cwd are readable
  std::string hidePid;  // proc's hidepid= mount option, "" when every process is visible
  // errno of reading the executable of a process of another user (a child of fimbeat's that
  // became `nobody`), 0 when it worked or could not be tried (fimbeat cannot change users).
  int otherUserError = 0;
};

// The effective capability set (CapEff:) of a /proc/<pid>/status; 0 when absent.
std::uint64_t parseEffectiveCapabilities(std::string_view status);

// The hidepid= option of the proc mounted at `procRoot`, from /proc/self/mountinfo; "" when it is
// absent or says every process is visible (0, off). The last mount at that point wins.
std::string parseHidePid(std::string_view mountinfo, std::string_view procRoot);

// Checks this process's capabilities and the proc mount at `procRoot`, and tries what who-data
// needs: reading the executable of another user's process.
ProcAccess probeProcAccess(const std::string& procRoot);

// One warning per thing who-data will lack, naming the capability or mount option and the fields
// that will be missing; empty when nothing will.
std::vector<std::string> procAccessWarnings(const ProcAccess& access, std::string_view procRoot);

}  // namespace fim::watcher::process
