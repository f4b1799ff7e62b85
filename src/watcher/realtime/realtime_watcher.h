#pragma once
// RealtimeWatcher: the watcher stage when changes are watched live. The backend's watches are
// placed before the start-up scan; live changes are coalesced and then read exactly as the scan
// reads a path (FileObserver: metadata, labels, hashes), so a change seen live and the same
// change found by a scan give the same observation and the baseline diff dedups them.
// Scans (start-up, after lost events, periodic verification, unwatched directories) run in the
// background while live changes go on being handled.

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "config/config.h"
#include "core/bounded_queue.h"
#include "core/health.h"
#include "core/metrics.h"
#include "baseline/view.h"
#include "watcher/file_observer.h"
#include "watcher/observation_source.h"
#include "watcher/own_directories.h"
#include "watcher/path_filter.h"
#include "watcher/process/process_tracker.h"
#include "watcher/realtime/backend_selection.h"
#include "watcher/realtime/coalescer.h"
#include "watcher/roots.h"
#include "watcher/scanner.h"

namespace fim::watcher {

struct RealtimeOptions {
  Coalescer::Options coalescing;
  ScanOptions scan;  // for every scan it starts (workers, progress); subtrees are set per scan
  std::chrono::nanoseconds rescanInterval{0};  // full verifying rescans; 0 = off
  std::chrono::milliseconds unwatchedRescanInterval{60000};  // directories the backend cannot watch
  // When the backend runs out of watches: a backend to take over (the lead wires fanotify here
  // for privileged runs). Empty or returning null: unwatched directories are rescanned instead.
  BackendFactory fallbackOnWatchLimit;
  // When the backend cannot start (fanotify without a capability it needs): a backend to use
  // instead (the wiring gives inotify). Empty: real-time watching is off, scans only.
  BackendFactory fallbackOnStartFailure;
  core::Health* health = nullptr;  // the watcher unit: DEGRADED while live changes may be missed
};

class RealtimeWatcher final : public ObservationSource {
 public:
  RealtimeWatcher(std::vector<config::ModuleConfig> modules, std::vector<Root> roots, baseline::View* prior,
                  const core::Clock& clock, core::Metrics& metrics, std::unique_ptr<ChangeBackend> backend,
                  RealtimeOptions options);
  ~RealtimeWatcher() override;

  void run(std::stop_token stop, core::BoundedQueue<events::Observation>& out) override;
  void requestRescan() override {
    rescanRequested_ = true;
    wake();
  }

 private:
  enum class ScanKind { Full, Verify, Unwatched };
  class Loop;  // the state of one run(): threads, queues and timers

  std::vector<config::ModuleConfig> modules_;
  std::vector<Root> roots_;
  baseline::View* prior_;
  const core::Clock& clock_;
  core::Metrics& metrics_;
  std::unique_ptr<ChangeBackend> backend_;
  RealtimeOptions options_;
  std::atomic<bool> rescanRequested_{false};
  // Wakes the loop, which waits on it beside the backend's descriptor: for scan input, a
  // rescan request, or stop. Lives as long as the watcher, so a late wake() never hits a
  // descriptor closed and reused meanwhile.
  int wakeFd_ = -1;
  void wake() const;
};

// The realtime watcher with the backend chosen from the modules' `backend` options. fimbeat's
// `own` directories are neither watched nor scanned (see own_directories.h). `tracker` (may be
// null) is started by the fanotify backend, if that runs, to name processes that exit at once.
std::unique_ptr<ObservationSource> makeRealtimeSource(const std::vector<config::ModuleConfig>& modules,
                                                      std::vector<Root> roots, baseline::View* prior,
                                                      const core::Clock& clock, core::Metrics& metrics,
                                                      ScanOptions scan, const std::vector<OwnDirectory>& own = {},
                                                      const BackendFactories& factories = {},
                                                      core::Health* health = nullptr,
                                                      process::ProcessTracker* tracker = nullptr);

}  // namespace fim::watcher
