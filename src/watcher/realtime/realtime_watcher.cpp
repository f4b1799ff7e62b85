#include "watcher/realtime/realtime_watcher.h"

#include "watcher/realtime/realtime_loop.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <future>

#include <thread>

#include "core/logging.h"
#include "core/paths.h"
#include "watcher/open_beneath.h"

namespace fim::watcher {
namespace {

using loop_detail::kLongestWait;
using loop_detail::kTakeBatch;

std::string_view parentOf(std::string_view path) {
  const auto slash = path.rfind('/');
  return slash == 0 || slash == std::string_view::npos ? std::string_view("/") : path.substr(0, slash);
}

}  // namespace


// The backend is read on this thread: a hand-over from a reading thread would cost a wake-up
// on every live change, most of the time a change spends in fimbeat before it is hashed.
void RealtimeWatcher::Loop::startBackend(ChangeBackend& backend) {
  active_ = &backend;
  activeReadable_ = true;  // a first read reports what start() found
  live_ = true;
}

void RealtimeWatcher::Loop::waitForInput(Steady::duration timeout) {
  if (activeReadable_ || inbox_.size() > 0 || (scanning_ && scanFinished_.load())) timeout = Steady::duration::zero();
  pollfd fds[2] = {{w_.wakeFd_, POLLIN, 0}, {active_ ? active_->fd() : -1, POLLIN, 0}};
  const int ms = static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(timeout).count());
  if (::poll(fds, 2, ms) < 0 && errno != EINTR) {
    core::logger("watcher").error("waiting for changes failed: {}", std::strerror(errno));
    fds[0].revents = fds[1].revents = 0;
  }
  if (fds[0].revents & POLLIN) {
    std::uint64_t count = 0;
    (void)!::read(w_.wakeFd_, &count, sizeof count);
  }
  if (fds[1].revents & (POLLIN | POLLERR)) activeReadable_ = true;
}

void RealtimeWatcher::Loop::startScan(ScanKind kind) {
  scanning_ = true;
  touched_.clear();
  std::shared_future<void> written;  // the observations before this scan are in the baseline
  if (kind != ScanKind::Unwatched) {
    // A path observed live before this scan (then deleted while events were being lost) must not
    // count as seen by it, or its record would survive the sweep.
    events::ScanStarted started;
    written = started.written->get_future().share();
    push(std::move(started));
    unresolvedCovered_ = unresolvedPending_;
    unresolvedPending_ = false;
  }
  ScanOptions options = w_.options_.scan;
  std::vector<config::ModuleConfig> modules = w_.modules_;
  if (kind == ScanKind::Verify) {
    for (auto& m : modules) m.verifyHashesAlways = true;
    options.baselineEmpty = false;
  }
  if (kind == ScanKind::Unwatched) {
    options.subtrees = unwatched_;
    options.logSummary = false;
  }
  if (startupScanned_) options.baselineEmpty = false;  // records exist now: a rescan must read them
  startupScanned_ = true;
  scanFinished_.store(false);
  scanThread_ = std::jthread([this, options = std::move(options), modules = std::move(modules),
                              written](std::stop_token stop) {
    ::pthread_setname_np(::pthread_self(), "fim-rescan");
    // The previous scan's last observations may still be on their way to the baseline: its
    // records are read once they are written, or those paths would be reported again.
    while (written.valid() && written.wait_for(std::chrono::milliseconds(20)) != std::future_status::ready) {
      if (stop.stop_requested()) return;
    }
    Scanner scanner(modules, w_.roots_, w_.prior_, w_.clock_, w_.metrics_, options);
    scanner.run(stop, inbox_);  // its workers push straight into the loop's inbox, which wakes it
    if (stop.stop_requested()) return;
    scanFinished_.store(true, std::memory_order_release);
    w_.wake();
  });
}

std::optional<std::size_t> RealtimeWatcher::Loop::rootFor(std::string_view path) const {
  std::optional<std::size_t> best;
  for (std::size_t i = 0; i < w_.roots_.size(); ++i) {
    const Root& root = w_.roots_[i];
    if (!core::isWithin(path, root.path)) continue;
    if (!root.recursive && path != root.path && parentOf(path) != root.path) continue;
    if (!best || root.path.size() > w_.roots_[*best].path.size()) best = i;
  }
  return best;
}

bool RealtimeWatcher::Loop::touchedDuringScan(std::string_view path) const {
  if (touched_.empty()) return false;
  for (;;) {
    if (touched_.count(std::string(path))) return true;
    if (path == "/" || path.empty()) return false;
    path = parentOf(path);
  }
}

