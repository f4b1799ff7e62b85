#include "watcher/process/process_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "core/entity_id.h"
#include "watcher/process/container_id.h"

namespace fim::watcher::process {
namespace {

constexpr std::size_t kSmallFile = 4096;  // stat, status and cgroup lines fit comfortably
constexpr std::size_t kMaxCgroupFile = 64 * 1024;  // cgroup v1 lists one line per hierarchy

// Up to `limit` bytes of a /proc file; `more` is set when the file held more. nullopt when it
// cannot be opened (the process is gone, or it is not ours to read).
std::optional<std::string> readProcFile(const std::string& path, std::size_t limit, bool* more = nullptr) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return std::nullopt;
  std::string data;
  char chunk[kSmallFile];
  while (data.size() <= limit) {
    const ssize_t n = ::read(fd, chunk, std::min(sizeof(chunk), limit + 1 - data.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    data.append(chunk, static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (more) *more = data.size() > limit;
  if (data.size() > limit) data.resize(limit);
  return data;
}

std::string readLink(const std::string& path) {
  char target[PATH_MAX];
  const ssize_t n = ::readlink(path.c_str(), target, sizeof(target));
  if (n <= 0) return "";
  return std::string(target, static_cast<std::size_t>(n));
}

}  // namespace

ProcessReader::ProcessReader(NameCache& names, std::string procRoot, ArgsLimits limits)
    : names_(names), procRoot_(std::move(procRoot)), limits_(limits) {
  if (const auto stat = readProcFile(procRoot_ + "/stat", kMaxCgroupFile)) bootSeconds_ = parseBootTime(*stat);
}

std::optional<core::TimePoint> ProcessReader::startTime(std::uint64_t ticks) const {
  if (!bootSeconds_ || ticks == 0) return std::nullopt;
  return core::processStartTime(*bootSeconds_, ticks);
}

core::Status ProcessReader::proveReadable(std::int64_t pid) const {
  if (pid == ::getpid()) return {};
  const std::string exe = dir(pid) + "/exe";
  char target[PATH_MAX];
  if (::readlink(exe.c_str(), target, sizeof(target)) >= 0 || errno == ENOENT) return {};
  const int err = errno;
  if (err == EACCES || err == EPERM) {
    return core::fail(core::ErrorCode::PermissionDenied,
                      "reading " + exe + " failed (" + std::strerror(err) +
                          "): without CAP_SYS_PTRACE the documents of changes made by other users' processes "
                          "carry no process.executable, process.args or process.working_directory");
  }
  return std::unexpected(core::errnoError("reading " + exe, err));
}

std::string ProcessReader::dir(std::int64_t pid) const { return procRoot_ + "/" + std::to_string(pid); }

std::optional<ProcIdentity> ProcessReader::identity(std::int64_t pid) const {
  const auto stat = readProcFile(dir(pid) + "/stat", kSmallFile);
  if (!stat) return std::nullopt;
  return parseStat(*stat);
}

ProcessSnapshot ProcessReader::read(std::int64_t pid) const {
  ProcessSnapshot snapshot;
  events::ProcessInfo& info = snapshot.info;
  info.pid = pid;
  const std::string base = dir(pid);
  // What goes when the process exits (executable, arguments) first: it may be exiting right now.
  std::string executable = readLink(base + "/exe");
  bool more = false;
  // Separators do not count against maxBytes, so read room for them too.
  const auto cmdline = readProcFile(base + "/cmdline", limits_.maxBytes + limits_.maxArgs, &more);
  // The start time tells which process those were (a pid is reused only long after its exit).
  const auto stat = readProcFile(base + "/stat", kSmallFile);
  const auto status = readProcFile(base + "/status", kSmallFile);
  if (!stat || !status) {
    info.exited = true;
    return snapshot;
  }
  snapshot.identity = parseStat(*stat).value_or(ProcIdentity{});
  info.startTime = startTime(snapshot.identity.startTime);
  const ProcStatus parsed = parseStatus(*status);
  info.name = parsed.name;
  info.parentPid = parsed.parentPid;
  info.userId = parsed.userId;
  info.groupId = parsed.groupId;
  if (parsed.userId) info.userName = names_.user(*parsed.userId);
  if (parsed.groupId) info.groupName = names_.group(*parsed.groupId);
  info.executable = std::move(executable);
  if (cmdline) info.args = parseCmdline(*cmdline, more, limits_);
  if (parsed.state == 'Z' || parsed.state == 'X') {
    info.exited = true;  // cwd and cgroup are gone or meaningless; exe and cmdline were read if they could be
    return snapshot;
  }
  info.workingDirectory = readLink(base + "/cwd");
  if (const auto cgroup = readProcFile(base + "/cgroup", kMaxCgroupFile)) {
    if (auto container = containerFromCgroup(*cgroup)) {
      info.containerId = std::move(container->id);
      info.containerRuntime = std::move(container->runtime);
    }
  }
  return snapshot;
}

}  // namespace fim::watcher::process
