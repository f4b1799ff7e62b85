#pragma once
// RealtimeWatcher::Loop: the realtime watcher's one thread (backend reads, coalescing, scans,
// recovery). Private to src/watcher/realtime: realtime_watcher.cpp runs it, realtime_recovery.cpp
// holds what it does when changes may have been missed.

#include <atomic>
#include <chrono>
#include <deque>
#include <optional>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "core/logging.h"
#include "watcher/realtime/realtime_watcher.h"

namespace fim::watcher {
namespace loop_detail {

using Steady = std::chrono::steady_clock;
inline constexpr std::size_t kInboxCapacity = 512;  // scan observations waiting for the loop
inline constexpr std::size_t kTakeBatch = 256;
inline constexpr std::chrono::milliseconds kLongestWait{1000};
inline constexpr std::chrono::seconds kUnresolvedLogEvery{60};  // one log line at most, with the count since
inline constexpr std::chrono::milliseconds kTransactionCheck{200};  // while changes wait for a package verdict

// Live changes are hashed at once: scan_rate_per_sec throttles scans only.
inline std::vector<config::ModuleConfig> unthrottled(std::vector<config::ModuleConfig> modules) {
  for (auto& m : modules) m.scanRatePerSec = 0;
  return modules;
}

}  // namespace loop_detail

using loop_detail::Steady;

class RealtimeWatcher::Loop {
 public:
  Loop(RealtimeWatcher& watcher, std::stop_token stop, core::BoundedQueue<events::Observation>& out)
      : w_(watcher),
        stop_(stop),
        out_(out),
        coalescer_(watcher.options_.coalescing),
        shared_(liveModules_, watcher.prior_, watcher.metrics_, watcher.options_.scan.packages),
        observer_(shared_),
        rescans_(watcher.metrics_.counter("watcher.realtime.rescans")),
        lost_(watcher.metrics_.counter("watcher.realtime.overflows_handled")),
        unresolved_(watcher.metrics_.counter("watcher.realtime.unresolved")),
        observed_(watcher.metrics_.counter("watcher.realtime.changes")),
        paired_(watcher.metrics_.gauge("watcher.realtime.renames_paired")),
        unpaired_(watcher.metrics_.gauge("watcher.realtime.moves_unpaired")),
        pending_(watcher.metrics_.gauge("watcher.realtime.pending")) {
    for (const auto& m : w_.modules_) filters_.emplace_back(m);
    inbox_.onPush([&watcher = w_] { watcher.wake(); });  // the loop waits in poll(), not on the queue
  }

  ~Loop() {
    scanThread_ = {};  // stops and joins the scan before the inbox it feeds goes away
  }

  void run();

 private:
  void startBackend(ChangeBackend& backend);
  void waitForInput(Steady::duration timeout);
  void startScan(ScanKind kind);
  void takeChange(RawChange&& change, std::vector<Settled>& settled);
  void checkScanned(events::Observation& observation);
  void takeInbox();
  void scanEnded();
  // `read`: when the kernel events of this pass were read (event.created of what settles now).
  void settle(Settled&& settled, core::TimePoint read);
  void lostEvents();
  void rescanAll();
  void unresolvedChange(const std::string& why);
  void startFailed(const core::Error& error);
  void unwatched(const std::string& path);
  void timers(Steady::time_point now);
  std::optional<events::PathSeen> look(const std::string& path);
  std::optional<std::size_t> rootFor(std::string_view path) const;
  bool touchedDuringScan(std::string_view path) const;
  void push(events::Observation&& observation) { (void)out_.push(std::move(observation), stop_); }
  // A live observation: held, in order, behind one whose package verdict waits for a dpkg or
  // rpm transaction to end; else handed on.
  void deliver(events::Observation&& observation);
  // Once no transaction runs: each held observation read again (now judged) and handed on.
  void releaseHeld();
  bool readAgain(events::PathSeen& seen);
  void health(std::string_view condition, core::HealthState state, std::string message = {}) {
    if (w_.options_.health) w_.options_.health->set(core::Health::kWatcher, condition, state, std::move(message));
  }
  Steady::duration untilNext(Steady::time_point now);

  RealtimeWatcher& w_;
  std::stop_token stop_;
  core::BoundedQueue<events::Observation>& out_;
  core::BoundedQueue<events::Observation> inbox_{loop_detail::kInboxCapacity};  // the scanner's workers push here
  std::atomic<bool> scanFinished_{false};  // the scan thread returned: what it pushed is in the inbox
  Coalescer coalescer_;
  std::vector<config::ModuleConfig> liveModules_ = loop_detail::unthrottled(w_.modules_);
  ObserverShared shared_;
  FileObserver observer_;
  std::vector<PathFilter> filters_;
  bool live_ = false;
  bool scanning_ = false;
  bool startupScanned_ = false;
  std::optional<ScanKind> queuedScan_;
  std::unordered_set<std::string> touched_;  // paths changed live while a scan runs
  std::vector<events::Observation> taken_;     // from the inbox, one batch at a time
  std::deque<events::Observation> held_;       // waiting for a package verdict, in order
  std::vector<std::pair<std::size_t, std::string>> unwatched_;
  std::optional<Steady::time_point> nextVerify_;
  std::optional<Steady::time_point> nextUnwatched_;
  std::unique_ptr<ChangeBackend> fallback_;
  core::Counter& rescans_;
  core::Counter& lost_;
  core::Counter& unresolved_;
  std::optional<Steady::time_point> nextUnresolvedLog_;
  std::uint64_t unresolvedUnlogged_ = 0;
  bool unresolvedPending_ = false;   // a change without a path waits for a full rescan to start
  bool unresolvedCovered_ = false;   // the running full rescan reports such changes
  core::Counter& observed_;
  core::Gauge& paired_;
  core::Gauge& unpaired_;
  core::Gauge& pending_;
  ChangeBackend* active_ = nullptr;  // the backend read from (inotify until a fallback takes over)
  bool activeReadable_ = false;       // its descriptor polled readable, or it has just started
  std::jthread scanThread_;
};

}  // namespace fim::watcher
