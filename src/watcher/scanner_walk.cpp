// The scanner's walk: walker threads that share the directories still to read (scanner.h).
#include "watcher/scanner.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "core/logging.h"
#include "core/paths.h"

namespace fim::watcher {
namespace {

constexpr std::size_t kWalkBatch = 64;         // paths a walker hands over at once
constexpr std::size_t kUnchangedBatch = 1024;  // unchanged paths a walker reports at once

// `path` becomes dir/name, reusing its buffer.
void setChildPath(std::string& path, const std::string& dir, const char* name) {
  path.assign(dir == "/" ? std::string_view() : std::string_view(dir)).append(1, '/').append(name);
}


bool isDot(const char* name) { return name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0)); }

}  // namespace

// The directories still to read. A walker takes one, reads it whole and gives back its
// subdirectories; the walk is over when none is left and no walker is reading one.
class Scanner::DirectoryPool {
 public:
  void add(WorkItem directory) {
    std::lock_guard lock(mutex_);
    pending_.push_back(std::move(directory));
  }

  // Waits while the pool is empty but a walker may still add to it. nullopt: done or stopped.
  std::optional<WorkItem> take(std::stop_token stop) {
    std::unique_lock lock(mutex_);
    ready_.wait(lock, stop, [&] { return !pending_.empty() || busy_ == 0; });
    if (stop.stop_requested() || pending_.empty()) return std::nullopt;
    std::optional<WorkItem> directory(std::move(pending_.back()));  // depth first: the pool stays small
    pending_.pop_back();
    ++busy_;
    return directory;
  }

  // The directory taken last is read; these are its subdirectories.
  void finished(std::vector<WorkItem>& subdirectories) {
    bool wake = false;
    {
      std::lock_guard lock(mutex_);
      for (auto& d : subdirectories) pending_.push_back(std::move(d));
      --busy_;
      wake = !subdirectories.empty() || busy_ == 0;
    }
    subdirectories.clear();
    if (wake) ready_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable_any ready_;
  std::vector<WorkItem> pending_;
  std::size_t busy_ = 0;
};

// One walker thread: reads directories from the pool until it is empty.
class Scanner::Walker {
 public:
  Walker(Scanner& scanner, std::stop_token stop, DirectoryPool& pool, core::BoundedQueue<WorkItem>& work,
         core::BoundedQueue<core::Observation>& out)
      : s_(scanner), stop_(stop), pool_(pool), work_(work), out_(out) {}

  // Until the pool is empty or stop.
  void run() {
    std::vector<WorkItem> subdirectories;
    while (auto directory = pool_.take(stop_)) {
      const bool read = readDirectory(std::move(*directory), subdirectories);
      pool_.finished(subdirectories);
      if (!read) return;
    }
    (void)flush();
  }

