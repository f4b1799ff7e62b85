#pragma once
// ProcessCache: ProcessReader results kept briefly per pid, because one process usually makes
// many changes in a row. A cached entry is reused for at most `ttl`, and only while the pid keeps
// its start time (else it was reused) and its comm (else it exec'd: `sh -c 'cmd > f'` opens f
// as sh and writes it as cmd, in one pid).

#include <chrono>
#include <cstdint>
#include <unordered_map>

#include "events/metadata.h"
#include "watcher/process/process_reader.h"

namespace fim::watcher::process {

class ProcessCache {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  ProcessCache(const ProcessReader& reader, std::chrono::milliseconds ttl, std::size_t maxEntries = 4096);

  // Who `pid` is. A process that exited within `ttl` of being read keeps its cached details
  // (it made the change and then left); one never seen alive yields {pid, exited = true}.
  events::ProcessInfo lookup(std::int64_t pid, TimePoint now);

  std::uint64_t reads() const { return reads_; }  // full /proc reads, for tests and benchmarks

 private:
  struct Entry {
    ProcessSnapshot snapshot;
    TimePoint readAt;
  };

  const events::ProcessInfo& store(std::int64_t pid, ProcessSnapshot snapshot, TimePoint now);

  const ProcessReader& reader_;
  std::chrono::milliseconds ttl_;
  std::size_t maxEntries_;
  std::unordered_map<std::int64_t, Entry> entries_;
  std::uint64_t reads_ = 0;
};

}  // namespace fim::watcher::process
