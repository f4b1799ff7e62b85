// makeRealtimeSource: the realtime watcher wired to its backend, fallback and options.

#include <string_view>

#include "watcher/fanotify/fanotify_backend.h"
#include "watcher/inotify/inotify_backend.h"
#include "watcher/realtime/realtime_watcher.h"

namespace fim::watcher {

std::unique_ptr<ObservationSource> makeRealtimeSource(const std::vector<config::ModuleConfig>& configured,
                                                      std::vector<Root> roots, baseline::View* prior,
                                                      const core::Clock& clock, core::Metrics& metrics,
                                                      ScanOptions scan, const std::vector<OwnDirectory>& own,
                                                      const BackendFactories& factories, core::Health* health,
                                                      process::ProcessTracker* tracker) {
  const std::vector<config::ModuleConfig> modules = excludeOwnDirectories(configured, roots, own);
  RealtimeOptions options;
  options.scan = std::move(scan);
  options.health = health;
  for (const auto& m : modules) {
    if (!m.enabled || m.rescanInterval <= std::chrono::nanoseconds::zero()) continue;
    if (options.rescanInterval == std::chrono::nanoseconds::zero() || m.rescanInterval < options.rescanInterval) {
      options.rescanInterval = m.rescanInterval;  // one full rescan serves every module: the shortest interval
    }
  }
  BackendFactories resolved = factories;
  if (!resolved.fanotify && hasSysAdmin() && fanotify::FanotifyBackend::available()) {
    fanotify::FanotifyOptions fanotifyOptions;
    for (const auto& dir : own) fanotifyOptions.ignoredDirectories.push_back(dir.path);
    fanotifyOptions.tracker = tracker;
    resolved.fanotify = [modules, fanotifyOptions, &metrics]() -> std::unique_ptr<ChangeBackend> {
      return std::make_unique<fanotify::FanotifyBackend>(modules, fanotifyOptions, &metrics);
    };
  }
  // inotify out of watches: one fanotify mark per filesystem has no per-directory limit.
  options.fallbackOnWatchLimit = resolved.fanotify;
  auto backend = makeBackend(modules, metrics, resolved);
  if (std::string_view(backend->name()) != "inotify") {
    // fanotify proves at start that it can name what it reports; if not, inotify watches instead.
    options.fallbackOnStartFailure = [modules, &metrics]() -> std::unique_ptr<ChangeBackend> {
      return std::make_unique<InotifyBackend>(modules, metrics);
    };
  }
  return std::make_unique<RealtimeWatcher>(modules, std::move(roots), prior, clock, metrics, std::move(backend),
                                           std::move(options));
}

}  // namespace fim::watcher
