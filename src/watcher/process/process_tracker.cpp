#include "watcher/process/process_tracker.h"

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <future>
#include <vector>

#include "core/logging.h"
#include "watcher/process/proc_access.h"

namespace fim::watcher::process {
namespace {

constexpr std::size_t kDatagramsPerTurn = 64;  // between two reports of progress

template <typename Metric>
Metric& metricOr(core::Metrics* metrics, Metric& (core::Metrics::*kind)(const std::string&), const char* name,
                 Metric& own) {
  return metrics ? (metrics->*kind)(name) : own;
}

}  // namespace

ProcessTracker::ProcessTracker(std::string procRoot, ArgsLimits limits, ProcessTrackerOptions options,
                               core::Metrics* metrics, core::Health* health)
    : procRoot_(std::move(procRoot)),
      health_(health),
      reader_(names_, procRoot_, limits),
      table_(reader_, options.limits),
      options_(options),
      events_(metricOr(metrics, &core::Metrics::counter, "watcher.process.events", ownEvents_)),
      lost_(metricOr(metrics, &core::Metrics::counter, "watcher.process.events_lost", ownLost_)),
      late_(metricOr(metrics, &core::Metrics::counter, "watcher.process.exec_late", ownLate_)),
      lowered_(metricOr(metrics, &core::Metrics::counter, "watcher.process.priority_lowered", ownLowered_)),
      waits_(metricOr(metrics, &core::Metrics::counter, "watcher.process.recall_timeouts", ownWaits_)),
      trackedGauge_(metricOr(metrics, &core::Metrics::gauge, "watcher.process.tracked", ownTracked_)),
      tracking_(metricOr(metrics, &core::Metrics::gauge, "watcher.process.tracking", ownTracking_)),
      execDelay_(metricOr(metrics, &core::Metrics::histogram, "watcher.process.exec_read_delay_us", ownDelay_)) {}

ProcessTracker::~ProcessTracker() {
  if (thread_.joinable()) {
    thread_.request_stop();
    const std::uint64_t one = 1;
    // An eventfd write of 1 fails only when its counter would overflow, which cannot happen here.
    [[maybe_unused]] const ssize_t woken = ::write(wake_, &one, sizeof(one));
    thread_.join();
  }
  if (wake_ >= 0) ::close(wake_);
}

core::Status ProcessTracker::start() {
  if (running()) return core::fail(core::ErrorCode::Internal, "process tracker started twice");
  if (auto opened = connector_.open(options_.receiveBuffer); !opened) return opened;
  if (auto proven = prove(); !proven) return proven;
  wake_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_ < 0) return std::unexpected(core::errnoError("eventfd", errno));
  std::promise<TrackerPriority::Level> raised;
  std::future<TrackerPriority::Level> level = raised.get_future();
  thread_ = std::jthread([this, &raised](std::stop_token stop) {
    ::pthread_setname_np(::pthread_self(), "fim-process");
    raised.set_value(priority_.raise());
    try {
      run(stop);
    } catch (const std::exception& e) {  // who-data falls back to /proc; the agent goes on
      core::logger("watcher").error("who-data: the process tracker stopped: {}", e.what());
      degrade(std::string("the process tracker stopped (") + e.what() + "): processes that exit at once lack " +
              "process.executable");
      busy_ = false;
      caughtUpNs_ = UINT64_MAX;
      progress_.notify_all();
    }
  });
  level_ = level.get();
  tracking_.set(1);
  return {};
}

core::Status ProcessTracker::prove() {
  // A thread's creation is a fork event of this process: there is at least one event to see.
  std::thread([] {}).join();
  const auto deadline = std::chrono::steady_clock::now() + options_.proofTimeout;
  bool seen = false;
  std::uint32_t refused = 0;
  while (!seen && refused == 0) {
    using std::chrono::milliseconds;
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd ready{connector_.fd(), POLLIN, 0};
    if (left.count() <= 0 || ::poll(&ready, 1, static_cast<int>(left.count())) == 0) {
      return core::failf(core::ErrorCode::Unavailable,
                         "no process event arrived from the kernel within {} ms of subscribing (fimbeat must run in "
                         "the host's pid and user namespaces)",
                         options_.proofTimeout.count());
    }
    connector_.receive(
        [&](const ProcEvent& event) {
          if (event.kind == ProcEvent::Kind::Ack && event.error != 0) refused = event.error;
          // The probe's own event, or any other: either proves that the kernel sends them here.
          if (event.kind != ProcEvent::Kind::Ack && event.kind != ProcEvent::Kind::Other) seen = true;
          table_.apply(event, std::chrono::steady_clock::now());
        },
        kDatagramsPerTurn);
  }
  if (refused == EPERM) {
    return core::fail(core::ErrorCode::PermissionDenied,
                      "the kernel refused the subscription to its process events: it needs CAP_NET_ADMIN");
  }
  if (refused != 0) return std::unexpected(core::errnoError("subscribing to the kernel's process events", refused));
  return {};
}

void ProcessTracker::run(std::stop_token stop) {
  pollfd ready[2] = {{connector_.fd(), POLLIN, 0}, {wake_, POLLIN, 0}};
  while (!stop.stop_requested()) {
    if (::poll(ready, 2, -1) < 0 && errno != EINTR) {
      const std::string why = std::strerror(errno);
      core::logger("watcher").error("process events: poll failed: {}; processes are no longer tracked", why);
      degrade("process events can no longer be read (" + why + "): processes that exit at once lack " +
              "process.executable");
      break;
    }
    if (ready[1].revents != 0) break;
    takeIn();
    budget();
  }
  busy_ = false;
  caughtUpNs_ = UINT64_MAX;  // nothing more will be taken in: recalls must not wait
  progress_.notify_all();
}

