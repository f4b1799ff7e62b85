#pragma once
// Scanner: one full pass over every root. One thread walks (never following symlinks, never
// entering excluded directories) while a small pool reads metadata and hashes; observations
// stream out as they are ready, then a ScanDone marker when the pass completed.

#include <sys/stat.h>

#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/clock.h"
#include "core/metrics.h"
#include "core/prior_state.h"
#include "watcher/observation_source.h"
#include "watcher/file_observer.h"
#include "watcher/path_filter.h"
#include "watcher/roots.h"

namespace fim::watcher {

struct ScanOptions {
  std::size_t workers = 2;
  std::uint64_t expectedPaths = 0;  // from the last run's baseline: enables an ETA; 0 = unknown
  bool baselineEmpty = false;       // a first run: every path is new, nothing to look up
  std::chrono::milliseconds progressEvery{5000};
  // Only these directories (root index, path under that root), each closed by a SubtreeDone
  // instead of the full scan's ScanDone. Empty: every root.
  std::vector<std::pair<std::size_t, std::string>> subtrees;
  bool logSummary = true;  // "scan done: ..." (off for the small periodic rescans of unwatched directories)
};

class Scanner final : public ObservationSource {
 public:
  Scanner(std::vector<config::ModuleConfig> modules, std::vector<Root> roots, core::PriorState* prior,
          const core::Clock& clock, core::Metrics& metrics, ScanOptions options);

  void run(std::stop_token stop, core::BoundedQueue<core::Observation>& out) override;

 private:
  struct WorkItem {
    std::string path;
    std::size_t root = 0;
    std::optional<std::string> error;  // set by the walker: the directory could not be read
    std::optional<struct stat> st;     // the walker's fstatat, relative to the open directory
    bool storedKnown = false;          // the walker read the directory's records:
    std::optional<core::FileInfo> stored;  //   this one's (nullopt: none)
  };

  void walk(std::stop_token stop, core::BoundedQueue<WorkItem>& work);
  void walkRoot(std::stop_token stop, std::size_t rootIndex, core::BoundedQueue<WorkItem>& work,
                const std::string& top);
  // The stored record still describes the entry: same identity, times, owner, mode and, for a
  // file, every configured hash. Such a path needs no worker (never true for a symlink, whose
  // resolved target may move with links elsewhere).
  bool unchangedSince(const core::FileInfo& stored, const std::string& path, const struct stat& st,
                      std::size_t module) const;
  void work(std::stop_token stop, core::BoundedQueue<WorkItem>& work, core::BoundedQueue<core::Observation>& out);
  void logProgress(double seconds, bool final) const;

  std::vector<config::ModuleConfig> modules_;
  std::vector<Root> roots_;
  std::vector<PathFilter> filters_;  // per module
  const core::Clock& clock_;
  ScanOptions options_;
  ObserverShared shared_;
  MetadataReader metadata_;  // for the unchanged check (thread-safe: const, names cached)
  core::Counter& backpressure_;
  std::vector<std::unique_ptr<RateLimiter>> filesLimiters_;  // per module: scan_files_per_sec
};

}  // namespace fim::watcher
