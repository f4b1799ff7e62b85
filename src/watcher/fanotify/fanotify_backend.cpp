#include "watcher/fanotify/fanotify_backend.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "core/logging.h"

namespace fim::watcher::fanotify {
namespace {

constexpr std::size_t kReadBuffer = 256 * 1024;
constexpr int kReadsPerCall = 4;  // buffers per readReady()
// How long a MOVED_FROM waits for its MOVED_TO once the queue is empty (kernels without FAN_RENAME).
constexpr int kMovePartnerWaitMs = 5;
constexpr unsigned kEventFileFlags = O_RDONLY | O_CLOEXEC | O_LARGEFILE;

std::string kernelRelease() {
  utsname name {};
  return ::uname(&name) == 0 ? name.release : "unknown";
}

unsigned initFlags(bool unlimitedQueue) {
  unsigned flags = FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK | FAN_REPORT_DFID_NAME;
  if (unlimitedQueue) flags |= FAN_UNLIMITED_QUEUE;
  return flags;
}

core::Error initError(int err) {
  switch (err) {
    case EPERM:
      return core::Error(core::ErrorCode::PermissionDenied,
                         "fanotify_init: operation not permitted: the fanotify backend needs CAP_SYS_ADMIN "
                         "(run fimbeat as root, or set backend: inotify)");
    case EINVAL:
      return core::Error(core::ErrorCode::Unavailable,
                         "fanotify_init: kernel " + kernelRelease() +
                             " does not support FAN_REPORT_DFID_NAME (Linux 5.9 or newer is needed); set backend: inotify");
    case ENOSYS:
      return core::Error(core::ErrorCode::Unavailable,
                         "fanotify_init: kernel " + kernelRelease() + " was built without fanotify; set backend: inotify");
    case EMFILE:
      return core::Error(core::ErrorCode::Unavailable,
                         "fanotify_init: too many fanotify groups (see /proc/sys/fs/fanotify/max_user_groups)", true);
    default:
      return core::errnoError("fanotify_init", err);
  }
}

core::Error markError(int err, const std::string& root, const std::string& markedAt) {
  const std::string where = "marking the filesystem of " + root + (markedAt != root ? " (at " + markedAt + ")" : "");
  switch (err) {
    case EPERM:
      return core::Error(core::ErrorCode::PermissionDenied,
                         where + ": operation not permitted: FAN_MARK_FILESYSTEM needs CAP_SYS_ADMIN");
    case ENODEV:
    case EOPNOTSUPP:
    case EXDEV:
      return core::Error(core::ErrorCode::Unavailable,
                         where + ": this filesystem cannot report file handles to fanotify (" + std::strerror(err) +
                             "); set backend: inotify for this path");
    case ENOSPC:
      return core::Error(core::ErrorCode::Unavailable,
                         where + ": fanotify mark limit reached (see /proc/sys/fs/fanotify/max_user_marks)");
    default:
      return core::errnoError(where, err);
  }
}

constexpr std::pair<const char*, std::uint64_t FanotifyStats::*> kExportedStats[] = {
    {"watcher.fanotify.events", &FanotifyStats::events},
    {"watcher.fanotify.reported", &FanotifyStats::reported},
    {"watcher.fanotify.own_ignored", &FanotifyStats::ownIgnored},
    {"watcher.fanotify.unresolved", &FanotifyStats::unresolved},
    {"watcher.fanotify.unresolved_rescanned", &FanotifyStats::blind},
    {"watcher.fanotify.malformed", &FanotifyStats::malformed},
    {"watcher.fanotify.overflows", &FanotifyStats::overflows},
    {"watcher.fanotify.read_errors", &FanotifyStats::readErrors},
};

}  // namespace

FanotifyBackend::FanotifyBackend(std::vector<config::ModuleConfig> modules, FanotifyOptions options,
                                 core::Metrics* metrics)
    : modules_(std::move(modules)),
      options_(std::move(options)),
      reader_(names_, options_.procRoot, options_.args),
      processes_(reader_, options_.processCacheTtl, options_.tracker, metrics),
      resolver_(options_.maxCachedDirectories),
      buffer_(kReadBuffer) {
  if (metrics == nullptr) return;
  for (const auto& [name, field] : kExportedStats) exported_.push_back({&metrics->counter(name), field});
}

FanotifyBackend::~FanotifyBackend() {
  if (fd_ >= 0) ::close(fd_);
}

core::Status FanotifyBackend::probe() {
  const int fd = ::fanotify_init(initFlags(true), kEventFileFlags);
  if (fd < 0) return std::unexpected(initError(errno));
  ::close(fd);
  return {};
}

core::Status FanotifyBackend::initGroup() {
  const unsigned flags = initFlags(options_.unlimitedQueue);
  if (options_.useRename) {
    fd_ = ::fanotify_init(flags | FAN_REPORT_FID | FAN_REPORT_TARGET_FID, kEventFileFlags);
    if (fd_ >= 0) {
      renameEvents_ = true;
      return {};
    }
    if (errno != EINVAL) return std::unexpected(initError(errno));  // EINVAL: before 5.17, try without
  }
  fd_ = ::fanotify_init(flags, kEventFileFlags);
  if (fd_ < 0) return std::unexpected(initError(errno));
  return {};
}

std::uint64_t FanotifyBackend::eventMask() const {
  std::uint64_t mask = FAN_CREATE | FAN_DELETE | FAN_MODIFY | FAN_CLOSE_WRITE | FAN_ATTRIB | FAN_ONDIR;
  mask |= renameEvents_ ? FAN_RENAME : (FAN_MOVED_FROM | FAN_MOVED_TO);
  return mask;
}

core::Status FanotifyBackend::markFilesystemOf(const Root& root) {
  // A root that does not exist yet lives on the filesystem of its nearest existing parent.
  std::string at = root.path;
  struct statfs fs {};
  while (::statfs(at.c_str(), &fs) != 0) {
    if (errno != ENOENT || at == "/") return std::unexpected(core::errnoError("statfs " + at, errno));
    at = std::string(parentOf(at));
  }
  const std::uint64_t fsid = fsidOf(&fs.f_fsid);
  if (resolver_.hasFilesystem(fsid)) return {};
  if (::fanotify_mark(fd_, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, eventMask(), AT_FDCWD, at.c_str()) != 0) {
    if (errno != EINVAL || !renameEvents_) return std::unexpected(markError(errno, root.path, at));
    renameEvents_ = false;  // the group took FAN_REPORT_TARGET_FID but the mark refuses FAN_RENAME
    if (::fanotify_mark(fd_, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, eventMask(), AT_FDCWD, at.c_str()) != 0) {
      return std::unexpected(markError(errno, root.path, at));
    }
  }
  // Handles are opened relative to a directory: a root that is a file lends its parent.
  struct stat st {};
  const bool directory = ::stat(at.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  if (auto added = resolver_.addFilesystem(fsid, directory ? at : std::string(parentOf(at)), static_cast<long>(fs.f_type));
      !added) {
    return added;
  }
  return resolver_.proveHandles(fsid, at);  // a mark whose events cannot be named would lose every change
}

void FanotifyBackend::ignoreOwnDirectories() {
  // FAN_EVENT_ON_CHILD in an ignore mask (which FAN_MARK_IGNORE honours) covers the files directly
  // in the directory; FAN_ONDIR its own entry changes.
  const std::uint64_t mask = eventMask() | FAN_EVENT_ON_CHILD | FAN_ONDIR;
  std::size_t ignored = 0;
  for (const auto& dir : options_.ignoredDirectories) {
    if (::fanotify_mark(fd_, FAN_MARK_ADD | FAN_MARK_IGNORE_SURV, mask, AT_FDCWD, dir.c_str()) == 0) {
      ++ignored;
    } else if (errno != ENOENT) {  // EINVAL before Linux 6.0: the events come and are dropped as fimbeat's own
      core::logger("watcher").debug("fanotify: the kernel keeps reporting changes in {}: {}", dir, std::strerror(errno));
    }
  }
  if (ignored > 0) core::logger("watcher").debug("fanotify: {} of fimbeat's own directories ignored by the kernel", ignored);
}

core::Status FanotifyBackend::start(const std::vector<Root>& roots) {
  if (fd_ >= 0) return core::fail(core::ErrorCode::Internal, "fanotify backend started twice");
  if (auto status = initGroup(); !status) return status;
  for (const Root& root : roots) {
    if (auto status = markFilesystemOf(root); !status) {
      ::close(fd_);
      fd_ = -1;
      return status;
    }
  }
  ignoreOwnDirectories();
  if (auto whoData = reader_.proveReadable(1); !whoData) {  // who-data is partial, changes are still all seen
    core::logger("watcher").warn("fanotify: {}", whoData.error().message());
  }
  if (options_.tracker) options_.tracker->startAndReport();  // only once fanotify runs: inotify has no pids
  matcher_ = std::make_unique<RootMatcher>(roots, modules_);
  translator_ = std::make_unique<ChangeTranslator>(resolver_, *matcher_, processes_, counters_, ::getpid());
  core::logger("watcher").info("fanotify: {} root(s) on {} filesystem mark(s); renames reported as {}", roots.size(),
                               resolver_.filesystems(), renameEvents_ ? "FAN_RENAME" : "FAN_MOVED_FROM/TO pairs");
  return {};
}

void FanotifyBackend::readReady(const ChangeSink& sink) {
  if (fd_ < 0 || !translator_) return;
  for (int reads = 0; reads < kReadsPerCall;) {
    const auto readStarted = std::chrono::steady_clock::now();
    const ssize_t n = ::read(fd_, buffer_.data(), buffer_.size());
    const int err = n < 0 ? errno : 0;
    if (err == EINTR) continue;
    if (n <= 0) {
      // Logged the first time and then every 1000th: a persistent error must not flood the log.
      if (n < 0 && err != EAGAIN && counters_.readErrors.fetch_add(1, std::memory_order_relaxed) % 1000 == 0) {
        core::logger("watcher").error("fanotify: reading events failed: {}", std::strerror(err));
      }
      // Give a MOVED_FROM's partner, queued a moment later by the same rename, a chance to arrive.
      if (err == EAGAIN && translator_->waitingForMove()) {
        pollfd more{fd_, POLLIN, 0};
        if (::poll(&more, 1, kMovePartnerWaitMs) > 0) continue;
      }
      translator_->flush(sink);  // the queue is empty: what waits for a partner goes out as it is
      // Every change queued before this read has been looked up: the processes that exited
      // before then need not be remembered any longer.
      if (err == EAGAIN) processes_.drained(readStarted);
      break;
    }
    ++reads;
    translator_->beginBatch(std::chrono::steady_clock::now());
    const std::size_t malformed =
        parseEvents(std::span<const char>(buffer_.data(), static_cast<std::size_t>(n)), [&](const Event& event) {
          if (event.fd >= 0) ::close(event.fd);
          translator_->translate(event, sink);
        });
    if (malformed > 0) counters_.malformed.fetch_add(malformed, std::memory_order_relaxed);
  }
  publish();
}

void FanotifyBackend::publish() {
  if (exported_.empty()) return;
  const FanotifyStats now = stats();
  for (const Exported& e : exported_) {
    const std::uint64_t gained = now.*e.field - published_.*e.field;
    if (gained > 0) e.counter->add(static_cast<std::int64_t>(gained));
  }
  published_ = now;
}

FanotifyStats FanotifyBackend::stats() const {
  const auto get = [](const std::atomic<std::uint64_t>& c) { return c.load(std::memory_order_relaxed); };
  return FanotifyStats{get(counters_.events),     get(counters_.reported),  get(counters_.ownIgnored),
                       get(counters_.unresolved), get(counters_.blind), get(counters_.malformed), get(counters_.overflows),
                       get(counters_.readErrors)};
}

}  // namespace fim::watcher::fanotify
