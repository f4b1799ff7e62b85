#include "watcher/process/proc_access.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>
#include <fstream>
#include <sstream>

namespace fim::watcher::process {
namespace {

std::string readAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The whitespace-separated fields of one line.
std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  while (!line.empty()) {
    const std::size_t start = line.find_first_not_of(' ');
    if (start == std::string_view::npos) break;
    line.remove_prefix(start);
    const std::size_t end = line.find(' ');
    out.push_back(line.substr(0, end));
    line = end == std::string_view::npos ? std::string_view() : line.substr(end);
  }
  return out;
}

std::string hidePidOption(std::string_view options) {
  while (!options.empty()) {
    const std::size_t comma = options.find(',');
    const std::string_view option = options.substr(0, comma);
    options = comma == std::string_view::npos ? std::string_view() : options.substr(comma + 1);
    if (!option.starts_with("hidepid=")) continue;
    const std::string_view value = option.substr(8);
    return value == "0" || value == "off" ? "" : std::string(value);
  }
  return "";
}

constexpr long kNobody = 65534;

// Forks a child that becomes `nobody` and reads its executable link: errno, 0 when it was read
// or when the child could not change users (fimbeat is not root).
int readOtherUsersExecutable(const std::string& procRoot) {
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) return 0;
  const pid_t parent = ::getpid();
  const pid_t child = ::fork();
  if (child == 0) {  // only async-signal-safe calls: fimbeat runs other threads
    // The child holds none of fimbeat's descriptors (the data directory's locks among them): were
    // fimbeat killed before it kills the child, the next fimbeat could not start.
    const unsigned keep = static_cast<unsigned>(ready[1]);
    if (keep > 3) ::syscall(SYS_close_range, 3u, keep - 1, 0u);
    ::syscall(SYS_close_range, keep + 1, ~0u, 0u);
    if (::syscall(SYS_setgid, kNobody) != 0 || ::syscall(SYS_setuid, kNobody) != 0) ::_exit(1);
    // And it ends with fimbeat (set after the change of user, which clears it).
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent) ::_exit(1);
    const char one = 1;
    if (::write(ready[1], &one, 1) != 1) ::_exit(1);
    ::pause();  // until killed
    ::_exit(0);
  }
  ::close(ready[1]);
  int error = 0;
  char one = 0;
  if (child > 0 && ::read(ready[0], &one, 1) == 1) {
    char target[PATH_MAX];
    const std::string exe = procRoot + "/" + std::to_string(child) + "/exe";
    if (::readlink(exe.c_str(), target, sizeof(target)) < 0) error = errno;
  }
  ::close(ready[0]);
  if (child > 0) {
    ::kill(child, SIGKILL);
    while (::waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  return error;
}

}  // namespace

std::uint64_t parseEffectiveCapabilities(std::string_view status) {
  const std::size_t at = status.find("CapEff:");
  if (at == std::string_view::npos) return 0;
  std::string_view value = status.substr(at + 7);
  value.remove_prefix(std::min(value.find_first_not_of(" \t"), value.size()));
  std::uint64_t caps = 0;
  std::from_chars(value.data(), value.data() + value.size(), caps, 16);
  return caps;
}

std::string parseHidePid(std::string_view mountinfo, std::string_view procRoot) {
  std::string found;
  while (!mountinfo.empty()) {
    const std::size_t end = mountinfo.find('\n');
    const std::string_view line = mountinfo.substr(0, end);
    mountinfo = end == std::string_view::npos ? std::string_view() : mountinfo.substr(end + 1);
    // id parent major:minor root mountpoint options [optional...] - fstype source superoptions
    const std::vector<std::string_view> f = fields(line);
    std::size_t dash = 6;
    while (dash < f.size() && f[dash] != "-") ++dash;
    if (f.size() < 5 || dash + 3 >= f.size() || f[4] != procRoot || f[dash + 1] != "proc") continue;
    found = hidePidOption(f[dash + 3]);
  }
  return found;
}

ProcAccess probeProcAccess(const std::string& procRoot) {
  ProcAccess access;
  access.ptrace = (parseEffectiveCapabilities(readAll(procRoot + "/self/status")) >> kCapSysPtrace) & 1u;
  access.hidePid = parseHidePid(readAll(procRoot + "/self/mountinfo"), procRoot);
  access.otherUserError = readOtherUsersExecutable(procRoot);
  return access;
}

std::vector<std::string> procAccessWarnings(const ProcAccess& access, std::string_view procRoot) {
  std::vector<std::string> warnings;
  if (!access.hidePid.empty() && !access.ptrace) {
    warnings.push_back(std::string(procRoot) + " is mounted with hidepid=" + access.hidePid +
                       " and fimbeat lacks CAP_SYS_PTRACE: processes of other users are hidden from it, so "
                       "their changes carry only process.pid (give fimbeat CAP_SYS_PTRACE, or add it to the "
                       "mount's gid= group)");
  }
  if (!access.ptrace) {
    warnings.push_back(
        "fimbeat lacks CAP_SYS_PTRACE: the executable and working directory of processes of other users, of "
        "setuid programs and of processes with capabilities fimbeat lacks cannot be read from " +
        std::string(procRoot) + ", so their changes carry no process.executable or process.working_directory");
  } else if (access.otherUserError != 0) {
    warnings.push_back("reading the executable of another user's process in " + std::string(procRoot) + " failed (" +
                       std::strerror(access.otherUserError) +
                       ") although fimbeat has CAP_SYS_PTRACE (does a security module such as AppArmor deny it "
                       "ptrace read access?): changes may carry no process.executable or process.working_directory");
  }
  return warnings;
}

}  // namespace fim::watcher::process
