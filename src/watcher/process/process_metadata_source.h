#pragma once
// ProcessMetadataSource: add_process_metadata's (and add_docker_metadata's match_pids) view of a
// pid, read from <host_path>/proc as Beats' gosysinfo provider reads it: comm, executable,
// arguments, parent, start time, real user and group, capabilities, the environment on request,
// and the container id found in its cgroup paths. Reads are cached as Beats caches them: a
// process for 30 s after it was read (an exited process is still found in that time), the
// container id for cgroup_cache_expire_time.

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include <re2/re2.h>

#include "mapper/processors/metadata_sources.h"
#include "watcher/name_cache.h"

namespace fim::watcher::process {

// The container id in a /proc/<pid>/cgroup text, as Beats finds it: with `regex` its one group
// in the first path it matches; with prefixes, a cgroup v1 path under one of them gives its last
// element and a v2 path its first run of 64 word characters; with `firstHexId` (add_docker_metadata)
// the first run of 64 word characters in any path. "" when none.
std::string containerIdInCgroups(std::string_view cgroupText, const mapper::processors::ProcessSourceOptions& options,
                                 const RE2* regex);

// Capability bits as ECS names: "CAP_CHOWN", ..., "CAP_<n>" past the names this build knows.
std::vector<std::string> capabilityNames(std::uint64_t bits);

class ProcessMetadataSource final : public mapper::processors::ProcessSource {
 public:
  using Clock = std::chrono::steady_clock;

  // `hostId` (host.id, the machine id) makes process.entity_id; "" leaves it out.
  ProcessMetadataSource(mapper::processors::ProcessSourceOptions options, std::string hostId);

  std::shared_ptr<const mapper::processors::ProcessMetadata> process(std::int64_t pid) override;
  std::string containerId(std::int64_t pid) override;

  // What /proc holds of `pid` now, uncached; nullptr when it cannot be read (gone, or a file
  // Beats needs is unreadable).
  std::shared_ptr<const mapper::processors::ProcessMetadata> read(std::int64_t pid);

 private:
  std::string dir(std::int64_t pid) const;

  mapper::processors::ProcessSourceOptions options_;
  std::string hostId_;
  std::string procRoot_;
  std::unique_ptr<RE2> regex_;
  std::optional<std::int64_t> bootSeconds_;
  NameCache names_;
  std::mutex mutex_;
  struct Cached {
    std::shared_ptr<const mapper::processors::ProcessMetadata> process;
    Clock::time_point expires;
  };
  struct CachedId {
    std::string id;
    Clock::time_point expires;
  };
  std::unordered_map<std::int64_t, Cached> processes_;
  std::unordered_map<std::int64_t, CachedId> containers_;
};

}  // namespace fim::watcher::process
