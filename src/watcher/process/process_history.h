#pragma once
// ProcessHistory: what is known of a process that /proc no longer describes (it exited, or is a
// zombie whose executable and arguments are gone), learnt while it ran. ProcessTracker is the
// real one; tests pass fakes.

#include <chrono>
#include <cstdint>
#include <optional>

#include "watcher/process/process_reader.h"

namespace fim::watcher::process {

class ProcessHistory {
 public:
  virtual ~ProcessHistory() = default;

  // What was read of `pid` when it last exec'd (or was forked), even after it exited; nullopt
  // when nothing was. Every process event the kernel queued before the call is taken in first,
  // so a process that exec'd before it made a change is known as the program it became.
  virtual std::optional<ProcessSnapshot> recall(std::int64_t pid) = 0;

  // Every file change queued before `readStarted` has been read and its process looked up:
  // processes that exited before then can be forgotten.
  virtual void drained(std::chrono::steady_clock::time_point readStarted) = 0;
};

}  // namespace fim::watcher::process
