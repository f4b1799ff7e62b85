#include "watcher/scanner.h"

#include <pthread.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "core/logging.h"

namespace fim::watcher {
namespace {

constexpr std::size_t kWorkBatch = 16;  // paths a worker takes at once

}  // namespace

Scanner::Scanner(std::vector<config::ModuleConfig> modules, std::vector<Root> roots, baseline::View* prior,
                 const core::Clock& clock, core::Metrics& metrics, ScanOptions options)
    : modules_(std::move(modules)),
      roots_(std::move(roots)),
      clock_(clock),
      options_(options),
      shared_(modules_, prior, metrics, options.packages),
      backpressure_(metrics.counter("watcher.backpressure")),
      rootUnmatched_(std::make_unique<std::atomic<bool>[]>(roots_.size())) {
  // Without a baseline to read, no record can be matched: the sweep reads them all.
  for (std::size_t i = 0; i < roots_.size(); ++i) rootUnmatched_[i] = prior == nullptr;
  for (const auto& m : modules_) {
    filters_.emplace_back(m);
    filesLimiters_.push_back(std::make_unique<RateLimiter>(m.scanFilesPerSec, std::max<std::uint64_t>(m.scanFilesPerSec, 1)));
  }
}

void Scanner::work(std::stop_token stop, core::BoundedQueue<WorkItem>& work, core::BoundedQueue<events::Observation>& out) {
  constexpr std::size_t kBatch = 64;
  FileObserver observer(shared_);
  std::vector<WorkItem> items;
  std::vector<events::Observation> ready;
  const auto deliver = [&] {
    if (ready.empty()) return true;
    if (out.size() + ready.size() > out.capacity()) backpressure_.add();  // the pipeline is full: wait, never drop
    return out.pushBatch(ready, stop);
  };
  while (work.popBatch(items, kWorkBatch, stop) > 0) {
    for (auto& item : items) {
      const std::size_t module = roots_[item.root].module;
      if (!filesLimiters_[module]->acquire(1, stop)) return;
      const Listed listed{item.st ? &*item.st : nullptr, item.storedKnown ? &item.stored : nullptr,
                          item.listedRegular};
      const PathAt at{item.parent->get(), baseName(item.path), item.path};
      auto observation = observer.observe(at, item.root, module, stop, listed);
      if (!observation) {  // vanished: a record it had is for the sweep
        if (!item.storedKnown || item.stored) rootUnmatched_[item.root] = true;
        continue;
      }
      if (item.error) {
        observation->errorMessage = item.error;
        observation->childrenUnknown = true;
      }
      ready.push_back(std::move(*observation));
    }
    items.clear();
    // Hand over in batches, and at once when the walker has nothing queued (keeps latency low).
    if ((ready.size() >= kBatch || work.size() == 0) && !deliver()) return;
  }
  (void)deliver();
}

void Scanner::logProgress(double seconds, bool final) const {
  const auto files = shared_.files.value();
  const auto bytes = shared_.bytesHashed.value();
  const double filesPerSecond = seconds > 0 ? files / seconds : 0;
  const double mbPerSecond = seconds > 0 ? bytes / seconds / 1e6 : 0;
  auto& log = core::logger("watcher");
  if (final) {
    log.info("scan done: {} paths, {} bytes hashed, {} unchanged files not rehashed, {} errors in {:.2f} s "
             "({:.0f} files/s, {:.1f} MB/s)",
             files, bytes, shared_.reused.value(), shared_.errors.value(), seconds, filesPerSecond, mbPerSecond);
    return;
  }
  std::string eta = "unknown (first scan)";
  if (options_.expectedPaths > 0 && filesPerSecond > 0) {
    const double left = static_cast<double>(options_.expectedPaths) - static_cast<double>(files);
    eta = left > 0 ? fmt::format("{:.0f} s", left / filesPerSecond) : "any moment";
  }
  log.info("scanning: {} paths, {} bytes hashed, {:.0f} files/s, {:.1f} MB/s, ETA {}", files, bytes, filesPerSecond,
           mbPerSecond, eta);
}

void Scanner::run(std::stop_token stop, core::BoundedQueue<events::Observation>& out) {
  auto& log = core::logger("watcher");
  for (const auto& root : options_.subtrees.empty() ? roots_ : std::vector<Root>{}) {
    if (auto kind = networkFileSystem(root.path); !kind.empty()) {
      log.warn("configured path {} is on a network file system ({}): changes made by other hosts are not seen "
               "in real time and scans read over the network",
               root.path, kind);
    }
  }
  const auto started = std::chrono::steady_clock::now();
  const auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(); };
  core::BoundedQueue<WorkItem> work(1024);  // paths the walkers may run ahead of the workers
  {
    std::mutex mutex;
    std::condition_variable_any done;
    std::jthread progress([&](std::stop_token progressStop) {
      std::unique_lock lock(mutex);
      while (!done.wait_for(lock, progressStop, options_.progressEvery, [] { return false; })) {
        if (progressStop.stop_requested()) return;
        logProgress(elapsed(), false);
      }
    });
    std::vector<std::jthread> workers;
    for (std::size_t i = 0; i < std::max<std::size_t>(1, options_.workers); ++i) {
      workers.emplace_back([&] {
        ::pthread_setname_np(::pthread_self(), "fim-hash");
        this->work(stop, work, out);
      });
    }
    walk(stop, work, out);  // scanner_walk.cpp; returns once every directory has been read
    work.close();
    workers.clear();  // joins: every path has been observed
  }
  if (stop.stop_requested()) {
    log.info("scan interrupted after {} paths; the deletion sweep is skipped", shared_.files.value());
    return;
  }
  if (options_.logSummary) logProgress(elapsed(), true);
  if (!options_.subtrees.empty()) {
    for (const auto& [root, top] : options_.subtrees) {
      if (!out.push(events::SubtreeDone{top, root}, stop)) return;
    }
    return;
  }
  events::ScanDone done;
  for (std::size_t i = 0; i < roots_.size(); ++i) done.rootsMatched.push_back(!rootUnmatched_[i]);
  (void)out.push(std::move(done), stop);
}

}  // namespace fim::watcher
