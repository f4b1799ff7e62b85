#include "watcher/inotify/inotify_backend.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "core/logging.h"
#include "watcher/directory_tree.h"
#include "watcher/open_beneath.h"

namespace fim::watcher {
namespace {

constexpr int kReadsPerCall = 16;  // of up to 64 KiB each, per readReady()

// No IN_DONT_FOLLOW: a watch is placed through /proc/self/fd/N, the magic link to a directory
// already opened with O_NOFOLLOW, which must be followed to reach it.
constexpr std::uint32_t kMask = IN_CREATE | IN_DELETE | IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM |
                                IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_EXCL_UNLINK | IN_ONLYDIR;
constexpr std::size_t kEntryBuffer = 32 * 1024;

std::string join(const std::string& dir, std::string_view name) {
  std::string path;
  path.reserve(dir.size() + 1 + name.size());
  if (dir != "/") path = dir;
  path.push_back('/');
  path.append(name);
  return path;
}

std::string parentOf(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

std::string readProc(const char* file) {
  std::ifstream in(file);
  std::string value;
  in >> value;
  return value.empty() ? "unknown" : value;
}

RawChange rawChange(RawChange::Kind kind, std::string path, bool isDirectory, std::uint32_t cookie = 0) {
  RawChange change;
  change.kind = kind;
  change.path = std::move(path);
  change.isDirectory = isDirectory;
  change.cookie = cookie;
  return change;
}

}  // namespace

InotifyBackend::InotifyBackend(const std::vector<config::ModuleConfig>& modules, core::Metrics& metrics)
    : entries_(kEntryBuffer),
      watchGauge_(metrics.gauge("watcher.realtime.watches")),
      overflows_(metrics.counter("watcher.realtime.overflows")),
      events_(metrics.counter("watcher.realtime.kernel_events")),
      unwatchedDirs_(metrics.counter("watcher.realtime.unwatched_directories")) {
  for (const auto& m : modules) filters_.emplace_back(m);
}

InotifyBackend::~InotifyBackend() {
  if (fd_ >= 0) ::close(fd_);
}

core::Status InotifyBackend::start(const std::vector<Root>& roots) {
  roots_ = roots;
  fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd_ < 0) {
    return std::unexpected(core::errnoError(
        "inotify_init1 failed (the per-user limit is fs.inotify.max_user_instances = " +
            readProc("/proc/sys/fs/inotify/max_user_instances") + ")",
        errno));
  }
  for (std::size_t i = 0; i < roots_.size(); ++i) {
    const Root& root = roots_[i];
    struct stat st {};
    if (::lstat(root.path.c_str(), &st) != 0) continue;  // the scan reports it; nothing to watch
    if (S_ISDIR(st.st_mode)) {
      if (!filters_[root.module].excluded(root.path)) addTree(root.path, i, nullptr);
      continue;
    }
    // A root that is a file: its directory is watched for that one name.
    const std::string parent = parentOf(root.path);
    if (dirs_.count(parent)) continue;
    const UniqueFd parentFd(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));  // configured: as given
    if (parentFd && addWatch(parentFd.get(), parent, i, nullptr)) {
      dirs_[parent].onlyName = root.path.substr(root.path.rfind('/') + 1);
    }
  }
  if (!unwatched_.empty()) {
    core::logger("watcher").error(
        "inotify ran out of watches: fs.inotify.max_user_watches is {} and the configured paths need about {} "
        "(one per directory). Raise it, e.g. `sysctl -w fs.inotify.max_user_watches={}` and a line "
        "`fs.inotify.max_user_watches = {}` in /etc/sysctl.d/90-fimbeat.conf; until then {} director{} without a "
        "watch {} rescanned periodically",
        readProc("/proc/sys/fs/inotify/max_user_watches"), byWd_.size() + dirsNeeded_,
        2 * (byWd_.size() + dirsNeeded_), 2 * (byWd_.size() + dirsNeeded_), unwatched_.size(),
        unwatched_.size() == 1 ? "y" : "ies", unwatched_.size() == 1 ? "is" : "are");
    limitLogged_ = true;
  }
  return {};
}

