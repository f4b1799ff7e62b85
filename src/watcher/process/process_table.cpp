#include "watcher/process/process_table.h"

#include <algorithm>
#include <vector>

namespace fim::watcher::process {

ProcessTable::ProcessTable(const ProcessReader& reader, ProcessTableLimits limits)
    : reader_(reader), limits_(limits), sweepAbove_(limits.maxLive) {}

bool ProcessTable::apply(const ProcEvent& event, TimePoint now) {
  if (!event.ofProcess() && event.kind != ProcEvent::Kind::Uid && event.kind != ProcEvent::Kind::Gid) return true;
  switch (event.kind) {
    case ProcEvent::Kind::Fork:
      fork(event.tgid, event.parentTgid);
      return true;
    case ProcEvent::Kind::Exec:
      return exec(event.tgid);
    case ProcEvent::Kind::Exit:
      exit(event.tgid, now);
      return true;
    case ProcEvent::Kind::Uid:
    case ProcEvent::Kind::Gid:
      changeId(event);
      return true;
    default:
      return true;
  }
}

void ProcessTable::fork(std::int64_t child, std::int64_t parent) {
  std::optional<ProcessSnapshot> inherited = find(parent);
  if (!inherited) {
    // A process started before fimbeat: read it once, it is tracked from now on.
    ProcessSnapshot read = reader_.read(parent);
    if (read.info.exited) return;
    std::lock_guard lock(mutex_);
    put(parent, read);
    inherited = std::move(read);
  }
  ProcessSnapshot snapshot = std::move(*inherited);
  snapshot.info.pid = child;
  snapshot.info.parentPid = parent;
  snapshot.info.exited = false;
  snapshot.identity.startTime = 0;  // the child's own is not read: the comm still tells an exec
  snapshot.info.startTime.reset();  // the parent's; the lookup reads the child's own while it lives
  std::lock_guard lock(mutex_);
  put(child, std::move(snapshot));
}

bool ProcessTable::exec(std::int64_t pid) {
  // Read outside the lock: lookups of other processes need not wait for /proc.
  ProcessSnapshot snapshot = reader_.read(pid);
  const bool inTime = !snapshot.info.executable.empty();
  std::lock_guard lock(mutex_);
  put(pid, std::move(snapshot));  // even when late: what the process was before the exec is wrong now
  return inTime;
}

void ProcessTable::exit(std::int64_t pid, TimePoint now) {
  std::lock_guard lock(mutex_);
  markExited(pid, now);
}

void ProcessTable::changeId(const ProcEvent& event) {
  const bool user = event.kind == ProcEvent::Kind::Uid;
  // Names are looked up outside the lock: NSS may be slow.
  const std::string name = user ? reader_.userName(event.effectiveId) : reader_.groupName(event.effectiveId);
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(event.tgid);
  if (it == entries_.end()) return;
  events::ProcessInfo& info = it->second.snapshot.info;
  (user ? info.userId : info.groupId) = event.effectiveId;
  (user ? info.userName : info.groupName) = name;
}

void ProcessTable::put(std::int64_t pid, ProcessSnapshot snapshot) {
  Entry& entry = entries_[pid];  // a pid's earlier entry (and its place in exits_) is replaced
  if (entry.exited) --exitedEntries_;
  entry.snapshot = std::move(snapshot);
  entry.generation = ++generation_;
  entry.exited = false;
  if (entries_.size() - exitedEntries_ > sweepAbove_) {
    // Exits were missed (events lost): forget the processes that are gone or another program now.
    // If that leaves many, the next sweep waits until there are twice as many: sweeps stay rare.
    std::erase_if(entries_, [&](const auto& e) { return !e.second.exited && stale(e.first, e.second); });
    sweepAbove_ = std::max(limits_.maxLive, 2 * (entries_.size() - exitedEntries_));
  }
}

void ProcessTable::markExited(std::int64_t pid, TimePoint now) {
  const auto it = entries_.find(pid);
  if (it == entries_.end() || it->second.exited) return;
  it->second.exited = true;
  ++exitedEntries_;
  exits_.push_back(Exit{pid, it->second.generation, now});
  // Records of entries replaced since (a pid taken again) count too, so that exits_ stays bounded.
  while ((exitedEntries_ > limits_.maxExited || exits_.size() > 2 * limits_.maxExited) && !exits_.empty()) {
    forget(exits_.front());
    exits_.pop_front();
  }
}

void ProcessTable::forget(const Exit& exit) {
  const auto it = entries_.find(exit.pid);
  if (it == entries_.end() || it->second.generation != exit.generation) return;
  entries_.erase(it);
  --exitedEntries_;
}

bool ProcessTable::stale(std::int64_t pid, const Entry& entry) const {
  const std::optional<ProcIdentity> now = reader_.identity(pid);
  if (!now) return true;
  const ProcIdentity& then = entry.snapshot.identity;
  return now->comm != then.comm || (then.startTime != 0 && now->startTime != then.startTime);
}

std::optional<ProcessSnapshot> ProcessTable::find(std::int64_t pid) const {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(pid);
  if (it == entries_.end()) return std::nullopt;
  return it->second.snapshot;
}

void ProcessTable::drained(TimePoint readStarted) {
  std::lock_guard lock(mutex_);
  while (!exits_.empty() && exits_.front().at < readStarted) {
    forget(exits_.front());
    exits_.pop_front();
  }
}

void ProcessTable::resync(TimePoint now) {
  std::lock_guard lock(mutex_);
  std::vector<std::int64_t> ended;
  std::vector<std::int64_t> execd;
  for (const auto& [pid, entry] : entries_) {
    if (entry.exited || !stale(pid, entry)) continue;
    (reader_.identity(pid) ? execd : ended).push_back(pid);
  }
  for (const std::int64_t pid : execd) entries_.erase(pid);
  for (const std::int64_t pid : ended) markExited(pid, now);
}

std::size_t ProcessTable::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

std::size_t ProcessTable::exited() const {
  std::lock_guard lock(mutex_);
  return exitedEntries_;
}

}  // namespace fim::watcher::process