void ProcessTracker::takeIn() {
  ProcConnector::Received received;
  do {
    busy_ = true;
    received = connector_.receive(
        [&](const ProcEvent& event) {
          if (event.kind == ProcEvent::Kind::Exec && event.timestampNs != 0) {
            const std::uint64_t now = monotonicNs();
            execDelay_.record(now > event.timestampNs ? (now - event.timestampNs) / 1000 : 0);
          }
          if (!table_.apply(event, std::chrono::steady_clock::now())) late_.add();
        },
        kDatagramsPerTurn);
    events_.add(static_cast<std::int64_t>(received.events));
    if (received.lost) {
      // Logged the first time and then every 1000th: a machine forking without end must not flood the log.
      if (lost_.value() % 1000 == 0) {
        core::logger("watcher").warn(
            "process events were lost (the socket's buffer of {} bytes overflowed): processes that started and "
            "exited meanwhile may lack process.executable; see watcher.process.events_lost",
            options_.receiveBuffer);
      }
      lost_.add();
      table_.resync(std::chrono::steady_clock::now());
    }
    if (received.emptyAtNs != 0) caughtUpNs_ = received.emptyAtNs;
    busy_ = false;
    // Without the waiters' lock: this thread must never wait for a lookup (see waitCaughtUp).
    progress_.notify_all();
  } while (received.emptyAtNs == 0);
  trackedGauge_.set(static_cast<std::int64_t>(table_.size()));
}

void ProcessTracker::budget() {
  if (!priority_.account()) return;
  if (lowered_.value() == 0) {
    core::logger("watcher").warn(
        "who-data: the process tracker used more than its CPU budget (an exec storm): it runs at normal priority "
        "until the storm passes, so some processes that exit at once may lack process.executable");
  }
  lowered_.add();
}

bool ProcessTracker::waitCaughtUp(std::uint64_t sinceNs) {
  // A notification sent between a check and the wait is missed (the thread does not take the
  // lock), so the wait is in short slices that check again.
  constexpr auto kSlice = std::chrono::milliseconds(1);
  using Ticks = std::chrono::steady_clock::duration;
  const Ticks now = std::chrono::steady_clock::now().time_since_epoch();
  // The thread was too slow a moment ago (an exec storm, at normal priority): waiting again
  // would slow every lookup down; answer from what the table has for a while.
  if (now - Ticks(lastTimeout_.load()) < std::chrono::seconds(1)) return false;
  const auto deadline = std::chrono::steady_clock::now() + options_.maxRecallWait;
  std::unique_lock lock(progressMutex_);
  while (true) {
    if (caughtUpNs_ >= sinceNs) return true;
    // Nothing queued and nothing in the thread's hands: everything queued before `sinceNs` is in
    // the table. The socket is checked first: an event read from it is in hand until applied.
    if (!connector_.pending() && !busy_) return true;
    if (std::chrono::steady_clock::now() >= deadline) {
      lastTimeout_ = std::chrono::steady_clock::now().time_since_epoch().count();
      waits_.add();
      return false;
    }
    progress_.wait_for(lock, kSlice);
  }
}

std::optional<ProcessSnapshot> ProcessTracker::recall(std::int64_t pid) {
  // The process's exec came before its change: once the thread has taken in everything queued
  // until now, the table knows it.
  const bool complete = !running() || waitCaughtUp(monotonicNs());
  std::optional<ProcessSnapshot> found = table_.find(pid);
  // Behind (an exec storm): a child known only from its fork may have an exec still queued, and
  // its parent's name would be the wrong program. Unnamed beats misnamed.
  if (found && !complete && knownOnlyFromFork(*found)) return std::nullopt;
  return found;
}

void ProcessTracker::drained(std::chrono::steady_clock::time_point readStarted) { table_.drained(readStarted); }

void ProcessTracker::degrade(std::string message) {
  tracking_.set(0);
  if (health_) health_->set(core::Health::kWatcher, "who_data", core::HealthState::Degraded, std::move(message));
}

void ProcessTracker::startAndReport() {
  if (reported_) return;
  reported_ = true;
  auto& log = core::logger("watcher");
  if (auto started = start(); !started) {
    log.warn("who-data: {}; processes are read from {} only when their change is read, so one that exited "
             "before then will lack process.executable, process.args, process.working_directory and "
             "container.*",
             started.error().message(), procRoot_);
    degrade("who-data races with short-lived processes: " + started.error().message());
  } else if (level_ == TrackerPriority::Level::Normal) {
    log.warn("who-data: process starts are tracked through the kernel's process events, but at normal priority "
             "(fimbeat lacks CAP_SYS_NICE): on a busy machine some processes that exit at once will lack "
             "process.executable");
    if (health_) {
      health_->set(core::Health::kWatcher, "who_data", core::HealthState::Degraded,
                   "process starts are tracked at normal priority (no CAP_SYS_NICE): on a busy machine some "
                   "processes that exit at once lack process.executable");
    }
  } else {
    log.info("who-data: process starts are tracked through the kernel's process events at {} priority, so a "
             "process that exits at once is still named",
             toString(level_));
  }
  const std::vector<std::string> warnings = procAccessWarnings(probeProcAccess(procRoot_), procRoot_);
  std::string joined;
  for (const std::string& warning : warnings) {
    log.warn("who-data: {}", warning);
    joined += (joined.empty() ? "" : "; ") + warning;
  }
  if (health_ && !joined.empty()) {
    health_->set(core::Health::kWatcher, "who_data_access", core::HealthState::Degraded, std::move(joined));
  }
}

}  // namespace fim::watcher::process
