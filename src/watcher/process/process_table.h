#pragma once
// ProcessTable: who each process is, read from /proc the moment the kernel says it exec'd (or
// was forked: a child that writes before it execs is its parent's program), and kept after it
// exits until the file changes it could have made have been read. Fed by ProcessTracker's
// process events; looked up by the fanotify backend's ProcessCache. Thread-safe.

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "watcher/process/pi_mutex.h"
#include "watcher/process/proc_events.h"
#include "watcher/process/process_reader.h"

namespace fim::watcher::process {

struct ProcessTableLimits {
  std::size_t maxExited = 16384;  // exited processes kept before the oldest is forgotten anyway
  std::size_t maxLive = 65536;    // beyond this, entries whose process is gone are swept
};

// A child the table knows only from its fork: it carries its parent's snapshot (with the parent's
// comm and no start time of its own) until its exec, if any, is taken in.
inline bool knownOnlyFromFork(const ProcessSnapshot& snapshot) {
  return snapshot.identity.startTime == 0 && !snapshot.identity.comm.empty();
}

class ProcessTable {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  explicit ProcessTable(const ProcessReader& reader, ProcessTableLimits limits = {});

  // Takes in one process event, `now` being when it was received. Thread events are ignored.
  // Returns false for an exec whose /proc was already gone (the process ended first). Events
  // are applied by one thread at a time, in the kernel's order.
  bool apply(const ProcEvent& event, TimePoint now);

  // The latest snapshot of `pid`, alive or exited; nullopt when it was never seen.
  std::optional<ProcessSnapshot> find(std::int64_t pid) const;

  // Forgets the processes that exited before `readStarted` (their changes have been read).
  void drained(TimePoint readStarted);

  // Process events were lost: entries whose process exec'd or ended unseen are corrected, the
  // former forgotten (their snapshot is of another program), the latter marked exited at `now`.
  void resync(TimePoint now);

  std::size_t size() const;
  std::size_t exited() const;

 private:
  struct Entry {
    ProcessSnapshot snapshot;
    std::uint64_t generation = 0;  // tells a pid's entries apart in exited_
    bool exited = false;
  };
  struct Exit {
    std::int64_t pid;
    std::uint64_t generation;
    TimePoint at;
  };

  void fork(std::int64_t child, std::int64_t parent);
  bool exec(std::int64_t pid);
  void exit(std::int64_t pid, TimePoint now);
  void changeId(const ProcEvent& event);
  // The caller holds mutex_.
  void put(std::int64_t pid, ProcessSnapshot snapshot);
  void markExited(std::int64_t pid, TimePoint now);
  void forget(const Exit& exit);  // the entry of that exit, unless its pid was taken again since
  bool stale(std::int64_t pid, const Entry& entry) const;

  const ProcessReader& reader_;
  ProcessTableLimits limits_;
  mutable PiMutex mutex_;  // the tracker's thread is real-time, its readers are not
  std::unordered_map<std::int64_t, Entry> entries_;
  std::deque<Exit> exits_;  // in the order the processes exited; an entry replaced since is skipped
  std::size_t exitedEntries_ = 0;
  std::size_t sweepAbove_;  // live entries beyond which the gone are swept
  std::uint64_t generation_ = 0;
};

}  // namespace fim::watcher::process
