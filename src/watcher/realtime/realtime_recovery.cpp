// What the realtime watcher does when changes may have been missed: lost events, changes
// without a path, a backend that cannot start or runs out of watches, and the periodic rescans.

#include <fmt/format.h>

#include "watcher/realtime/realtime_loop.h"

namespace fim::watcher {

using loop_detail::kUnresolvedLogEvery;

// Events were lost: every root is rescanned against the baseline; one log line per burst.
void RealtimeWatcher::Loop::lostEvents() {
  lost_.add();
  if (queuedScan_ == ScanKind::Full) return;
  rescans_.add();
  core::logger("watcher").warn("the kernel's event queue overflowed and changes were lost: rescanning every "
                               "configured path against the baseline (raise fs.inotify.max_queued_events if "
                               "this repeats)");
  health("rescan", core::HealthState::Degraded, "changes were lost by the kernel: rescanning every path");
  rescanAll();
}

void RealtimeWatcher::Loop::rescanAll() {
  if (scanning_) {
    queuedScan_ = ScanKind::Full;
  } else {
    startScan(ScanKind::Full);
  }
}

// The backend saw a change but cannot say where: a blind spot until every root is rescanned
// against the baseline, which reports the change. Counted; logged at most once a minute.
void RealtimeWatcher::Loop::unresolvedChange(const std::string& why) {
  unresolved_.add();
  ++unresolvedUnlogged_;
  const auto now = Steady::now();
  const std::string message = "a live change could not be resolved to a path (" + why +
                              "): rescanning every configured path against the baseline to report it";
  if (!nextUnresolvedLog_ || now >= *nextUnresolvedLog_) {
    core::logger("watcher").warn("{} ({} such change{} since the last message)", message, unresolvedUnlogged_,
                                 unresolvedUnlogged_ == 1 ? "" : "s");
    unresolvedUnlogged_ = 0;
    nextUnresolvedLog_ = now + kUnresolvedLogEvery;
  }
  health("unresolved", core::HealthState::Degraded, message);
  if (unresolvedPending_ || queuedScan_ == ScanKind::Full) return;  // a rescan to come covers it already
  unresolvedPending_ = true;
  rescans_.add();
  rescanAll();
}

// The chosen backend cannot start: a fallback (inotify for fanotify) takes over when there is one.
void RealtimeWatcher::Loop::startFailed(const core::Error& error) {
  auto& log = core::logger("watcher");
  if (w_.options_.fallbackOnStartFailure) {
    if (auto replacement = w_.options_.fallbackOnStartFailure()) {
      if (auto started = replacement->start(w_.roots_)) {
        log.warn("the {} backend cannot be used: {}; using {} instead", w_.backend_->name(), error.message(),
                 replacement->name());
        fallback_ = std::move(replacement);
        startBackend(*fallback_);
        log.info("watching {} path(s) in real time with {}", w_.roots_.size(), fallback_->name());
        return;
      }
    }
  }
  log.error("real-time watching is off ({} backend): {}; changes are found by scans only", w_.backend_->name(),
            error.message());
  health("backend", core::HealthState::Degraded,
         fmt::format("real-time watching is off ({}): {}", w_.backend_->name(), error.message()));
}

void RealtimeWatcher::Loop::unwatched(const std::string& path) {
  if (w_.options_.fallbackOnWatchLimit && !fallback_) {
    if (auto replacement = w_.options_.fallbackOnWatchLimit()) {
      if (replacement->start(w_.roots_)) {
        core::logger("watcher").warn("out of inotify watches: switching to the {} backend", replacement->name());
        health("backend", core::HealthState::Degraded,
               std::string("out of inotify watches: switched to ") + replacement->name());
        fallback_ = std::move(replacement);
        startBackend(*fallback_);
        return lostEvents();
      }
    }
  }
  auto root = rootFor(path);
  if (!root) return;
  unwatched_.emplace_back(*root, path);
  health("unwatched", core::HealthState::Degraded,
         fmt::format("{} directories cannot be watched (out of inotify watches): rescanned every {} s",
                     unwatched_.size(), w_.options_.unwatchedRescanInterval.count() / 1000));
  if (!nextUnwatched_) nextUnwatched_ = Steady::now() + w_.options_.unwatchedRescanInterval;
}

void RealtimeWatcher::Loop::timers(Steady::time_point now) {
  if (nextVerify_ && now >= *nextVerify_ && !scanning_) {
    rescans_.add();
    startScan(ScanKind::Verify);
    nextVerify_ = now + w_.options_.rescanInterval;
  }
  if (nextUnwatched_ && now >= *nextUnwatched_ && !scanning_) {
    rescans_.add();
    startScan(ScanKind::Unwatched);
    nextUnwatched_ = now + w_.options_.unwatchedRescanInterval;
  }
}

}  // namespace fim::watcher