bool InotifyBackend::addWatch(int dirFd, const std::string& dir, std::size_t root, const ChangeSink* sink) {
  // Through the open directory, not its path: a path longer than PATH_MAX is watched too.
  const std::string proc = "/proc/self/fd/" + std::to_string(dirFd);
  const int wd = ::inotify_add_watch(fd_, proc.c_str(), kMask);
  if (wd < 0) {
    if (errno == ENOSPC) watchLimitReached(dirFd, dir, sink);
    return false;  // not a directory any more, or unreadable: nothing to watch
  }
  if (auto known = byWd_.find(wd); known != byWd_.end()) {  // the same directory under another name
    if (known->second->first == dir) {
      known->second->second.onlyName.clear();
      return true;
    }
    dirs_.erase(known->second);
    byWd_.erase(known);
  }
  auto [it, inserted] = dirs_.insert_or_assign(dir, Dir{wd, root, {}});
  byWd_[wd] = it;
  watchGauge_.set(static_cast<std::int64_t>(byWd_.size()));
  return true;
}

void InotifyBackend::watchLimitReached(int dirFd, const std::string& dir, const ChangeSink* sink) {
  unwatchedDirs_.add();
  std::uint64_t below = 0;  // how many watches this subtree would need
  walkTree(
      UniqueFd(::fcntl(dirFd, F_DUPFD_CLOEXEC, 0)), dir, entries_,
      [&](int, const std::string&) {
        ++below;
        return true;
      },
      [](const std::string&, bool isDir) { return isDir; });
  dirsNeeded_ += below;
  if (!sink) {
    unwatched_.push_back(dir);  // start(): logged once when every root has been walked
    return;
  }
  if (!limitLogged_) {
    limitLogged_ = true;
    const auto needed = byWd_.size() + dirsNeeded_;
    core::logger("watcher").error(
        "inotify ran out of watches: fs.inotify.max_user_watches is {} and the watched paths now need about {} "
        "(one per directory). Raise it, e.g. `sysctl -w fs.inotify.max_user_watches={}` (persist it in "
        "/etc/sysctl.d/); until then directories without a watch are rescanned periodically",
        readProc("/proc/sys/fs/inotify/max_user_watches"), needed, 2 * needed);
  }
  (*sink)(rawChange(RawChange::Kind::Unwatched, dir, true));
}

void InotifyBackend::addTree(const std::string& top, std::size_t root, const ChangeSink* sink) {
  const bool recursive = roots_[root].recursive;
  const PathFilter& filter = filters_[roots_[root].module];
  auto opened = openDirectoryUnder(roots_[root].path, top);  // the top through the root's descriptor
  if (!opened) return;  // gone already, or a symlink: nothing to watch
  walkTree(
      std::move(*opened), top, entries_,
      [&](int fd, const std::string& dir) {
        // Watched first, then read: nothing falls in between.
        return addWatch(fd, dir, root, sink) && (recursive || sink);
      },
      [&](const std::string& path, bool isDir) {
        if (filter.excluded(path)) return false;
        if (sink) (*sink)(rawChange(RawChange::Kind::Created, path, isDir));
        return recursive;
      });
}

void InotifyBackend::forgetTree(const std::string& top, bool removeWatches) {
  const auto drop = [&](DirMap::iterator it) {
    if (removeWatches) ::inotify_rm_watch(fd_, it->second.wd);
    byWd_.erase(it->second.wd);
    return dirs_.erase(it);
  };
  if (auto it = dirs_.find(top); it != dirs_.end()) drop(it);
  const std::string prefix = top == "/" ? "/" : top + "/";
  for (auto it = dirs_.lower_bound(prefix); it != dirs_.end() && it->first.starts_with(prefix);) it = drop(it);
  watchGauge_.set(static_cast<std::int64_t>(byWd_.size()));
}

void InotifyBackend::renameTree(const std::string& from, const std::string& to) {
  std::vector<std::pair<std::string, Dir>> moved;
  const std::string prefix = from + "/";
  if (auto it = dirs_.find(from); it != dirs_.end()) {
    moved.emplace_back(to, it->second);
    dirs_.erase(it);
  }
  for (auto it = dirs_.lower_bound(prefix); it != dirs_.end() && it->first.starts_with(prefix);) {
    moved.emplace_back(to + it->first.substr(from.size()), it->second);
    it = dirs_.erase(it);
  }
  for (auto& [path, dir] : moved) {
    auto [it, inserted] = dirs_.insert_or_assign(std::move(path), dir);
    byWd_[dir.wd] = it;
  }
}

// A directory moved away and not moved back in within the same read: it left the tree, and
// its watches must not report from wherever it went.
void InotifyBackend::settleDirectoryMove(const ChangeSink&) {
  if (!movedDir_) return;
  forgetTree(movedDir_->path, true);
  movedDir_.reset();
}

