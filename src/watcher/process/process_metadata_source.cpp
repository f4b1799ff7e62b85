#include "watcher/process/process_metadata_source.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <climits>
#include <string_view>
#include <vector>

#include "core/entity_id.h"
#include "watcher/process/proc_parse.h"

namespace fim::watcher::process {
namespace {

constexpr std::chrono::seconds kProcessCacheExpiry{30};  // Beats' cacheExpiration
constexpr std::size_t kCacheCapacity = 32 << 10;         // Beats' cacheCapacity
constexpr std::size_t kMaxFile = 1 << 20;

// The whole of a /proc file (up to kMaxFile); nullopt when it cannot be opened.
std::optional<std::string> slurp(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return std::nullopt;
  std::string data;
  std::array<char, 4096> chunk;
  while (data.size() < kMaxFile) {
    const ssize_t n = ::read(fd, chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    data.append(chunk.data(), static_cast<std::size_t>(n));
  }
  ::close(fd);
  return data;
}

// NUL-separated strings ("a\0b\0" → [a, b]).
std::vector<std::string> splitNul(std::string_view raw) {
  std::vector<std::string> out;
  if (!raw.empty() && raw.back() == '\0') raw.remove_suffix(1);
  if (raw.empty()) return out;
  std::size_t at = 0;
  while (true) {
    const std::size_t end = raw.find('\0', at);
    out.emplace_back(raw.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at));
    if (end == std::string_view::npos) break;
    at = end + 1;
  }
  return out;
}

// The field after the comm of /proc/<pid>/stat at 1-based position `n` (n >= 3).
std::optional<std::int64_t> statField(std::string_view stat, std::size_t n) {
  const std::size_t close = stat.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  std::string_view rest = stat.substr(close + 1);
  for (std::size_t field = 3;; ++field) {
    const std::size_t begin = rest.find_first_not_of(' ');
    if (begin == std::string_view::npos) return std::nullopt;
    rest.remove_prefix(begin);
    const std::size_t end = rest.find(' ');
    const std::string_view token = rest.substr(0, end);
    if (field == n) {
      std::int64_t value = 0;
      const auto [at, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
      return ec == std::errc() && at == token.data() + token.size() ? std::optional<std::int64_t>(value) : std::nullopt;
    }
    if (end == std::string_view::npos) return std::nullopt;
    rest.remove_prefix(end);
  }
}

std::string joinPath(const std::string& root, std::string_view rest) {
  if (root.empty() || root == "/") return std::string(rest);
  return (root.ends_with('/') ? root.substr(0, root.size() - 1) : root) + std::string(rest);
}

}  // namespace

std::string containerIdInCgroups(std::string_view text, const mapper::processors::ProcessSourceOptions& options,
                                 const RE2* regex) {
  static const RE2 kWordId(R"(([\w]{64}))");
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    // "hierarchy-id:controllers:path"; cgroup v2 has hierarchy 0 and no controllers.
    const std::size_t first = line.find(':');
    const std::size_t second = first == std::string_view::npos ? first : line.find(':', first + 1);
    if (second == std::string_view::npos) continue;
    const std::string_view path = line.substr(second + 1);
    const bool v2 = line.substr(0, first) == "0" && second == first + 1;
    std::string id;
    if (regex) {
      if (RE2::PartialMatch(path, *regex, &id)) return id;
    } else if (options.firstHexId || v2) {
      if (RE2::PartialMatch(path, kWordId, &id)) return id;
    } else {
      for (const auto& prefix : options.cgroupPrefixes) {
        if (!path.starts_with(prefix)) continue;
        std::string_view base = path;
        while (base.size() > 1 && base.back() == '/') base.remove_suffix(1);
        const std::size_t slash = base.rfind('/');
        return std::string(slash == std::string_view::npos ? base : base.substr(slash + 1));
      }
    }
  }
  return {};
}

std::vector<std::string> capabilityNames(std::uint64_t bits) {
  // <linux/capability.h>, 0 to CAP_LAST_CAP of Linux 6.1.
  static constexpr std::array<const char*, 41> kNames{
      "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
      "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",
      "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
      "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
      "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
      "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND",
      "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"};
  std::vector<std::string> names;
  for (unsigned bit = 0; bit < 64; ++bit) {
    if (!(bits & (std::uint64_t{1} << bit))) continue;
    names.emplace_back(bit < kNames.size() ? std::string(kNames[bit]) : "CAP_" + std::to_string(bit));
  }
  return names;
}

ProcessMetadataSource::ProcessMetadataSource(mapper::processors::ProcessSourceOptions options, std::string hostId)
    : options_(std::move(options)), hostId_(std::move(hostId)), procRoot_(joinPath(options_.hostPath, "/proc")) {
  if (!options_.cgroupRegex.empty()) regex_ = std::make_unique<RE2>(options_.cgroupRegex);  // checked when loaded
  if (const auto stat = slurp(procRoot_ + "/stat")) bootSeconds_ = parseBootTime(*stat);
}

std::string ProcessMetadataSource::dir(std::int64_t pid) const { return procRoot_ + "/" + std::to_string(pid); }

std::shared_ptr<const mapper::processors::ProcessMetadata> ProcessMetadataSource::read(std::int64_t pid) {
  const std::string base = dir(pid);
  const auto stat = slurp(base + "/stat");
  const auto status = slurp(base + "/status");
  if (!stat || !status) return nullptr;
  errno = 0;
  std::array<char, PATH_MAX> target;
  const ssize_t n = ::readlink((base + "/exe").c_str(), target.data(), target.size());
  if (n < 0 && errno != ENOENT) return nullptr;  // as Beats: an executable it may not read fails the lookup
  const auto cmdline = slurp(base + "/cmdline");
  if (!cmdline) return nullptr;
  auto p = std::make_shared<mapper::processors::ProcessMetadata>();
  p->pid = pid;
  if (n > 0) p->executable.assign(target.data(), static_cast<std::size_t>(n));
  const auto identity = parseStat(*stat);
  if (identity) p->name = identity->comm;
  p->parentPid = statField(*stat, 4).value_or(0);
  if (identity && bootSeconds_ && identity->startTime > 0) {
    p->startTime = core::processStartTime(*bootSeconds_, identity->startTime);
    p->entityId = core::processEntityId(hostId_, pid, *p->startTime);
  }
  p->args = splitNul(*cmdline);
  for (const auto& arg : p->args) p->title += (p->title.empty() ? "" : " ") + arg;
  const ProcStatus parsed = parseStatus(*status);
  if (parsed.realUserId) {
    p->ownerId = std::to_string(*parsed.realUserId);
    p->ownerName = names_.user(*parsed.realUserId);
  }
  if (parsed.realGroupId) {
    p->groupId = std::to_string(*parsed.realGroupId);
    p->groupName = names_.group(*parsed.realGroupId);
  }
  if (parsed.capEffective) p->capEffective = capabilityNames(*parsed.capEffective);
  if (parsed.capPermitted) p->capPermitted = capabilityNames(*parsed.capPermitted);
  if (options_.restrictedFields) {
    if (const auto environ = slurp(base + "/environ")) {
      for (const auto& pair : splitNul(*environ)) {
        const std::size_t eq = pair.find('=');
        if (eq == std::string::npos) continue;
        std::string key = pair.substr(0, eq);
        const std::size_t first = key.find_first_not_of(" \t\r\n");
        if (first == std::string::npos) continue;
        key = key.substr(first, key.find_last_not_of(" \t\r\n") - first + 1);
        p->env[key] = pair.substr(eq + 1);
      }
    }
  }
  return p;
}

std::shared_ptr<const mapper::processors::ProcessMetadata> ProcessMetadataSource::process(std::int64_t pid) {
  const auto now = Clock::now();
  {
    std::lock_guard lock(mutex_);
    if (auto it = processes_.find(pid); it != processes_.end() && it->second.expires > now) return it->second.process;
  }
  auto read = this->read(pid);  // outside the lock: other pids need not wait for /proc
  std::lock_guard lock(mutex_);
  if (processes_.size() >= kCacheCapacity) std::erase_if(processes_, [&](const auto& e) { return e.second.expires <= now; });
  if (processes_.size() >= kCacheCapacity) processes_.clear();
  processes_[pid] = Cached{read, now + kProcessCacheExpiry};  // failures too, as Beats' cache keeps errors
  return read;
}

std::string ProcessMetadataSource::containerId(std::int64_t pid) {
  const auto now = Clock::now();
  const bool cached = options_.containerCacheExpiry > config::Duration::zero();
  if (cached) {
    std::lock_guard lock(mutex_);
    if (auto it = containers_.find(pid); it != containers_.end() && it->second.expires > now) return it->second.id;
  }
  const auto text = slurp(dir(pid) + "/cgroup");
  if (!text) return {};  // gone: nothing to cache, as Beats skips a missing cgroup file
  std::string id = containerIdInCgroups(*text, options_, regex_.get());
  if (cached) {
    std::lock_guard lock(mutex_);
    if (containers_.size() >= kCacheCapacity) std::erase_if(containers_, [&](const auto& e) { return e.second.expires <= now; });
    if (containers_.size() >= kCacheCapacity) containers_.clear();
    containers_[pid] = CachedId{id, now + std::chrono::duration_cast<Clock::duration>(options_.containerCacheExpiry)};
  }
  return id;
}

}  // namespace fim::watcher::process
