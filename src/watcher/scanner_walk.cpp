// The scanner's walk: walker threads that share the directories still to read (scanner.h).
#include "watcher/scanner.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
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
constexpr std::size_t kMaxDepth = 64;          // directories one walker holds open, nested

// `path` becomes dir/name, reusing its buffer.
void setChildPath(std::string& path, const std::string& dir, std::string_view name) {
  path.assign(dir == "/" ? std::string_view() : std::string_view(dir)).append(1, '/').append(name);
}


bool isDot(const char* name) { return name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0)); }

// The prefix of everything below a directory in the store: "/a/b/" ("/" for the root).
std::string belowPrefix(const std::string& dir) { return dir == "/" ? dir : dir + "/"; }

// Where the records below `prefix` + name + "/" end: '0' sorts right after '/'.
std::string pastSubtree(std::string_view prefix, std::string_view name) {
  std::string key;
  key.reserve(prefix.size() + name.size() + 1);
  key.append(prefix).append(name).push_back('0');
  return key;
}

// Compares a + (slashA ? "/" : "") with b + (slashB ? "/" : "") bytewise: the store's order of
// a directory's entries ("name") and of what lies below its subdirectories ("name/...").
bool keyLess(std::string_view a, bool slashA, std::string_view b, bool slashB) {
  const std::size_t n = std::min(a.size(), b.size());
  if (const int c = std::memcmp(a.data(), b.data(), n); c != 0) return c < 0;
  const auto at = [](std::string_view s, bool slash, std::size_t i) {
    return i < s.size() ? static_cast<int>(static_cast<unsigned char>(s[i])) : (i == s.size() && slash ? '/' : -1);
  };
  for (std::size_t i = n;; ++i) {
    const int x = at(a, slashA, i), y = at(b, slashB, i);
    if (x != y) return x < y;
    if (x < 0) return false;
  }
}

}  // namespace

// The directories still to read. A walker takes one, reads it whole and gives back its
// subdirectories; the walk is over when none is left and no walker is reading one.
class Scanner::DirectoryPool {
 public:
  void add(WorkItem directory) {
    std::lock_guard lock(mutex_);
    pending_.push_back(std::move(directory));
  }

  // A walker holding a subtree hands part of it over (from its own thread).
  void give(WorkItem directory) {
    {
      std::lock_guard lock(mutex_);
      pending_.push_back(std::move(directory));
      pendingCount_.store(pending_.size(), std::memory_order_relaxed);
    }
    ready_.notify_one();
  }

  // A walker waits for work and none is pending: whoever holds a subtree should give part of it.
  bool hungry() const {
    return waiting_.load(std::memory_order_relaxed) > pendingCount_.load(std::memory_order_relaxed);
  }

  // Waits while the pool is empty but a walker may still add to it. nullopt: done or stopped.
  std::optional<WorkItem> take(std::stop_token stop) {
    std::unique_lock lock(mutex_);
    waiting_.fetch_add(1, std::memory_order_relaxed);
    ready_.wait(lock, stop, [&] { return !pending_.empty() || busy_ == 0; });
    waiting_.fetch_sub(1, std::memory_order_relaxed);
    if (stop.stop_requested() || pending_.empty()) return std::nullopt;
    std::optional<WorkItem> directory(std::move(pending_.back()));  // depth first: the pool stays small
    pending_.pop_back();
    pendingCount_.store(pending_.size(), std::memory_order_relaxed);
    ++busy_;
    return directory;
  }

