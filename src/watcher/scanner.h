#pragma once
// Scanner: one full pass over every root. A few walker threads share the directories still to
// read (never following symlinks, never entering excluded directories; each opened through its
// parent's descriptor, and each file read through its directory's, so no full path is looked
// up and a path of any length is read); each lstat()s what it finds, settles a path the baseline records exactly as it is (no hashing, no hand-over), and
// queues the rest for a small pool that reads labels and hashes. A regular file the baseline
// has no record of is not stat()ed by the walker: the worker opens it and fstat()s that. With a
// baseline, a walker reads a whole subtree in the store's key order beside one forward cursor
// over its records, and notices records no path matched (scanner_walk.cpp). Observations
// stream out as they are ready, then a ScanDone marker when the pass completed, saying for
// which roots every record was matched.

#include <sys/stat.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/clock.h"
#include "core/metrics.h"
#include "baseline/view.h"
#include "watcher/observation_source.h"
#include "watcher/file_observer.h"
#include "watcher/open_beneath.h"
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
  PackageIndex* packages = nullptr;  // package_verification's index; null: no module verifies
};

class Scanner final : public ObservationSource {
 public:
  Scanner(std::vector<config::ModuleConfig> modules, std::vector<Root> roots, baseline::View* prior,
          const core::Clock& clock, core::Metrics& metrics, ScanOptions options);

  void run(std::stop_token stop, core::BoundedQueue<events::Observation>& out) override;

 private:
  struct WorkItem {
    std::string path;
    std::size_t root = 0;
    SharedDir parent;                  // the open directory that holds `path`
    std::optional<std::string> error;  // set by the walker: the directory could not be read
    std::optional<struct stat> st;     // the walker's fstatat, relative to the open directory
    bool listedRegular = false;        // a regular file by its directory entry, not stat()ed
    bool lookUp = false;               // a directory handed over without its stat and record
    bool storedKnown = false;          // the walker read the directory's records:
    std::optional<events::FileInfo> stored;  //   this one's (nullopt: none)
  };

  class DirectoryPool;
  class Walker;

  // The walkers (scanner_walk.cpp): every directory read, unchanged paths settled, the rest in `work`.
  void walk(std::stop_token stop, core::BoundedQueue<WorkItem>& work, core::BoundedQueue<events::Observation>& out);
  // The tops to walk: a directory goes to the pool, anything else straight to the workers.
  void seed(std::stop_token stop, DirectoryPool& pool, core::BoundedQueue<WorkItem>& work);
  void work(std::stop_token stop, core::BoundedQueue<WorkItem>& work, core::BoundedQueue<events::Observation>& out);
  void logProgress(double seconds, bool final) const;

  std::vector<config::ModuleConfig> modules_;
  std::vector<Root> roots_;
  std::vector<PathFilter> filters_;  // per module
  const core::Clock& clock_;
  ScanOptions options_;
  ObserverShared shared_;
  core::Counter& backpressure_;
  std::vector<std::unique_ptr<RateLimiter>> filesLimiters_;  // per module: scan_files_per_sec
  // Per root: a record below it was matched to no path seen, or not all were read (ScanDone).
  std::unique_ptr<std::atomic<bool>[]> rootUnmatched_;
};

}  // namespace fim::watcher