void InotifyBackend::handle(const ::inotify_event& event, const ChangeSink& sink) {
  events_.add();
  if (event.mask & IN_Q_OVERFLOW) {
    overflows_.add();
    sink(rawChange(RawChange::Kind::Overflow, "", true));
    return;
  }
  auto found = byWd_.find(event.wd);
  if (found == byWd_.end()) return;
  const auto dirIt = found->second;
  const std::string base = dirIt->first;
  const Dir dir = dirIt->second;
  if (event.mask & IN_IGNORED) {  // the kernel dropped the watch: the directory is gone
    byWd_.erase(found);
    dirs_.erase(dirIt);
    watchGauge_.set(static_cast<std::int64_t>(byWd_.size()));
    return;
  }
  const std::string_view name = event.len ? std::string_view(event.name) : std::string_view();
  if (name.empty()) {  // the directory itself: only roots have no watched parent to report it
    if (base != roots_[dir.root].path || !dir.onlyName.empty()) return;
    if (event.mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
      sink(rawChange(RawChange::Kind::Deleted, base, true));
      if (event.mask & IN_MOVE_SELF) forgetTree(base, true);
    } else if (event.mask & IN_ATTRIB) {
      sink(rawChange(RawChange::Kind::Attributes, base, true));
    }
    return;
  }
  if (!dir.onlyName.empty() && name != dir.onlyName) return;
  std::string path = join(base, name);
  if (filters_[roots_[dir.root].module].excluded(path)) return;  // excluded directories never get a watch
  const bool isDir = event.mask & IN_ISDIR;
  const bool recursive = roots_[dir.root].recursive && dir.onlyName.empty();
  const bool pairsMove = (event.mask & IN_MOVED_TO) && movedDir_ && movedDir_->cookie == event.cookie;
  if (!pairsMove) settleDirectoryMove(sink);
  if (event.mask & IN_CREATE) {
    sink(rawChange(RawChange::Kind::Created, path, isDir));
    // A directory the walk of its parent already watched was listed after its watch was placed:
    // its contents are reported and its changes come as events. Walking it again for each level
    // of a chain made faster than fimbeat reads would cost the square of the chain's depth.
    if (isDir && recursive && !dirs_.contains(path)) addTree(path, dir.root, &sink);
  } else if (event.mask & IN_MOVED_TO) {
    sink(rawChange(RawChange::Kind::MovedTo, path, isDir, event.cookie));
    if (pairsMove) {
      if (recursive) renameTree(movedDir_->path, path);
      else forgetTree(movedDir_->path, true);
      movedDir_.reset();
    } else if (isDir && recursive) {
      addTree(path, dir.root, &sink);  // moved in: watched, and its contents reported
    }
  } else if (event.mask & IN_MOVED_FROM) {
    sink(rawChange(RawChange::Kind::MovedFrom, path, isDir, event.cookie));
    if (isDir) movedDir_ = PendingMove{event.cookie, std::move(path), dir.root};
  } else if (event.mask & IN_DELETE) {
    sink(rawChange(RawChange::Kind::Deleted, path, isDir));
  } else if (event.mask & IN_CLOSE_WRITE) {
    sink(rawChange(RawChange::Kind::Closed, path, false));
  } else if (event.mask & IN_MODIFY) {
    sink(rawChange(RawChange::Kind::Modified, path, false));
  } else if (event.mask & IN_ATTRIB) {
    sink(rawChange(RawChange::Kind::Attributes, path, isDir));
  }
}

void InotifyBackend::readReady(const ChangeSink& sink) {
  for (const auto& dir : unwatched_) sink(rawChange(RawChange::Kind::Unwatched, dir, true));
  unwatched_.clear();
  alignas(struct inotify_event) char buffer[64 * 1024];
  for (int reads = 0; reads < kReadsPerCall; ++reads) {
    const ssize_t n = ::read(fd_, buffer, sizeof buffer);
    if (n <= 0) {
      settleDirectoryMove(sink);  // the queue is empty: a directory moved away without a partner left
      return;
    }
    for (ssize_t at = 0; at < n;) {
      const auto* event = reinterpret_cast<const struct inotify_event*>(buffer + at);
      handle(*event, sink);
      at += static_cast<ssize_t>(sizeof(struct inotify_event) + event->len);
    }
  }
}

}  // namespace fim::watcher
