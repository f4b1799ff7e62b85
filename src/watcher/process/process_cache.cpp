#include "watcher/process/process_cache.h"

#include <iterator>

namespace fim::watcher::process {
namespace {

core::Counter& counterOr(core::Metrics* metrics, const char* name, core::Counter& own) {
  return metrics ? metrics->counter(name) : own;
}

}  // namespace

ProcessCache::ProcessCache(const ProcessReader& reader, std::chrono::milliseconds ttl, ProcessHistory* history,
                           core::Metrics* metrics, std::size_t maxEntries)
    : reader_(reader),
      ttl_(ttl),
      history_(history),
      maxEntries_(maxEntries),
      lookups_(counterOr(metrics, "watcher.process.lookups", ownLookups_)),
      withoutExecutable_(counterOr(metrics, "watcher.process.without_executable", ownWithout_)),
      recalled_(counterOr(metrics, "watcher.process.recalled", ownRecalled_)) {}

events::ProcessInfo ProcessCache::lookup(std::int64_t pid, TimePoint now) {
  events::ProcessInfo info = find(pid, now);
  lookups_.add();
  if (info.executable.empty()) withoutExecutable_.add();
  return info;
}

events::ProcessInfo ProcessCache::find(std::int64_t pid, TimePoint now) {
  const auto cached = entries_.find(pid);
  const bool fresh = cached != entries_.end() && now - cached->second.readAt < ttl_;
  const std::optional<ProcIdentity> current = reader_.identity(pid);
  if (!current) {
    if (fresh) return cached->second.snapshot.info;
    if (auto recalled = recall(pid, nullptr)) return store(pid, std::move(*recalled), now);
    events::ProcessInfo gone;
    gone.pid = pid;
    gone.exited = true;
    return gone;
  }
  if (fresh && !cached->second.snapshot.info.exited && cached->second.snapshot.identity == *current) {
    return cached->second.snapshot.info;
  }
  ++reads_;
  ProcessSnapshot snapshot = reader_.read(pid);
  if (snapshot.info.executable.empty() || snapshot.info.args.empty()) {
    // A zombie, or a process exiting while it was read: its executable and arguments went with
    // it; the history has them.
    if (auto recalled = recall(pid, &*current)) snapshot = std::move(*recalled);
  }
  // A child recalled from its fork has no start time of its own: /proc still shows it.
  if (!snapshot.info.startTime) snapshot.info.startTime = reader_.startTime(current->startTime);
  return store(pid, std::move(snapshot), now);
}

std::optional<ProcessSnapshot> ProcessCache::recall(std::int64_t pid, const ProcIdentity* seen) {
  if (history_ == nullptr) return std::nullopt;
  std::optional<ProcessSnapshot> recalled = history_->recall(pid);
  if (!recalled || recalled->info.executable.empty()) return std::nullopt;
  const ProcIdentity& then = recalled->identity;
  if (seen && (then.comm != seen->comm || (then.startTime != 0 && then.startTime != seen->startTime))) {
    return std::nullopt;  // another program, or another process with the pid
  }
  recalled_.add();
  return recalled;
}

void ProcessCache::drained(TimePoint readStarted) {
  if (history_ != nullptr) history_->drained(readStarted);
}

const events::ProcessInfo& ProcessCache::store(std::int64_t pid, ProcessSnapshot snapshot, TimePoint now) {
  if (entries_.size() >= maxEntries_ && !entries_.contains(pid)) {
    std::erase_if(entries_, [&](const auto& entry) { return now - entry.second.readAt >= ttl_; });
    if (entries_.size() >= maxEntries_) entries_.clear();  // a burst of distinct pids: start over
  }
  Entry& entry = entries_[pid];
  entry.snapshot = std::move(snapshot);
  entry.readAt = now;
  return entry.snapshot.info;
}

}  // namespace fim::watcher::process
