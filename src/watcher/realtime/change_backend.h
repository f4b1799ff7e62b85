#pragma once
// ChangeBackend: a kernel notification API (inotify, fanotify) reduced to the raw changes the
// realtime watcher needs. Backends report; the realtime watcher coalesces, pairs renames, reads
// metadata and hashes, and hands observations to the baseline.

#include <cstdint>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "events/metadata.h"
#include "core/result.h"
#include "watcher/roots.h"

namespace fim::watcher {

// One thing a backend saw happen to one path. Paths are absolute and already filtered to the
// configured roots, recursion and excludes.
struct RawChange {
  enum class Kind {
    Modified,   // content may have changed and more writes may follow: coalesce
    Attributes, // metadata changed (chmod, chown, xattr, link count)
    Closed,     // a writer closed the file (IN_CLOSE_WRITE / FAN_CLOSE_WRITE): settle it now
    Created,    // a new path; for a directory the backend already watches it
    Deleted,
    MovedFrom,  // paired with a MovedTo by cookie (inotify) or by inode (fanotify without FAN_RENAME)
    MovedTo,
    Renamed,    // both ends known at once (FAN_RENAME): path is the new one, oldPath the old one
    Overflow,   // events were lost: rescan `path` (a root, or "" for every root) against the baseline
    Unwatched,  // the backend cannot watch `path` (a directory) any more: rescan it periodically
    Unresolved, // a change was seen whose path could not be named (`detail` says why): rescan `path`
                // ("" = every root) against the baseline
  };
  Kind kind = Kind::Modified;
  std::string path;
  std::string oldPath;       // Renamed only
  bool isDirectory = false;
  std::uint32_t cookie = 0;  // inotify rename cookie; 0 when the backend has none
  std::uint64_t inode = 0;   // when the backend knows it (fanotify file handles), else 0
  std::optional<events::ProcessInfo> process;  // who did it, when the backend knows (fanotify)
  std::string detail;                          // Unresolved only: why
};

using ChangeSink = std::function<void(RawChange&&)>;

class ChangeBackend {
 public:
  virtual ~ChangeBackend() = default;

  virtual const char* name() const = 0;  // "inotify", "fanotify"

  // Places the watches or marks. Called before the start-up scan so that nothing is missed.
  [[nodiscard]] virtual core::Status start(const std::vector<Root>& roots) = 0;

  // After a successful start(): the descriptor that turns readable when changes are waiting.
  virtual int fd() const = 0;
  // Reads and reports the changes waiting, without blocking (but for a few milliseconds when the
  // second half of a rename may be about to arrive). Reads a bounded amount per call, so that
  // the caller's timers and other work go on under a flood; the caller calls again while fd()
  // stays readable. Call it once right after start() too: what start() found (directories it
  // could not watch) is reported then.
  virtual void readReady(const ChangeSink& sink) = 0;

  // Waits for changes and reports them until stop is requested: the loop for a caller that does
  // not wait on fd() itself (the realtime watcher does, so that no thread sits in between).
  void run(std::stop_token stop, const ChangeSink& sink);
};

}  // namespace fim::watcher