void RealtimeWatcher::Loop::takeChange(RawChange&& change, std::vector<Settled>& settled) {
  if (scanning_) {
    touched_.insert(change.path);
    if (!change.oldPath.empty()) touched_.insert(change.oldPath);
  }
  std::optional<Coalescer::Duration> quiet;
  const auto root = rootFor(change.path);
  if (root) quiet = std::chrono::duration_cast<Coalescer::Duration>(w_.modules_[w_.roots_[*root].module].quietPeriod);
  if (root && change.kind == RawChange::Kind::Created && !change.isDirectory) {
    // A hard link, symlink, fifo or device is complete once created: nothing will write it.
    struct stat st {};
    const auto parent = openParentUnder(w_.roots_[*root].path, change.path);
    if (parent && ::fstatat(parent->dir.get(), baseName(change.path), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        (!S_ISREG(st.st_mode) || st.st_nlink > 1)) {
      change.kind = RawChange::Kind::Closed;
    }
  }
  coalescer_.add(std::move(change), Steady::now(), settled, quiet);
}

// A scan's view of a path that changed live meanwhile may predate that change: the live look
// decides, the scan only notes the path still exists (so the deletion sweep keeps it).
void RealtimeWatcher::Loop::checkScanned(events::Observation& observation) {
  const auto* seen = std::get_if<events::PathSeen>(&observation);
  if (seen && touchedDuringScan(seen->info.path)) observation = events::PathsUnchanged{{core::pathKey(seen->info.path)}};
}

// A batch of the scan's observations, handed to the baseline in one go; all that is left once
// the scan thread has returned, and then the scan's end.
void RealtimeWatcher::Loop::takeInbox() {
  const bool finished = scanning_ && scanFinished_.load(std::memory_order_acquire);  // before draining
  std::size_t taken = 0;
  do {
    taken_.clear();
    taken = inbox_.tryPopBatch(taken_, kTakeBatch);
    for (auto& observation : taken_) {
      checkScanned(observation);
      // The scan's end, before the baseline hears of it: what changes from now on follows its sweep.
      if (std::holds_alternative<events::ScanDone>(observation)) health(kStartScanCondition, core::HealthState::Healthy);
      if (auto* seen = std::get_if<events::PathSeen>(&observation); seen && seen->packageDeferred) {
        // Seen by the scan (the sweep keeps it); read again, and reported, once its verdict can be given.
        const std::uint64_t key = core::pathKey(seen->info.path);
        deliver(std::move(observation));
        observation = events::PathsUnchanged{{key}};
      }
    }
    if (taken > 0) (void)out_.pushBatch(taken_, stop_);
  } while (finished && taken > 0);
  if (finished) scanEnded();
}

void RealtimeWatcher::Loop::scanEnded() {
  scanThread_ = {};
  scanning_ = false;
  touched_.clear();
  health("rescan", core::HealthState::Healthy);
  if (unresolvedCovered_ && !unresolvedPending_) health("unresolved", core::HealthState::Healthy);
  unresolvedCovered_ = false;
  if (queuedScan_) {
    const ScanKind next = *queuedScan_;
    queuedScan_.reset();
    startScan(next);
  }
}

std::optional<events::PathSeen> RealtimeWatcher::Loop::look(const std::string& path) {
  auto root = rootFor(path);
  if (!root) return std::nullopt;
  const std::size_t module = w_.roots_[*root].module;
  // Its directory, opened component by component below the root: no full path is looked up.
  auto parent = openParentUnder(w_.roots_[*root].path, path);
  if (!parent && parent.error().code() == core::ErrorCode::NotFound) return std::nullopt;  // its deletion follows
  if (!parent) {  // unreadable: said in the path's document
    shared_.errors.add();
    events::PathSeen failed;
    failed.info.path = path;
    failed.root = *root;
    failed.errorMessage = parent.error().message();
    return failed;
  }
  auto observation = observer_.observe(parent->at(), *root, module, stop_);
  if (!observation) return std::nullopt;  // gone already: its deletion follows
  if (!filters_[module].reported(path, observation->info.type == events::FileType::Dir)) return std::nullopt;
  observation->storedKnown = false;  // the baseline reads its own current record
  observation->stored.reset();
  return observation;
}

void RealtimeWatcher::Loop::settle(Settled&& s, core::TimePoint read) {
  observed_.add();
  switch (s.kind) {
    case Settled::Kind::Observe:
      if (auto observation = look(s.path)) {
        // The last writer, when the backend knows it (one already waiting wrote what look() read).
        const events::ProcessInfo* later = coalescer_.pendingWriter(s.path);
        observation->process = later ? std::optional<events::ProcessInfo>(*later) : std::move(s.process);
        observation->detected = read;
        deliver(std::move(*observation));
      }
      return;
    case Settled::Kind::Move:
      if (auto root = rootFor(s.path); root && filters_[w_.roots_[*root].module].reported(s.path, s.isDirectory)) {
        auto observation = look(s.path);
        if (!observation) {  // already gone again (renamed on, deleted): the record moves as it was
          observation.emplace();
          observation->info.path = s.path;
          observation->root = *root;
        }
        observation->process = std::move(s.process);
        observation->detected = read;
        return deliver(events::PathMoved{std::move(*observation), std::move(s.oldPath)});
      }
      s.path = std::move(s.oldPath);  // moved out of sight (excluded, not included): deleted
      [[fallthrough]];
    case Settled::Kind::Delete: {
      const std::size_t root = rootFor(s.path).value_or(0);
      return deliver(events::PathDeleted{std::move(s.path), root, std::move(s.process), read});
    }
    case Settled::Kind::Rescan: return lostEvents();
    case Settled::Kind::Unwatched: return unwatched(s.path);
    case Settled::Kind::Unresolved: return unresolvedChange(s.oldPath);
  }
}

Steady::duration RealtimeWatcher::Loop::untilNext(Steady::time_point now) {
  Steady::time_point next = now + kLongestWait;
  if (auto due = coalescer_.nextDue()) next = std::min(next, *due);
  if (nextVerify_ && !scanning_) next = std::min(next, *nextVerify_);
  if (nextUnwatched_ && !scanning_) next = std::min(next, *nextUnwatched_);
  if (!held_.empty()) next = std::min(next, now + loop_detail::kTransactionCheck);
  return std::max(next - now, Steady::duration::zero());
}

void RealtimeWatcher::Loop::run() {
  auto& log = core::logger("watcher");
  if (auto started = w_.backend_->start(w_.roots_); !started) {
    startFailed(started.error());
  } else {
    startBackend(*w_.backend_);
    log.info("watching {} path(s) in real time with {}", w_.roots_.size(), w_.backend_->name());
  }
  health(kStartScanCondition, core::HealthState::Starting,
         fmt::format("scanning {} path(s) against the baseline", w_.roots_.size()));
  health(kStartingCondition, core::HealthState::Healthy);  // started: live, fallen back or said why not
  if (w_.options_.rescanInterval > std::chrono::nanoseconds::zero()) {
    nextVerify_ = Steady::now() + std::chrono::duration_cast<Steady::duration>(w_.options_.rescanInterval);
  }
  startScan(ScanKind::Full);
  std::stop_callback onStop(stop_, [this] { w_.wake(); });
  std::vector<Settled> settled;
  const ChangeSink sink = [&](RawChange&& change) { takeChange(std::move(change), settled); };
  while (!stop_.stop_requested()) {
    waitForInput(untilNext(Steady::now()));
    const core::TimePoint read = w_.clock_.now();
    if (active_ && activeReadable_) {
      activeReadable_ = false;
      try {
        active_->readReady(sink);
      } catch (const std::exception& e) {
        core::logger("watcher").critical("the {} backend failed: {}; changes are found by rescans only",
                                         active_->name(), e.what());
        active_ = nullptr;
      }
    }
    takeInbox();
    coalescer_.due(Steady::now(), settled);
    for (auto& s : settled) settle(std::move(s), read);
    settled.clear();
    releaseHeld();
    timers(Steady::now());
    if (w_.rescanRequested_.exchange(false)) {
      rescans_.add();
      core::logger("watcher").info("the pipeline paused: rescanning every configured path against the baseline");
      if (scanning_) {
        queuedScan_ = ScanKind::Full;
      } else {
        startScan(ScanKind::Full);
      }
    }
    paired_.set(static_cast<std::int64_t>(coalescer_.paired()));
    unpaired_.set(static_cast<std::int64_t>(coalescer_.unpaired()));
    pending_.set(static_cast<std::int64_t>(coalescer_.pending()));
    if (!live_ && !scanning_ && !nextVerify_ && !nextUnwatched_ && held_.empty()) return;  // scan-only: done
  }
}

RealtimeWatcher::RealtimeWatcher(std::vector<config::ModuleConfig> modules, std::vector<Root> roots,
                                 baseline::View* prior, const core::Clock& clock, core::Metrics& metrics,
                                 std::unique_ptr<ChangeBackend> backend, RealtimeOptions options)
    : modules_(std::move(modules)),
      roots_(std::move(roots)),
      prior_(prior),
      clock_(clock),
      metrics_(metrics),
      backend_(std::move(backend)),
      options_(std::move(options)),
      wakeFd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (wakeFd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd for the realtime watcher");
  if (options_.health) {
    options_.health->set(core::Health::kWatcher, kStartingCondition, core::HealthState::Starting,
                         fmt::format("placing watches on {} path(s)", roots_.size()));
  }
}

RealtimeWatcher::~RealtimeWatcher() {
  if (options_.health) {
    options_.health->clear(core::Health::kWatcher, kStartingCondition);
    options_.health->clear(core::Health::kWatcher, kStartScanCondition);
  }
  if (wakeFd_ >= 0) ::close(wakeFd_);
}

void RealtimeWatcher::wake() const {
  const std::uint64_t one = 1;
  if (wakeFd_ >= 0) (void)!::write(wakeFd_, &one, sizeof one);
}

void RealtimeWatcher::run(std::stop_token stop, core::BoundedQueue<events::Observation>& out) {
  Loop loop(*this, stop, out);
  loop.run();
}

}  // namespace fim::watcher
