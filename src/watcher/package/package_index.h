#pragma once
// PackageIndex: the current PackageSnapshot of dpkg's database, rebuilt when dpkg changes it (an
// inotify watch on its admin directory says so), never per event, and never while a dpkg or apt
// transaction holds the database's lock: during one, verdicts wait (see transactionRunning()).

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "core/metrics.h"
#include "core/result.h"
#include "watcher/package/package_snapshot.h"

namespace fim::watcher {

class PackageIndex {
 public:
  // Reads the database and starts watching it. Fails when `adminDir` has no readable status file.
  [[nodiscard]] static core::Result<std::unique_ptr<PackageIndex>> openDpkg(core::Metrics& metrics,
                                                                           std::string adminDir = "/var/lib/dpkg",
                                                                           std::string rootDir = "/");
  ~PackageIndex();
  PackageIndex(const PackageIndex&) = delete;
  PackageIndex& operator=(const PackageIndex&) = delete;

  // The snapshot to judge a file by: rebuilt first when the database changed since the last one
  // and no transaction runs. Thread-safe; the snapshot stays valid while it is held.
  std::shared_ptr<const PackageSnapshot> current();

  // Whether another process holds dpkg's lock (lock-frontend, taken by apt and dpkg, or lock,
  // dpkg's database lock): the database and the files are in flux. Thread-safe, two fcntl calls.
  bool transactionRunning() const;

  const std::string& adminDir() const { return adminDir_; }

 private:
  PackageIndex(core::Metrics& metrics, std::string adminDir, std::string rootDir);
  core::Status watch();
  bool drainChanges();  // reads the inotify queue: whether status, diversions or updates/ changed
  int lockFd(std::atomic<int>& fd, const char* name) const;

  std::string adminDir_;
  std::string rootDir_;
  int inotifyFd_ = -1;
  int updatesWatch_ = -1;
  mutable std::atomic<int> frontendLock_{-1};
  mutable std::atomic<int> databaseLock_{-1};
  std::mutex mutex_;  // guards snapshot_ and dirty_; held while rebuilding
  std::shared_ptr<const PackageSnapshot> snapshot_;
  bool dirty_ = false;
  core::Counter& rebuilds_;
  core::Counter& rebuildErrors_;
  core::Gauge& files_;
};

}  // namespace fim::watcher