  // The directory taken last is read; these are its subdirectories.
  void finished(std::vector<WorkItem>& subdirectories) {
    bool wake = false;
    {
      std::lock_guard lock(mutex_);
      for (auto& d : subdirectories) pending_.push_back(std::move(d));
      pendingCount_.store(pending_.size(), std::memory_order_relaxed);
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
  std::atomic<std::size_t> waiting_ = 0;       // walkers in take()
  std::atomic<std::size_t> pendingCount_ = 0;  // pending_.size(), read without the lock
};

// One walker thread: reads directories from the pool until it is empty.
//
// With no baseline to compare with (a first run), a directory is read on its own and its
// subdirectories go to the pool. Otherwise a walker takes a whole subtree and reads it in the
// store's key order beside one forward cursor over the records: each directory's entries are
// sorted and merged with its records, and a subdirectory is entered where its records begin.
// Every record is then read once, with no lookups, and a record no entry matched (a path gone
// or no longer reported) is noticed on the way: when there was none under a root, the
// baseline's deletion sweep has nothing to look for there. A walker gives part of its subtree
// to the pool when another walker waits for work.
class Scanner::Walker {
 public:
  Walker(Scanner& scanner, std::stop_token stop, DirectoryPool& pool, core::BoundedQueue<WorkItem>& work,
         core::BoundedQueue<core::Observation>& out)
      : s_(scanner),
        stop_(stop),
        pool_(pool),
        work_(work),
        out_(out),
        merged_(s_.shared_.prior != nullptr && !s_.options_.baselineEmpty) {}

  // Until the pool is empty or stop.
  void run() {
    std::vector<WorkItem> subdirectories;
    while (auto directory = pool_.take(stop_)) {
      bool read = true;
      if (merged_) {
        const std::size_t root = directory->root;
        auto records = s_.shared_.prior->records();
        records->seek(belowPrefix(directory->path));
        read = walkSubtree(std::move(*directory), *records, 0);
        if (!records->status()) s_.rootUnmatched_[root] = true;  // not all read: the sweep looks
      } else {
        read = readDirectory(std::move(*directory), subdirectories);
      }
      pool_.finished(subdirectories);
      if (!read) return;
    }
    (void)flush();
  }

 private:
  // An entry of the directory being read.
  struct Entry {
    std::size_t nameAt = 0, nameSize = 0;  // in Listing::names
    unsigned char type = DT_UNKNOWN;       // d_type
    bool walk = false;                     // a directory to enter
    bool statted = false;                  // st holds its lstat (only entries without d_type, at listing)
    int statErrno = 0;
    struct stat st {};
  };
  // In the store's order: an entry's own record ("name"), then, for a directory to enter, what
  // lies below it ("name/...").
  struct Event {
    std::uint32_t entry = 0;
    bool below = false;
    bool given = false;  // handed to the pool: its entry is neither reported nor entered here
  };
  // A subdirectory between its own record and what lies below it: what was known at its entry.
  struct Pending {
    std::uint32_t entry = 0;
    WorkItem item;
    bool gone = false;  // vanished when stat()ed
  };
  // A directory read, from its listing to its last event.
  struct Listing {
    std::string path;
    std::string prefix;  // belowPrefix(path)
    std::size_t root = 0;
    std::string names;
    std::vector<Entry> entries;
    std::vector<Event> events;
    std::size_t next = 0;  // the next event to handle
    std::vector<Pending> pending;  // subdirectories between their entry and what lies below them
    std::string_view name(const Entry& e) const { return std::string_view(names).substr(e.nameAt, e.nameSize); }
    std::string_view name(const Event& e) const { return name(entries[e.entry]); }
  };
  // Opens the directory (O_NOFOLLOW: a directory swapped for a symlink since it was listed is not
  // followed) and reports it; nullptr when it cannot be read (reported with the error). `ok` is
  // false when stopped.
  DIR* openAndSettle(WorkItem dir, bool& ok) {
    const int fd = ::open(dir.path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR* handle = fd >= 0 ? ::fdopendir(fd) : nullptr;
    if (!handle) {
      dir.error = core::errnoError("failed to read directory " + dir.path, errno).message();
      if (fd >= 0) ::close(fd);
    }
    ok = true;
    const PathFilter& filter = s_.filters_[s_.roots_[dir.root].module];
    if (filter.reported(dir.path, true) && !settle(std::move(dir))) {
      if (handle) ::closedir(handle);
      ok = false;
      return nullptr;
    }
    return handle;
  }

  // A directory with no records to merge (a first run, or no baseline): reports it, then lists
  // it; subdirectories (recursive roots) go to `subdirectories`.
  bool readDirectory(WorkItem dir, std::vector<WorkItem>& subdirectories) {
    const Root& root = s_.roots_[dir.root];
    const PathFilter& filter = s_.filters_[root.module];
    const std::string path = dir.path;
    const std::size_t rootIndex = dir.root;
    bool ok = true;
    DIR* handle = openAndSettle(std::move(dir), ok);
    if (!handle) return ok;
    const bool storedKnown = s_.options_.baselineEmpty;
    std::string child;  // reused: an unchanged entry needs no string of its own
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
      if (entry->d_type == DT_REG && storedKnown) {
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
      WorkItem item{child, rootIndex, {}, {}};
      if (statted) item.st = st;
      item.storedKnown = storedKnown;
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

  // Reports the directory, then reads it and everything below it that is not given to the
  // pool, beside `records` (positioned at the first record at or after its prefix). Returns
  // with `records` past everything below the directory. False when stopped.
  bool walkSubtree(WorkItem dir, core::KvCursor& records, std::size_t depth) {
    if (dir.lookUp) {  // read here what its parent's walker had not read yet
      struct stat st {};
      if (::lstat(dir.path.c_str(), &st) == 0) dir.st = st;
      if (auto found = s_.shared_.prior->lookup(dir.path)) {
        dir.storedKnown = true;
        dir.stored = std::move(*found);
      }
    }
    Listing listing;
    listing.path = dir.path;
    listing.prefix = belowPrefix(dir.path);
    listing.root = dir.root;
    bool ok = true;
    DIR* handle = openAndSettle(std::move(dir), ok);
    if (!handle) {
      // Unreadable (its records stay, as the sweep keeps them), or stopped.
      skipBelow(records, listing.prefix, listing.root, false);
      return ok;
    }
    list(handle, listing);
    frames_.push_back(&listing);
    ok = mergeListing(handle, listing, records, depth);
    frames_.pop_back();
    ::closedir(handle);
    return ok;
  }

  // The directory's entries that are reported or entered, and their events in the store's order.
  void list(DIR* handle, Listing& listing) {
    const Root& root = s_.roots_[listing.root];
    const PathFilter& filter = s_.filters_[root.module];
    std::string child;
    while (const dirent* entry = ::readdir(handle)) {
      if (isDot(entry->d_name)) continue;
      setChildPath(child, listing.path, entry->d_name);
      if (filter.excluded(child)) continue;  // its record, if any, is matched by nothing
      Entry e;
      e.type = entry->d_type;
      bool isDir = entry->d_type == DT_DIR;
      if (entry->d_type == DT_UNKNOWN) {
        // No d_type on this file system: the stat tells whether to enter it.
        e.statted = ::fstatat(::dirfd(handle), entry->d_name, &e.st, AT_SYMLINK_NOFOLLOW) == 0;
        e.statErrno = e.statted ? 0 : errno;
        isDir = e.statted && S_ISDIR(e.st.st_mode);
      }
      e.walk = isDir && root.recursive;
      if (!e.walk && !filter.reported(child, isDir)) continue;
      e.nameAt = listing.names.size();
      e.nameSize = std::strlen(entry->d_name);
      listing.names.append(entry->d_name, e.nameSize);
      listing.entries.push_back(e);
    }
    listing.events.reserve(listing.entries.size() + 8);
    for (std::uint32_t i = 0; i < listing.entries.size(); ++i) {
      listing.events.push_back(Event{i, false});
      if (listing.entries[i].walk) listing.events.push_back(Event{i, true});
    }
    std::sort(listing.events.begin(), listing.events.end(), [&](const Event& a, const Event& b) {
      return keyLess(listing.name(a), a.below, listing.name(b), b.below);
    });
  }

  // The events of `listing` in order, each after the records that sort before it.
  bool mergeListing(DIR* handle, Listing& listing, core::KvCursor& records, std::size_t depth) {
    const std::string& prefix = listing.prefix;
    std::vector<Pending>& pending = listing.pending;
    std::string child;
    while (listing.next < listing.events.size()) {
      if (pool_.hungry()) giveAway();
      const Event event = listing.events[listing.next++];
      const std::string_view name = listing.name(event);
      // Records before the event: no entry of this directory matched them.
      while (records.valid()) {
        const std::string_view key = records.key();
        if (!key.starts_with(prefix)) break;
        const std::string_view rel = key.substr(prefix.size());
        if (!keyLess(rel, false, name, event.below)) break;
        skipUnmatched(records, listing, rel);
      }
      setChildPath(child, listing.path, name);
      const bool atRecord = records.valid() && records.key().starts_with(prefix) &&
                            records.key().substr(prefix.size()) == name && !event.below;
      if (!event.below) {
        if (event.given) {  // reported by whoever took it
          if (atRecord) records.next();
          continue;
        }
        if (!entryFound(handle, listing, event.entry, child, records, atRecord)) {
          return false;
        }
        if (atRecord) records.next();
        continue;
      }
      // What lies below a subdirectory.
      auto it = std::find_if(pending.begin(), pending.end(), [&](const Pending& p) { return p.entry == event.entry; });
      if (event.given || it == pending.end() || it->gone) {
        // Given to the pool (read there), or gone since it was listed (what was below it is not).
        skipBelow(records, prefix + std::string(name) + "/", listing.root, !event.given);
        if (it != pending.end()) pending.erase(it);
        continue;
      }
      WorkItem item = std::move(it->item);
      pending.erase(it);
      if (depth + 1 >= kMaxDepth) {  // deep enough for one walker's open directories: to the pool
        pool_.give(std::move(item));
        skipBelow(records, prefix + std::string(name) + "/", listing.root, false);
        continue;
      }
      if (!walkSubtree(std::move(item), records, depth + 1)) return false;
    }
    // Records after the last event: no entry matched them either.
    while (records.valid() && records.key().starts_with(prefix)) {
      skipUnmatched(records, listing, records.key().substr(prefix.size()));
    }
    return true;
  }

  // One entry, with its record when `atRecord` (the cursor is at it). A subdirectory to enter
  // waits in `pending` for what lies below it. False when stopped.
  bool entryFound(DIR* handle, Listing& listing, std::uint32_t index, const std::string& child,
                  core::KvCursor& records, bool atRecord) {
    const Entry& e = listing.entries[index];
    core::KvCursor* record = atRecord ? &records : nullptr;
    // No record, unless the cursor stopped on an error: then the workers look it up.
    const bool storedKnown = atRecord || records.valid() || records.status().has_value();
    std::vector<Pending>& pending = listing.pending;
    const std::size_t module = s_.roots_[listing.root].module;
    const char* name = child.c_str() + (child.size() - e.nameSize);
    if (e.type == DT_REG && !record && storedKnown) {
      // New to the baseline, so nothing to compare: the worker's open and fstat give the metadata.
      WorkItem item{child, listing.root, {}, {}};
      item.listedRegular = true;
      item.storedKnown = true;
      return queueForWorkers(std::move(item));
    }
    struct stat st = e.st;
    bool statted = e.statted;
    int statErrno = e.statErrno;
    if (e.type != DT_UNKNOWN) {
      statted = ::fstatat(::dirfd(handle), name, &st, AT_SYMLINK_NOFOLLOW) == 0;
      statErrno = statted ? 0 : errno;
    }
    if (!statted && statErrno == ENOENT) {
      s_.shared_.vanished.add();
      if (record) s_.rootUnmatched_[listing.root] = true;  // its record is for the sweep
      if (e.walk) pending.push_back(Pending{index, {}, true});
      return true;
    }
    if (!e.walk && record && statted) {
      const auto stamp = s_.shared_.prior->stamp(record->value());
      if (stamp && unchanged(*stamp, st, module)) return markUnchanged(child, st, module);
    }
    WorkItem item{child, listing.root, {}, {}};
    if (statted) item.st = st;
    item.storedKnown = storedKnown;
    if (record) {
      // Changed, or a directory: its whole record goes with it.
      if (auto decoded = s_.shared_.prior->decode(record->key(), record->value())) {
        item.stored = std::move(*decoded);
      } else {
        item.storedKnown = false;  // unreadable here: the baseline reads it itself, and says why it cannot
      }
    }
    if (e.walk) {
      pending.push_back(Pending{index, std::move(item), false});
      return true;
    }
    return queueForWorkers(std::move(item));
  }

  // A record no entry matched: a path gone, excluded or no longer reported, or (with '/' in
  // `rel`) below a subdirectory that is not entered. The baseline's sweep deals with them.
  void skipUnmatched(core::KvCursor& records, const Listing& listing, std::string_view rel) {
    if (rel.empty()) {  // the directory's own record under the prefix "/": not a child
      records.next();
      return;
    }
    s_.rootUnmatched_[listing.root] = true;
    const std::size_t slash = rel.find('/');
    if (slash == std::string_view::npos) {
      records.next();
    } else {
      records.seek(pastSubtree(listing.prefix, rel.substr(0, slash)));
    }
  }

  // Moves `records` past everything starting with `below`; `unmatched`: they are records of
  // paths this scan will not see.
  void skipBelow(core::KvCursor& records, const std::string& below, std::size_t root, bool unmatched) {
    if (!records.valid() || !records.key().starts_with(below)) return;
    if (unmatched) s_.rootUnmatched_[root] = true;
    records.seek(pastSubtree(std::string_view(below).substr(0, below.size() - 1), ""));
  }

  // Another walker waits: hands it the last subdirectory not yet entered of the outermost
  // directory this walker is reading (the largest piece, most likely).
  void giveAway() {
    for (Listing* listing : frames_) {
      for (std::size_t i = listing->events.size(); i-- > listing->next;) {
        Event& event = listing->events[i];
        if (!event.below || event.given) continue;
        auto& pending = listing->pending;
        auto it = std::find_if(pending.begin(), pending.end(), [&](const Pending& p) { return p.entry == event.entry; });
        if (it != pending.end() && it->gone) continue;
        event.given = true;
        if (it != pending.end()) {  // its entry was handled: what it found goes along
          pool_.give(std::move(it->item));
          pending.erase(it);
          return;
        }
        // Its entry is still ahead: skipped here, and reported afresh by whoever takes it.
        for (std::size_t j = listing->next; j < i; ++j) {
          if (listing->events[j].entry == event.entry) listing->events[j].given = true;
        }
        std::string path;
        setChildPath(path, listing->path, listing->name(event));
        WorkItem item{std::move(path), listing->root, {}, {}};
        item.lookUp = true;
        pool_.give(std::move(item));
        return;
      }
    }
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
  const bool merged_;              // there are records to merge with (not a first run)
  std::vector<Listing*> frames_;   // the directories this walker is reading, outermost first
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
      rootUnmatched_[rootIndex] = true;  // records it may have are for the sweep
      if (top == root.path) {
        core::logger("watcher").warn("configured path {} cannot be read: {}", root.path, std::strerror(errno));
        shared_.errors.add();
      }
      continue;
    }
    if (!S_ISDIR(st.st_mode)) {
      rootUnmatched_[rootIndex] = true;  // the sweep reads what was below it, if it was a directory
      if (filter.reported(top, false)) (void)work.push(WorkItem{top, rootIndex, {}, {}}, stop);
      continue;
    }
    if (filter.excluded(top)) {
      rootUnmatched_[rootIndex] = true;
    } else {
      pool.add(WorkItem{std::move(top), rootIndex, {}, {}});
    }
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
