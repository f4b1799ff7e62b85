// The scanner's walk: walker threads that share the directories still to read (scanner.h,
// scanner_walker.h). A first run's directories are read here; a walk beside the baseline's
// records is in scanner_merge.cpp.
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>
#include <utility>

#include "core/logging.h"
#include "baseline/classify.h"
#include "core/paths.h"
#include "watcher/scanner_walker.h"

namespace fim::watcher {

void Scanner::Walker::run() {
  std::vector<WorkItem> subdirectories;
  while (auto directory = pool_.take(stop_)) {
    const bool read = merged_ ? walkTask(std::move(*directory)) : readDirectory(std::move(*directory), subdirectories);
    pool_.finished(subdirectories);
    if (!read) return;
  }
  (void)flush();
}

SharedDir Scanner::Walker::openDirectory(WorkItem& dir) {
  constexpr int kFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  const int fd = ::openat(dir.parent->get(), baseName(dir.path), kFlags);
  if (fd >= 0) return shareDirectory(UniqueFd(fd));
  dir.error = core::errnoError("failed to read directory " + dir.path, errno).message();
  s_.shared_.errors.add();
  return nullptr;
}

void Scanner::Walker::listingFailed(WorkItem& dir, int error) {
  dir.error = core::errnoError("failed to read all of directory " + dir.path, error).message();
  s_.shared_.errors.add();
}

bool Scanner::Walker::settleDirectory(WorkItem dir) {
  const PathFilter& filter = s_.filters_[s_.roots_[dir.root].module];
  return !filter.reported(dir.path, true) || settle(std::move(dir));
}

bool Scanner::Walker::readDirectory(WorkItem dir, std::vector<WorkItem>& subdirectories) {
  const Root& root = s_.roots_[dir.root];
  const PathFilter& filter = s_.filters_[root.module];
  const std::string path = dir.path;
  const std::size_t rootIndex = dir.root;
  const SharedDir opened = openDirectory(dir);
  if (!opened) return settleDirectory(std::move(dir));
  bool ok = true;
  const int fd = opened->get();
  const bool storedKnown = s_.options_.baselineEmpty;
  std::string child;  // reused: an unchanged entry needs no string of its own
  EntryReader entries(fd, entries_);
  while (const auto* entry = entries.next()) {
    if (isDot(entry->d_name)) continue;
    setChildPath(child, path, entry->d_name);
    if (filter.excluded(child)) continue;
    // The entry's own type (a symlink to a directory is not a directory): what is not
    // reported is never stat()ed. Only file systems without d_type need the stat first.
    const bool typed = entry->d_type != DT_UNKNOWN;
    bool isDir = entry->d_type == DT_DIR;
    bool walkIt = isDir && root.recursive;  // reported when it is read
    if (typed && !walkIt && !filter.reported(child, isDir)) continue;
    if (entry->d_type == DT_REG && storedKnown) {
      // New to the baseline, so nothing to compare: the worker's open and fstat give the metadata.
      WorkItem item{.path = child, .root = rootIndex, .parent = opened};
      item.listedRegular = true;
      item.storedKnown = true;
      if (!queueForWorkers(std::move(item))) {
        ok = false;
        break;
      }
      continue;
    }
    // Relative to the open directory: one name to look up instead of the whole path.
    struct stat st {};
    const bool statted = ::fstatat(fd, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (!statted && errno == ENOENT) {
      s_.shared_.vanished.add();
      continue;
    }
    if (!typed) {
      isDir = statted && S_ISDIR(st.st_mode);
      walkIt = isDir && root.recursive;
      if (!walkIt && !filter.reported(child, isDir)) continue;
    }
    WorkItem item{.path = child, .root = rootIndex, .parent = opened};
    if (statted) item.st = st;
    item.storedKnown = storedKnown;
    if (walkIt) {
      subdirectories.push_back(std::move(item));
    } else if (!queueForWorkers(std::move(item))) {
      ok = false;
      break;
    }
  }
  if (!ok) return false;
  if (entries.error() != 0) listingFailed(dir, entries.error());
  return settleDirectory(std::move(dir));
}

bool Scanner::Walker::settle(WorkItem item) {
  const std::size_t module = s_.roots_[item.root].module;
  if (item.stored && item.st && !item.error && unchanged(events::stampOf(*item.stored), *item.st, module)) {
    return markUnchanged(item.path, *item.st, module);
  }
  return queueForWorkers(std::move(item));
}

bool Scanner::Walker::markUnchanged(const std::string& path, const struct stat& st, std::size_t module) {
  if (!s_.filesLimiters_[module]->acquire(1, stop_)) return false;
  ++files_;
  if (S_ISREG(st.st_mode)) {  // counted as if observed in full
    const bool tooBig = static_cast<std::uint64_t>(st.st_size) > s_.shared_.modules[module].maxFileSize;
    ++(tooBig ? tooBig_ : reused_);
  }
  unchanged_.push_back(core::pathKey(path));
  return unchanged_.size() < walk::kUnchangedBatch || flushUnchanged();
}

bool Scanner::Walker::unchanged(const events::FileStamp& recorded, const struct stat& st, std::size_t module) {
  if (S_ISLNK(st.st_mode)) return false;  // its resolved target may move with links elsewhere
  const auto comparison = baseline::classify(recorded, stampOfStat(st, userName(st.st_uid), groupName(st.st_gid)));
  return comparison.unchanged() && baseline::reusable(recorded, comparison, s_.shared_.modules[module].wanted);
}

bool Scanner::Walker::flushUnchanged() {
  // One add each for the batch: the walkers do not contend for the counters' cache lines per path.
  s_.shared_.files.add(std::exchange(files_, 0));
  s_.shared_.reused.add(std::exchange(reused_, 0));
  s_.shared_.tooBig.add(std::exchange(tooBig_, 0));
  if (unchanged_.empty()) return true;
  events::PathsUnchanged seen{std::move(unchanged_)};  // the baseline only notes they were seen
  unchanged_ = {};
  return out_.push(std::move(seen), stop_);
}

void Scanner::seed(std::stop_token stop, DirectoryPool& pool, core::BoundedQueue<WorkItem>& work) {
  std::vector<std::pair<std::size_t, std::string>> tops = options_.subtrees;
  if (tops.empty()) {
    for (std::size_t i = 0; i < roots_.size(); ++i) tops.emplace_back(i, roots_[i].path);
  }
  for (auto& [rootIndex, top] : tops) {
    if (rootIndex >= roots_.size()) continue;
    const Root& root = roots_[rootIndex];
    const PathFilter& filter = filters_[root.module];
    // Its directory, opened as a configured path for a root, else through the root.
    auto parent = openParentUnder(root.path, top);
    struct stat st {};
    if (!parent || ::fstatat(parent->dir.get(), baseName(top), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      rootUnmatched_[rootIndex] = true;  // records it may have are for the sweep
      if (top == root.path) {
        const std::string why = parent ? std::strerror(errno) : parent.error().message();
        core::logger("watcher").warn("configured path {} cannot be read: {}", root.path, why);
        shared_.errors.add();
      }
      continue;
    }
    WorkItem item{.path = std::move(top), .root = rootIndex, .parent = shareDirectory(std::move(parent->dir))};
    if (!S_ISDIR(st.st_mode)) {
      rootUnmatched_[rootIndex] = true;  // the sweep reads what was below it, if it was a directory
      if (filter.reported(item.path, false)) (void)work.push(std::move(item), stop);
      continue;
    }
    if (filter.excluded(item.path)) {
      rootUnmatched_[rootIndex] = true;
    } else {
      pool.add(std::move(item));
    }
  }
}

void Scanner::walk(std::stop_token stop, core::BoundedQueue<WorkItem>& work, core::BoundedQueue<events::Observation>& out) {
  DirectoryPool pool;
  seed(stop, pool, work);
  std::vector<std::jthread> walkers;
  for (std::size_t i = 0; i < std::max<std::size_t>(1, options_.workers); ++i) {
    walkers.emplace_back([&] {
      ::pthread_setname_np(::pthread_self(), "fim-walk");
      Walker(*this, stop, pool, work, out).run();
    });
  }
}  // joins: every directory has been read

}  // namespace fim::watcher
