#pragma once
// PackageIndex: the current PackageSnapshot of dpkg's or RPM's database, rebuilt when the package
// manager changes it (an inotify watch on the database's directory says so), never per event, and
// never while a transaction holds the database's lock: during one, verdicts wait (see
// transactionRunning()).
// The first read runs on a thread of its own: neither the agent's start nor the walk of the first
// scan waits for it; a verdict does (current()).

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>

#include "core/metrics.h"
#include "core/result.h"
#include "watcher/package/package_snapshot.h"

namespace fim::watcher {

enum class PackageFormat { Dpkg, Rpm };

class PackageIndex {
 public:
  // Starts watching the database and reading it (in the background). Fails when `adminDir` has no
  // readable status file or cannot be watched. Only the paths `scope` contains are indexed.
  [[nodiscard]] static core::Result<std::unique_ptr<PackageIndex>> openDpkg(core::Metrics& metrics,
                                                                           PackageScope scope = {},
                                                                           std::string adminDir = "/var/lib/dpkg",
                                                                           std::string rootDir = "/");
  // The same for RPM's database in `dbPath` (inside `rootDir`), read through librpm. Fails when
  // `dbPath` holds no RPM database or cannot be watched.
  [[nodiscard]] static core::Result<std::unique_ptr<PackageIndex>> openRpm(core::Metrics& metrics, PackageScope scope,
                                                                          std::string dbPath, std::string rootDir = "/");
  ~PackageIndex();
  PackageIndex(const PackageIndex&) = delete;
  PackageIndex& operator=(const PackageIndex&) = delete;

  // The snapshot to judge a file by: rebuilt first when the database changed since the last one
  // and no transaction runs. Waits for the first read; null when that read failed (said in the
  // log: no verdicts) or `stop` came first. Thread-safe; the snapshot stays valid while it is held.
  std::shared_ptr<const PackageSnapshot> current(std::stop_token stop = {});
  // The first read is done (current() does not wait).
  bool ready() const { return ready_.load(std::memory_order_acquire); }

  // Whether another process holds the database's lock: dpkg's lock-frontend (taken by apt and
  // dpkg) or lock (dpkg's database lock); RPM's .rpm.lock (taken by rpm, dnf, yum for a
  // transaction). The database and the files are in flux. Thread-safe, at most two fcntl calls.
  bool transactionRunning() const;

  PackageFormat format() const { return format_; }
  // dpkg's admin directory or RPM's database directory.
  const std::string& adminDir() const { return adminDir_; }

 private:
  PackageIndex(core::Metrics& metrics, PackageFormat format, PackageScope scope, std::string adminDir,
               std::string rootDir);
  static core::Result<std::unique_ptr<PackageIndex>> open(std::unique_ptr<PackageIndex> index);
  core::Status watch();
  void firstRead(std::stop_token stop);
  core::Result<PackageSnapshot> load(std::stop_token stop = {}) const;
  const char* databaseName() const;  // for the log: "dpkg's database"
  bool drainChanges();  // reads the inotify queue: whether the database changed
  int lockFd(std::atomic<int>& fd, const char* name) const;

  PackageFormat format_;
  std::string adminDir_;   // dpkg's admin directory, RPM's database directory (with rootDir_ in front)
  std::string rpmDbPath_;  // RPM's database directory as librpm names it: inside rootDir_
  std::string rootDir_;
  PackageScope scope_;
  int inotifyFd_ = -1;
  int updatesWatch_ = -1;
  mutable std::atomic<int> frontendLock_{-1};
  mutable std::atomic<int> databaseLock_{-1};
  std::mutex mutex_;  // guards snapshot_ and dirty_; held while rebuilding
  std::condition_variable_any readDone_;
  std::atomic<bool> ready_{false};
  std::shared_ptr<const PackageSnapshot> snapshot_;
  bool dirty_ = false;
  core::Counter& rebuilds_;
  core::Counter& rebuildErrors_;
  core::Gauge& files_;
  core::Gauge& bytes_;
  std::jthread reader_;  // the first read; last: stopped and joined before the rest goes
};

}  // namespace fim::watcher
