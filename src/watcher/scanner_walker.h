#pragma once
// The scanner's walkers (private to scanner_walk.cpp and scanner_merge.cpp): the pool of
// directories still to read and one walker thread.

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "watcher/directory_tree.h"
#include "watcher/scanner.h"

namespace fim::watcher {
namespace walk {

constexpr std::size_t kWalkBatch = 64;         // paths a walker hands over at once
constexpr std::size_t kUnchangedBatch = 4096;  // unchanged paths a walker reports at once
constexpr std::size_t kMaxDepth = 64;          // directories one walker holds open, nested

}  // namespace walk

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
         core::BoundedQueue<events::Observation>& out)
      : s_(scanner),
        stop_(stop),
        pool_(pool),
        work_(work),
        out_(out),
        merged_(s_.shared_.prior != nullptr && !s_.options_.baselineEmpty) {}

  // Until the pool is empty or stop.
  void run();

 private:
  // An entry of the directory being read.
  struct Entry {
    std::uint32_t nameAt = 0, nameSize = 0;  // in Listing::names
    unsigned char type = DT_UNKNOWN;         // d_type
    bool walk = false;                       // a directory to enter
    std::int32_t statAt = -1;                // without d_type: its lstat at listing, in Listing::stats
  };
  // The lstat of an entry without d_type, taken when it was listed.
  struct ListedStat {
    bool ok = false;
    int error = 0;
    struct stat st {};
  };
  // In the store's order: an entry's own record ("name"), then, for a directory to enter, what
  // lies below it ("name/...").
  struct Event {
    std::uint32_t entry = 0;
    bool below = false;
    bool given = false;        // handed to the pool: its entry is neither reported nor entered here
    std::uint64_t order = 0;  // its key's first 8 bytes, big-endian: most comparisons end there
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
    SharedDir dir;       // open: its entries are stat()ed, opened and handed over through it
    std::string prefix;  // belowPrefix(path)
    std::size_t root = 0;
    std::string names;
    std::vector<Entry> entries;
    std::vector<ListedStat> stats;  // only file systems without d_type fill it
    std::vector<Event> events;
    std::size_t next = 0;  // the next event to handle
    std::vector<Pending> pending;  // subdirectories between their entry and what lies below them
    std::string_view name(const Entry& e) const { return std::string_view(names).substr(e.nameAt, e.nameSize); }
    std::string_view name(const Event& e) const { return name(entries[e.entry]); }
    std::vector<Pending>::iterator pendingFor(std::uint32_t entry) {
      return std::find_if(pending.begin(), pending.end(), [&](const Pending& p) { return p.entry == entry; });
    }
  };

  // Opens the directory through its parent's descriptor (O_NOFOLLOW: a directory swapped for a
  // symlink since it was listed is not followed); null when it cannot be read (dir.error says
  // why; counted).
  SharedDir openDirectory(WorkItem& dir);
  // A listing that ended early on a read error: the directory reports it, and what it holds is
  // unknown (its records stay). Counted.
  void listingFailed(WorkItem& dir, int error);
  // Reports the directory (once read, so that an error reading it goes with it) unless it is
  // filtered out. False when stopped.
  bool settleDirectory(WorkItem dir);
  // A directory with no records to merge (a first run, or no baseline): reports it, then lists
  // it; subdirectories (recursive roots) go to `subdirectories`. False when stopped.
  bool readDirectory(WorkItem dir, std::vector<WorkItem>& subdirectories);

  // scanner_merge.cpp: a subtree beside the records.
  // One directory taken from the pool, and everything below it not given away. False when stopped.
  bool walkTask(WorkItem dir);
  // Reports the directory, then reads it and everything below it that is not given to the
  // pool, beside `records` (positioned at the first record at or after its prefix). Returns
  // with `records` past everything below the directory. False when stopped.
  bool walkSubtree(WorkItem dir, baseline::RecordCursor& records, std::size_t depth);
  // The directory's entries that are reported or entered, and their events in the store's order.
  // Returns the errno of a listing that ended early, else 0.
  int list(Listing& listing);
  // The events of `listing` in order, each after the records that sort before it.
  bool mergeListing(Listing& listing, baseline::RecordCursor& records, std::size_t depth);
  // One entry, with its record when `atRecord` (the cursor is at it). A subdirectory to enter
  // waits in `pending` for what lies below it. False when stopped.
  bool entryFound(Listing& listing, std::uint32_t index, const std::string& child, baseline::RecordCursor& records,
                  bool atRecord);
  // A record no entry matched: a path gone, excluded or no longer reported, or (with '/' in
  // `rel`) below a subdirectory that is not entered. The baseline's sweep deals with them.
  void skipUnmatched(baseline::RecordCursor& records, const Listing& listing, std::string_view rel);
  // Moves `records` past everything starting with `below`; `unmatched`: they are records of
  // paths this scan will not see.
  void skipBelow(baseline::RecordCursor& records, const std::string& below, std::size_t root, bool unmatched);
  // Another walker waits: hands it the last subdirectory not yet entered of the outermost
  // directory this walker is reading (the largest piece, most likely).
  void giveAway();

  // A path the baseline records exactly as lstat shows it is settled here; any other goes to
  // the workers. False when stopped.
  bool settle(WorkItem item);
  bool markUnchanged(const std::string& path, const struct stat& st, std::size_t module);
  bool queueForWorkers(WorkItem item) {
    batch_.push_back(std::move(item));
    return batch_.size() < walk::kWalkBatch || work_.pushBatch(batch_, stop_);
  }
  // The record still describes the entry (baseline::classify) and holds everything the module
  // would compute for it (baseline::reusable). Never true for a symlink.
  bool unchanged(const events::FileStamp& recorded, const struct stat& st, std::size_t module);

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

  bool flushUnchanged();
  bool flush() { return (batch_.empty() || work_.pushBatch(batch_, stop_)) && flushUnchanged(); }

  Scanner& s_;
  std::stop_token stop_;
  DirectoryPool& pool_;
  core::BoundedQueue<WorkItem>& work_;
  core::BoundedQueue<events::Observation>& out_;
  const bool merged_;             // there are records to merge with (not a first run)
  std::vector<Listing*> frames_;  // the directories this walker is reading, outermost first
  std::vector<WorkItem> batch_;   // for the workers, a few dozen at a time: fewer wake-ups
  std::vector<std::uint64_t> unchanged_;
  std::int64_t files_ = 0, reused_ = 0, tooBig_ = 0;  // counted here, added to the shared counters with unchanged_
  std::vector<char> entries_ = std::vector<char>(32 * 1024);  // getdents64's buffer
  std::uint32_t lastUid_ = UINT32_MAX, lastGid_ = UINT32_MAX;
  std::string lastUser_, lastGroup_;
};

}  // namespace fim::watcher
