#include "watcher/process/process_cache.h"

#include <iterator>

namespace fim::watcher::process {

ProcessCache::ProcessCache(const ProcessReader& reader, std::chrono::milliseconds ttl, std::size_t maxEntries)
    : reader_(reader), ttl_(ttl), maxEntries_(maxEntries) {}

events::ProcessInfo ProcessCache::lookup(std::int64_t pid, TimePoint now) {
  const auto cached = entries_.find(pid);
  const bool fresh = cached != entries_.end() && now - cached->second.readAt < ttl_;
  const std::optional<ProcIdentity> current = reader_.identity(pid);
  if (!current) {
    if (fresh) return cached->second.snapshot.info;
    events::ProcessInfo gone;
    gone.pid = pid;
    gone.exited = true;
    return gone;
  }
  if (fresh && !cached->second.snapshot.info.exited && cached->second.snapshot.identity == *current) {
    return cached->second.snapshot.info;
  }
  ++reads_;
  return store(pid, reader_.read(pid), now);
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
