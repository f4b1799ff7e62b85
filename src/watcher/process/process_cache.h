#pragma once
// ProcessCache: ProcessReader results kept briefly per pid, because one process usually makes
// many changes in a row. A cached entry is reused for at most `ttl`, and only while the pid keeps
// its start time (else it was reused) and its comm (else it exec'd: `sh -c 'cmd > f'` opens f
// as sh and writes it as cmd, in one pid). A process /proc no longer describes (gone, or a zombie
// without executable) is recalled from a ProcessHistory when one is given.

#include <chrono>
#include <cstdint>
#include <unordered_map>

#include "core/metrics.h"
#include "events/metadata.h"
#include "watcher/process/process_history.h"
#include "watcher/process/process_reader.h"

namespace fim::watcher::process {

class ProcessCache {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  // `history` (may be null) remembers processes that exited; `metrics` (may be null) receives
  // watcher.process.{lookups,without_executable,recalled}.
  ProcessCache(const ProcessReader& reader, std::chrono::milliseconds ttl, ProcessHistory* history = nullptr,
               core::Metrics* metrics = nullptr, std::size_t maxEntries = 4096);

  // Who `pid` is. A process that exited within `ttl` of being read keeps its cached details
  // (it made the change and then left); one never seen alive and not in the history yields
  // {pid, exited = true}.
  events::ProcessInfo lookup(std::int64_t pid, TimePoint now);

  // Every change queued before `readStarted` has been looked up (passed on to the history).
  void drained(TimePoint readStarted);

  std::uint64_t reads() const { return reads_; }  // full /proc reads, for tests and benchmarks

 private:
  struct Entry {
    ProcessSnapshot snapshot;
    TimePoint readAt;
  };

  events::ProcessInfo find(std::int64_t pid, TimePoint now);
  // The history's snapshot of `pid` when it can stand for a process that looks like `seen` now
  // (same comm, same start time when known); any snapshot when the process is gone (`seen` null).
  std::optional<ProcessSnapshot> recall(std::int64_t pid, const ProcIdentity* seen);
  const events::ProcessInfo& store(std::int64_t pid, ProcessSnapshot snapshot, TimePoint now);

  const ProcessReader& reader_;
  std::chrono::milliseconds ttl_;
  ProcessHistory* history_;
  std::size_t maxEntries_;
  std::unordered_map<std::int64_t, Entry> entries_;
  std::uint64_t reads_ = 0;
  core::Counter ownLookups_, ownWithout_, ownRecalled_;
  core::Counter& lookups_;
  core::Counter& withoutExecutable_;
  core::Counter& recalled_;
};

}  // namespace fim::watcher::process
