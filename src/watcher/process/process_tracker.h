#pragma once
// ProcessTracker: who-data that does not race with short-lived processes. A thread of its own
// listens to the kernel's process events and reads /proc/<pid> the moment a process execs (or
// is forked), while it still runs, into a ProcessTable; the fanotify backend's ProcessCache
// recalls a process from it when /proc no longer describes the process behind a change.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/health.h"
#include "core/metrics.h"
#include "core/result.h"
#include "watcher/name_cache.h"
#include "watcher/process/proc_connector.h"
#include "watcher/process/process_history.h"
#include "watcher/process/process_table.h"
#include "watcher/process/tracker_priority.h"

namespace fim::watcher::process {

struct ProcessTrackerOptions {
  int receiveBuffer = 8 << 20;  // bytes: a burst of several thousand events
  ProcessTableLimits limits;
  std::chrono::milliseconds proofTimeout{2000};  // for the first event to arrive at start
  std::chrono::milliseconds maxRecallWait{20};  // for the thread to take in what was queued before a recall
};

class ProcessTracker final : public ProcessHistory {
 public:
  // Processes are read from `procRoot` with `limits` on their arguments, by a reader (and user
  // and group name cache) of the tracker's own, so the tracker never waits for another thread's
  // lookups. `metrics`: when given, the counters are published as watcher.process.*. `health`:
  // when given, the watcher unit is DEGRADED (condition "who_data") while who-data races.
  ProcessTracker(std::string procRoot, ArgsLimits limits, ProcessTrackerOptions options = {},
                 core::Metrics* metrics = nullptr, core::Health* health = nullptr);
  ~ProcessTracker() override;
  ProcessTracker(const ProcessTracker&) = delete;
  ProcessTracker& operator=(const ProcessTracker&) = delete;

  // Subscribes to the kernel's process events, proves that they arrive (its own probe thread's
  // creation must be seen) and starts the thread. An error names what is missing (CAP_NET_ADMIN,
  // the initial pid namespace); who-data then comes from /proc alone.
  [[nodiscard]] core::Status start();

  // start(), then says what who-data will lack, if anything, in the log and the health: the
  // tracker's error, a priority too low to win the race, each missing right to read other
  // processes' /proc. Once: a second call (a backend started again) does nothing.
  void startAndReport();

  bool running() const { return thread_.joinable(); }

  // Waits (at most maxRecallWait, and not at all for a second after a wait that timed out) until
  // the thread has taken in every event queued before the call, then answers from the table.
  // Only the tracker's thread reads the socket: a lookup never holds up the thread that must race
  // exiting processes.
  std::optional<ProcessSnapshot> recall(std::int64_t pid) override;
  void drained(std::chrono::steady_clock::time_point readStarted) override;

  std::size_t tracked() const { return table_.size(); }

 private:
  void run(std::stop_token stop);
  void takeIn();  // one turn of the thread: receives and applies what is queued, reports progress
  // Whether every event queued before `sinceNs` is in the table; false when it gave up waiting.
  bool waitCaughtUp(std::uint64_t sinceNs);
  void budget();
  [[nodiscard]] core::Status prove();
  void degrade(std::string message);

  std::string procRoot_;
  core::Health* health_;
  bool reported_ = false;
  NameCache names_;
  ProcessReader reader_;
  ProcessTable table_;
  ProcessTrackerOptions options_;
  ProcConnector connector_;
  int wake_ = -1;  // eventfd that stops the thread
  TrackerPriority priority_;  // used by the thread only
  TrackerPriority::Level level_ = TrackerPriority::Level::Normal;  // what the thread reached at start
  // Progress, for recall(): every event queued before caughtUpNs_ is in the table; busy_ while
  // the thread holds events it has read but not yet applied.
  std::atomic<std::uint64_t> caughtUpNs_{0};
  std::atomic<bool> busy_{false};
  std::atomic<std::int64_t> lastTimeout_{0};  // steady clock ticks of the last recall that gave up
  std::mutex progressMutex_;  // taken by waiting lookups only
  std::condition_variable progress_;
  core::Counter ownEvents_, ownLost_, ownLate_, ownLowered_, ownWaits_;
  core::Counter& events_;   // process events received
  core::Counter& lost_;     // times the socket overflowed (events lost)
  core::Counter& late_;     // execs whose /proc was gone before it was read
  core::Counter& lowered_;  // times the thread went over its CPU budget
  core::Counter& waits_;    // recalls that gave up waiting for the thread
  core::Gauge ownTracked_, ownTracking_;
  core::Gauge& trackedGauge_;
  core::Gauge& tracking_;  // 1 while the thread runs: who-data does not race
  core::Histogram ownDelay_;
  core::Histogram& execDelay_;  // microseconds from a process's exec to the start of its /proc read
  std::jthread thread_;
};

}  // namespace fim::watcher::process