 private:
  // Reports the directory, then lists it: subdirectories (recursive roots) go to `subdirectories`.
  bool readDirectory(WorkItem dir, std::vector<WorkItem>& subdirectories) {
    const Root& root = s_.roots_[dir.root];
    const PathFilter& filter = s_.filters_[root.module];
    // O_NOFOLLOW: a directory swapped for a symlink since it was listed is not followed.
    const int fd = ::open(dir.path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR* handle = fd >= 0 ? ::fdopendir(fd) : nullptr;
    if (!handle) {
      dir.error = core::errnoError("failed to read directory " + dir.path, errno).message();
      if (fd >= 0) ::close(fd);
    }
    const std::string path = dir.path;
    const std::size_t rootIndex = dir.root;
    if (filter.reported(path, true) && !settle(std::move(dir))) {
      if (handle) ::closedir(handle);
      return false;
    }
    if (!handle) return true;
    bool storedKnown = s_.options_.baselineEmpty;
    if (s_.shared_.prior && !storedKnown) storedKnown = readRecords(path);  // one sequential read, not a lookup each
    const std::size_t module = root.module;
    std::string child;  // reused: an unchanged entry needs no string of its own
    bool ok = true;
    while (const dirent* entry = ::readdir(handle)) {
      if (isDot(entry->d_name)) continue;
      setChildPath(child, path, entry->d_name);
      if (filter.excluded(child)) continue;
      // The entry's own type (a symlink to a directory is not a directory): what is not
      // reported is never stat()ed. Only file systems without d_type need the stat first.
      const bool typed = entry->d_type != DT_UNKNOWN;
      bool isDir = entry->d_type == DT_DIR;
      bool walkIt = isDir && root.recursive;  // reported when it is read
      if (typed && !walkIt && !filter.reported(child, isDir)) continue;
      const StoredRecord* record = storedKnown ? findStored(entry->d_name) : nullptr;
      if (entry->d_type == DT_REG && storedKnown && !record) {
        // New to the baseline, so nothing to compare: the worker's open and fstat give the metadata.
        WorkItem item{child, rootIndex, {}, {}};
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
      const bool statted = ::fstatat(::dirfd(handle), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0;
      if (!statted && errno == ENOENT) {
        s_.shared_.vanished.add();
        continue;
      }
      if (!typed) {
        isDir = statted && S_ISDIR(st.st_mode);
        walkIt = isDir && root.recursive;
        if (!walkIt && !filter.reported(child, isDir)) continue;
      }
      if (!walkIt && record && statted) {
        const auto stamp = s_.shared_.prior->stamp(recordOf(*record));
        if (stamp && unchanged(*stamp, st, module)) {
          if (!markUnchanged(child, st, module)) {
            ok = false;
            break;
          }
          continue;
        }
      }
      WorkItem item{child, rootIndex, {}, {}};
      if (statted) item.st = st;
      item.storedKnown = storedKnown;
      if (record) {
        // Changed, or a directory: its whole record goes with it.
        if (auto decoded = s_.shared_.prior->decode(pathOf(*record), recordOf(*record))) {
          item.stored = std::move(*decoded);
        } else {
          item.storedKnown = false;  // unreadable here: the baseline reads it itself, and says why it cannot
        }
      }
      if (walkIt) {
        subdirectories.push_back(std::move(item));
      } else if (!queueForWorkers(std::move(item))) {
        ok = false;
        break;
      }
    }
    ::closedir(handle);
    return ok;
  }

  // A record of the current directory: its path and its bytes as stored, kept in arena_.
  struct StoredRecord {
    std::size_t at = 0;
    std::size_t pathSize = 0;
    std::size_t nameSize = 0;  // the path's last component
    std::size_t recordSize = 0;
  };
  std::string_view pathOf(const StoredRecord& r) const { return std::string_view(arena_).substr(r.at, r.pathSize); }
  std::string_view recordOf(const StoredRecord& r) const {
    return std::string_view(arena_).substr(r.at + r.pathSize, r.recordSize);
  }
  std::string_view nameOf(const StoredRecord& r) const {
    return std::string_view(arena_).substr(r.at + r.pathSize - r.nameSize, r.nameSize);
  }

  // The directory's records, copied as stored into one buffer (a record is decoded only if its
  // entry changed). False when they cannot be read.
  bool readRecords(const std::string& directory) {
    stored_.clear();
    arena_.clear();
    bool sorted = true;
    auto read = s_.shared_.prior->children(directory, [&](std::string_view path, std::string_view record) {
      stored_.push_back(StoredRecord{arena_.size(), path.size(), path.size() - path.rfind('/') - 1, record.size()});
      arena_.append(path).append(record);
      if (stored_.size() > 1 && nameOf(stored_.back()) < nameOf(stored_[stored_.size() - 2])) sorted = false;
    });
    // The store gives them in path order, which is name order: sorting is only a safeguard.
    if (!sorted) {
      std::sort(stored_.begin(), stored_.end(), [&](const auto& a, const auto& b) { return nameOf(a) < nameOf(b); });
    }
    return read.has_value();
  }

  // The current directory's record of the entry `name`, if any.
  const StoredRecord* findStored(std::string_view name) const {
    auto it = std::lower_bound(stored_.begin(), stored_.end(), name,
                               [&](const StoredRecord& r, std::string_view n) { return nameOf(r) < n; });
    return it != stored_.end() && nameOf(*it) == name ? &*it : nullptr;
  }

  // A path the baseline records exactly as lstat shows it is settled here; any other goes to
  // the workers. False when stopped.
  bool settle(WorkItem item) {
    const std::size_t module = s_.roots_[item.root].module;
    if (item.stored && item.st && !item.error && unchanged(core::stampOf(*item.stored), *item.st, module)) {
      return markUnchanged(item.path, *item.st, module);
    }
    return queueForWorkers(std::move(item));
  }

  bool markUnchanged(const std::string& path, const struct stat& st, std::size_t module) {
    if (!s_.filesLimiters_[module]->acquire(1, stop_)) return false;
    s_.shared_.files.add();
    if (S_ISREG(st.st_mode)) {  // counted as if observed in full
      const bool tooBig = static_cast<std::uint64_t>(st.st_size) > s_.shared_.modules[module].maxFileSize;
      (tooBig ? s_.shared_.tooBig : s_.shared_.reused).add();
    }
    unchanged_.push_back(core::pathKey(path));
    return unchanged_.size() < kUnchangedBatch || flushUnchanged();
  }

  bool queueForWorkers(WorkItem item) {
    batch_.push_back(std::move(item));
    return batch_.size() < kWalkBatch || work_.pushBatch(batch_, stop_);
  }

  // The stored record still describes the entry: same identity, times, owner, mode and, for a
  // file, every configured hash. Never true for a symlink, whose resolved target may move with
  // links elsewhere.
  bool unchanged(const core::FileStamp& o, const struct stat& st, std::size_t module) {
    if (S_ISLNK(st.st_mode)) return false;
    if (!matchesStat(o, st, userName(st.st_uid), groupName(st.st_gid))) return false;
    if (o.type != core::FileType::File) return true;
    const auto& settings = s_.shared_.modules[module];
    if (settings.verifyHashesAlways || (settings.mimeType && !o.hasMimeType)) return false;
    if (o.size.value_or(0) > settings.maxFileSize) return true;
    for (auto type : settings.hashTypes) {
      if (!(o.hashTypes & core::FileStamp::hashBit(type))) return false;
    }
    return true;
  }

  // Names from the shared cache, remembered for the ids met last (most entries share them).
  const std::string& userName(std::uint32_t uid) {
    if (uid != lastUid_) {
      lastUser_ = s_.shared_.names.user(uid);
      lastUid_ = uid;
    }
    return lastUser_;
  }
  const std::string& groupName(std::uint32_t gid) {
    if (gid != lastGid_) {
      lastGroup_ = s_.shared_.names.group(gid);
      lastGid_ = gid;
    }
    return lastGroup_;
  }

  bool flushUnchanged() {
    if (unchanged_.empty()) return true;
    core::Observation seen;  // the baseline only notes they were seen
    seen.kind = core::Observation::Kind::Unchanged;
    seen.unchangedKeys = std::move(unchanged_);
    unchanged_ = {};
    return out_.push(std::move(seen), stop_);
  }

  bool flush() { return (batch_.empty() || work_.pushBatch(batch_, stop_)) && flushUnchanged(); }

  Scanner& s_;
  std::stop_token stop_;
  DirectoryPool& pool_;
  core::BoundedQueue<WorkItem>& work_;
  core::BoundedQueue<core::Observation>& out_;
  std::vector<StoredRecord> stored_;  // the current directory's records, in name order
  std::string arena_;                 // their paths and bytes
  std::vector<WorkItem> batch_;  // for the workers, a few dozen at a time: fewer wake-ups
  std::vector<std::uint64_t> unchanged_;
  std::uint32_t lastUid_ = UINT32_MAX, lastGid_ = UINT32_MAX;
  std::string lastUser_, lastGroup_;
};

void Scanner::seed(std::stop_token stop, DirectoryPool& pool, core::BoundedQueue<WorkItem>& work) {
  std::vector<std::pair<std::size_t, std::string>> tops = options_.subtrees;
  if (tops.empty()) {
    for (std::size_t i = 0; i < roots_.size(); ++i) tops.emplace_back(i, roots_[i].path);
  }
  for (auto& [rootIndex, top] : tops) {
    if (rootIndex >= roots_.size()) continue;
    const Root& root = roots_[rootIndex];
    const PathFilter& filter = filters_[root.module];
    struct stat st {};
    if (::lstat(top.c_str(), &st) != 0) {
      if (top == root.path) {
        core::logger("watcher").warn("configured path {} cannot be read: {}", root.path, std::strerror(errno));
        shared_.errors.add();
      }
      continue;
    }
    if (!S_ISDIR(st.st_mode)) {
      if (filter.reported(top, false)) (void)work.push(WorkItem{top, rootIndex, {}, {}}, stop);
      continue;
    }
    if (!filter.excluded(top)) pool.add(WorkItem{std::move(top), rootIndex, {}, {}});
  }
}

void Scanner::walk(std::stop_token stop, core::BoundedQueue<WorkItem>& work, core::BoundedQueue<core::Observation>& out) {
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
