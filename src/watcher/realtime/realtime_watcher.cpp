#include "watcher/realtime/realtime_watcher.h"

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <thread>

#include "core/logging.h"
#include "core/paths.h"
#include "watcher/package/package_manager.h"

namespace fim::watcher {
namespace {

using Steady = std::chrono::steady_clock;
constexpr std::size_t kInboxCapacity = 512;  // scan observations waiting for the loop
constexpr std::size_t kTakeBatch = 256;
constexpr std::chrono::milliseconds kLongestWait{1000};
constexpr std::chrono::milliseconds kTransactionCheck{200};  // while changes wait for a dpkg transaction

events::PathSeen* seenOf(events::Observation& observation) {
  if (auto* seen = std::get_if<events::PathSeen>(&observation)) return seen;
  if (auto* moved = std::get_if<events::PathMoved>(&observation)) return &moved->now;
  return nullptr;
}

std::string_view parentOf(std::string_view path) {
  const auto slash = path.rfind('/');
  return slash == 0 || slash == std::string_view::npos ? std::string_view("/") : path.substr(0, slash);
}

// Live changes are hashed at once: scan_rate_per_sec throttles scans only.
std::vector<config::ModuleConfig> unthrottled(std::vector<config::ModuleConfig> modules) {
  for (auto& m : modules) m.scanRatePerSec = 0;
  return modules;
}

}  // namespace

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
  void unwatched(const std::string& path);
  void timers(Steady::time_point now);
  std::optional<events::PathSeen> look(const std::string& path);
  std::optional<std::size_t> rootFor(std::string_view path) const;
  bool touchedDuringScan(std::string_view path) const;
  void push(events::Observation&& observation) { (void)out_.push(std::move(observation), stop_); }
  // A live observation: held, in order, behind one whose package verdict waits for a dpkg
  // transaction to end; else handed on.
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
  core::BoundedQueue<events::Observation> inbox_{kInboxCapacity};  // the scanner's workers push here
  std::atomic<bool> scanFinished_{false};  // the scan thread returned: what it pushed is in the inbox
  Coalescer coalescer_;
  std::vector<config::ModuleConfig> liveModules_ = unthrottled(w_.modules_);
  ObserverShared shared_;
  FileObserver observer_;
  std::vector<PathFilter> filters_;
  bool live_ = false;
  bool scanning_ = false;
  bool startupScanned_ = false;
  std::optional<ScanKind> queuedScan_;
  std::unordered_set<std::string> touched_;  // paths changed live while a scan runs
  std::vector<events::Observation> taken_;     // from the inbox, one batch at a time
  std::deque<events::Observation> held_;       // waiting for a dpkg transaction to end, in order
  std::vector<std::pair<std::size_t, std::string>> unwatched_;
  std::optional<Steady::time_point> nextVerify_;
  std::optional<Steady::time_point> nextUnwatched_;
  std::unique_ptr<ChangeBackend> fallback_;
  core::Counter& rescans_;
  core::Counter& lost_;
  core::Counter& observed_;
  core::Gauge& paired_;
  core::Gauge& unpaired_;
  core::Gauge& pending_;
  ChangeBackend* active_ = nullptr;  // the backend read from (inotify until a fallback takes over)
  bool activeReadable_ = false;       // its descriptor polled readable, or it has just started
  std::jthread scanThread_;
};

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
  if (kind != ScanKind::Unwatched) {
    // A path observed live before this scan (then deleted while events were being lost) must not
    // count as seen by it, or its record would survive the sweep.
    push(events::ScanStarted{});
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
  scanThread_ = std::jthread([this, options = std::move(options), modules = std::move(modules)](std::stop_token stop) {
    ::pthread_setname_np(::pthread_self(), "fim-rescan");
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
  if (change.kind == RawChange::Kind::Created && !change.isDirectory) {
    // A hard link, symlink, fifo or device is complete once created: nothing will write it.
    struct stat st {};
    if (::lstat(change.path.c_str(), &st) == 0 && (!S_ISREG(st.st_mode) || st.st_nlink > 1)) {
      change.kind = RawChange::Kind::Closed;
    }
  }
  std::optional<Coalescer::Duration> quiet;
  if (auto root = rootFor(change.path)) {
    quiet = std::chrono::duration_cast<Coalescer::Duration>(w_.modules_[w_.roots_[*root].module].quietPeriod);
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
      if (auto* seen = std::get_if<events::PathSeen>(&observation); seen && seen->packageDeferred) {
        // Seen by the scan (the sweep keeps it); read again, and reported, once dpkg is done.
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
  auto observation = observer_.observe(path, *root, module, stop_);
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
  }
}

void RealtimeWatcher::Loop::deliver(events::Observation&& observation) {
  events::PathSeen* seen = seenOf(observation);
  // Behind a held observation wait the later ones of modules that verify packages (they may
  // concern the same paths); other modules' changes are not held up.
  const auto verifying = [&] {
    const auto* deleted = std::get_if<events::PathDeleted>(&observation);
    const std::size_t root = seen ? seen->root : deleted ? deleted->root : 0;
    return root < w_.roots_.size() && shared_.modules[w_.roots_[root].module].verifyPackages;
  };
  if ((seen && seen->packageDeferred) || (!held_.empty() && verifying())) {
    if (held_.empty()) {
      core::logger("watcher").info("a dpkg transaction is running: package verdicts, and the changes after them, "
                                   "wait until it ends");
    }
    held_.push_back(std::move(observation));
    return;
  }
  if (seen && seen->package && seen->process && isPackageManager(*seen->process)) seen->package->byPackageManager = true;
  push(std::move(observation));
}

// The path read again for its verdict, keeping who changed it and when. False: still deferred.
bool RealtimeWatcher::Loop::readAgain(events::PathSeen& seen) {
  auto fresh = look(seen.info.path);
  if (!fresh) {  // gone since, or excluded: its deletion is reported; the stale state carries no verdict
    seen.packageDeferred = false;
    seen.package.reset();
    seen.info.type = events::FileType::Unknown;
    return true;
  }
  if (fresh->packageDeferred) return false;
  fresh->process = std::move(seen.process);
  fresh->detected = seen.detected;
  seen = std::move(*fresh);
  return true;
}

void RealtimeWatcher::Loop::releaseHeld() {
  if (held_.empty() || (shared_.packages && shared_.packages->transactionRunning())) return;
  while (!held_.empty()) {
    events::Observation& observation = held_.front();
    events::PathSeen* seen = seenOf(observation);
    if (seen && seen->packageDeferred && !readAgain(*seen)) return;  // another transaction began
    if (auto* plain = std::get_if<events::PathSeen>(&observation); plain && plain->info.type == events::FileType::Unknown) {
      held_.pop_front();  // vanished before its verdict: the deletion that follows reports it
      continue;
    }
    if (seen && seen->package && seen->process && isPackageManager(*seen->process)) seen->package->byPackageManager = true;
    push(std::move(observation));
    held_.pop_front();
  }
}

// Events were lost: every root is rescanned against the baseline; one log line per burst.
void RealtimeWatcher::Loop::lostEvents() {
  lost_.add();
  if (queuedScan_ == ScanKind::Full) return;
  rescans_.add();
  core::logger("watcher").warn("the kernel's event queue overflowed and changes were lost: rescanning every "
                               "configured path against the baseline (raise fs.inotify.max_queued_events if "
                               "this repeats)");
  health("rescan", core::HealthState::Degraded, "changes were lost by the kernel: rescanning every path");
  if (scanning_) {
    queuedScan_ = ScanKind::Full;
  } else {
    startScan(ScanKind::Full);
  }
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

Steady::duration RealtimeWatcher::Loop::untilNext(Steady::time_point now) {
  Steady::time_point next = now + kLongestWait;
  if (auto due = coalescer_.nextDue()) next = std::min(next, *due);
  if (nextVerify_ && !scanning_) next = std::min(next, *nextVerify_);
  if (nextUnwatched_ && !scanning_) next = std::min(next, *nextUnwatched_);
  if (!held_.empty()) next = std::min(next, now + kTransactionCheck);
  return std::max(next - now, Steady::duration::zero());
}

void RealtimeWatcher::Loop::run() {
  auto& log = core::logger("watcher");
  if (auto started = w_.backend_->start(w_.roots_); !started) {
    log.error("real-time watching is off ({} backend): {}; changes are found by scans only", w_.backend_->name(),
              started.error().message());
    health("backend", core::HealthState::Degraded,
           fmt::format("real-time watching is off ({}): {}", w_.backend_->name(), started.error().message()));
  } else {
    startBackend(*w_.backend_);
    log.info("watching {} path(s) in real time with {}", w_.roots_.size(), w_.backend_->name());
  }
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
}

RealtimeWatcher::~RealtimeWatcher() {
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
