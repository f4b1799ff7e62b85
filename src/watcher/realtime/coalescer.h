#pragma once
// Coalescer: turns a stream of raw changes into the few things worth looking at. A burst of
// writes to one file becomes one look once the writer closes it (or after a quiet period),
// a moved-from and its moved-to become one move, an unpaired moved-from becomes a deletion.
// Pure: time is passed in, nothing is read from the file system.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "watcher/realtime/change_backend.h"

namespace fim::watcher {

// What the realtime watcher should do about one path.
struct Settled {
  enum class Kind {
    Observe,    // read metadata and hashes of path now and diff it against the baseline
    Delete,     // path (and everything under it) is gone
    Move,       // oldPath was renamed to path
    Rescan,     // events were lost: rescan path ("" = every root) against the baseline
    Unwatched,  // path (a directory) cannot be watched: rescan it periodically
    Unresolved, // a change whose path could not be named (oldPath says why): rescan path ("" = every root)
  };
  Kind kind = Kind::Observe;
  std::string path;
  std::string oldPath;  // Move: where it was; Unresolved: why it has no path
  bool isDirectory = false;
  std::optional<events::ProcessInfo> process;
};

class Coalescer {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using Duration = std::chrono::milliseconds;

  struct Options {
    Duration quietPeriod{1000};  // a file written but not closed is looked at this long after its last write
    Duration maxDelay{10000};    // ... and at the latest this long after its first (a file written forever)
    Duration pairWindow{100};    // how long a moved-from waits for its moved-to before it counts as deleted
  };

  explicit Coalescer(Options options) : options_(options) {}

  // Takes one change seen at `now`; what is settled at once is appended to `out`, in order.
  // `quiet`: the quiet period for this path's module (nullopt: the default).
  void add(RawChange change, TimePoint now, std::vector<Settled>& out, std::optional<Duration> quiet = std::nullopt);

  // Appends every pending look and every unpaired move whose time has come, by `now`.
  void due(TimePoint now, std::vector<Settled>& out);

  // When the next pending thing falls due (nullopt: nothing pending).
  std::optional<TimePoint> nextDue();

  // Paths waiting for a close or a quiet period, and moved-froms waiting for their pair.
  std::size_t pending() const { return writes_.size() + moves_.size(); }

  // The writer of a change to path that is still waiting (a later close or write), if known: a
  // look taken now already sees that writer's content, so the event should name it.
  const events::ProcessInfo* pendingWriter(const std::string& path) const {
    auto it = writes_.find(path);
    return it != writes_.end() && it->second.process ? &*it->second.process : nullptr;
  }

  // Renames paired / moved-froms that timed out (became deletions): for metrics.
  std::uint64_t paired() const { return paired_; }
  std::uint64_t unpaired() const { return unpaired_; }

 private:
  struct Write {
    TimePoint first;
    TimePoint due;
    bool contentOpen = false;  // written and not closed yet: attribute changes wait for the close
    std::optional<events::ProcessInfo> process;
  };
  struct MoveFrom {
    std::string path;
    bool isDirectory = false;
    TimePoint at;
    std::map<std::string, Write> children;  // pending writes under a moved directory, by relative path
    std::optional<events::ProcessInfo> process;
  };

  void schedule(const std::string& path, Write& write, TimePoint due);
  void settleNow(const std::string& path, bool isDirectory, std::vector<Settled>& out,
                 std::optional<events::ProcessInfo> process);
  void closed(RawChange&& change, TimePoint now, Duration wait, std::vector<Settled>& out);
  void dropWrites(const std::string& path, bool withChildren, MoveFrom* keep);
  void expireMovesTouching(const std::string& path, std::uint32_t cookie, std::vector<Settled>& out);
  void expireMove(std::uint32_t cookie, std::vector<Settled>& out);

  Options options_;
  std::map<std::string, Write> writes_;  // ordered: a directory's pending children are one range
  std::multimap<TimePoint, std::string> schedule_;  // lazily cleaned: an entry counts only if its due matches
  std::unordered_map<std::uint32_t, MoveFrom> moves_;  // by cookie
  // Files looked at after a close, until when a further close waits (a burst of open-write-close
  // cycles is one look at its start and one at its end).
  std::unordered_map<std::string, TimePoint> recent_;
  TimePoint nextPrune_{};
  std::uint64_t paired_ = 0;
  std::uint64_t unpaired_ = 0;
};

}  // namespace fim::watcher
