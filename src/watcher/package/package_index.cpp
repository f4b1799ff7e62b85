#include "watcher/package/package_index.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "core/logging.h"
#include "watcher/package/dpkg_database.h"
#include "watcher/package/rpm_database.h"

namespace fim::watcher {
namespace {

constexpr std::uint32_t kAdminEvents = IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE | IN_ONLYDIR;
constexpr std::uint32_t kUpdatesEvents = IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE | IN_CREATE | IN_ONLYDIR;
constexpr std::uint32_t kRpmEvents = IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE | IN_CREATE | IN_ONLYDIR;

// A change of RPM's database: any file of its directory written, replaced or removed, except what
// readers write too (SQLite's -shm and -wal, Berkeley DB's __db.* environment); fimbeat's own reads
// must not make the index stale. The transaction lock is closed after writing when rpm finishes.
bool rpmDatabaseFile(std::string_view name) {
  return !name.empty() && !name.ends_with("-shm") && !name.ends_with("-wal") && !name.ends_with("-journal") &&
         !name.starts_with("__db.");
}

// Whether a process other than this one holds a POSIX record lock on the file (as dpkg and apt do).
bool lockedByOther(int fd) {
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  return ::fcntl(fd, F_GETLK, &lock) == 0 && lock.l_type != F_UNLCK;
}

}  // namespace

PackageIndex::PackageIndex(core::Metrics& metrics, PackageFormat format, PackageScope scope, std::string adminDir,
                           std::string rootDir)
    : format_(format),
      adminDir_(std::move(adminDir)),
      rootDir_(std::move(rootDir)),
      scope_(std::move(scope)),
      rebuilds_(metrics.counter("watcher.packages.index_rebuilds")),
      rebuildErrors_(metrics.counter("watcher.packages.index_errors")),
      files_(metrics.gauge("watcher.packages.files")),
      bytes_(metrics.gauge("watcher.packages.index_bytes")) {}

PackageIndex::~PackageIndex() {
  reader_ = {};  // stopped and joined before what it reads into goes
  if (inotifyFd_ >= 0) ::close(inotifyFd_);
  for (auto* fd : {&frontendLock_, &databaseLock_}) {
    if (const int f = fd->load(); f >= 0) ::close(f);
  }
}

core::Result<std::unique_ptr<PackageIndex>> PackageIndex::openDpkg(core::Metrics& metrics, PackageScope scope,
                                                                  std::string adminDir, std::string rootDir) {
  std::unique_ptr<PackageIndex> index(
      new PackageIndex(metrics, PackageFormat::Dpkg, std::move(scope), std::move(adminDir), std::move(rootDir)));
  const std::string status = index->adminDir_ + "/status";
  if (::access(status.c_str(), R_OK) != 0) {
    return std::unexpected(core::errnoError("reading dpkg's database (" + status + ")", errno));
  }
  return open(std::move(index));
}

core::Result<std::unique_ptr<PackageIndex>> PackageIndex::openRpm(core::Metrics& metrics, PackageScope scope,
                                                                 std::string dbPath, std::string rootDir) {
  std::unique_ptr<PackageIndex> index(
      new PackageIndex(metrics, PackageFormat::Rpm, std::move(scope), std::move(dbPath), std::move(rootDir)));
  const std::string& root = index->rootDir_;
  const std::string inRoot = (root == "/" ? "" : (root.ends_with('/') ? root.substr(0, root.size() - 1) : root));
  if (index->adminDir_.empty() || !rpm::hasDatabase(inRoot + index->adminDir_)) {
    return core::fail(core::ErrorCode::NotFound, "reading RPM's database: " + inRoot + index->adminDir_ +
                                                     " holds none (rpmdb.sqlite, Packages.db or Packages)");
  }
  index->rpmDbPath_ = index->adminDir_;  // librpm adds the root itself
  index->adminDir_ = inRoot + index->adminDir_;  // watched and locked where it is
  return open(std::move(index));
}

core::Result<std::unique_ptr<PackageIndex>> PackageIndex::open(std::unique_ptr<PackageIndex> index) {
  // Watched before the first read: a change while it is read marks it dirty.
  if (auto watching = index->watch(); !watching) return std::unexpected(watching.error());
  index->reader_ = std::jthread([raw = index.get()](std::stop_token stop) { raw->firstRead(stop); });
  return index;
}

const char* PackageIndex::databaseName() const {
  return format_ == PackageFormat::Dpkg ? "dpkg's database" : "RPM's database";
}

core::Result<PackageSnapshot> PackageIndex::load(std::stop_token stop) const {
  if (format_ == PackageFormat::Dpkg) return dpkg::loadDatabase(adminDir_, rootDir_, scope_, stop);
  return rpm::loadDatabase(rpmDbPath_, rootDir_, scope_, stop);
}

void PackageIndex::firstRead(std::stop_token stop) {
  ::pthread_setname_np(::pthread_self(), "fim-packages");
  const auto started = std::chrono::steady_clock::now();
  const bool inFlux = transactionRunning();  // read anyway; read again once it ends
  auto snapshot = load(stop);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  {
    std::lock_guard lock(mutex_);
    if (snapshot) {
      files_.set(static_cast<std::int64_t>(snapshot->fileCount()));
      bytes_.set(static_cast<std::int64_t>(snapshot->bytes()));
      core::logger("watcher").info("package verification: {} watched files of {} installed packages read from {} "
                                   "in {:.1f} s ({:.1f} MiB)",
                                   snapshot->fileCount(), snapshot->packageCount(), databaseName(), seconds,
                                   static_cast<double>(snapshot->bytes()) / (1024 * 1024));
      snapshot_ = std::make_shared<const PackageSnapshot>(std::move(*snapshot));
      dirty_ = dirty_ || inFlux;
    } else if (!stop.stop_requested()) {
      rebuildErrors_.add();
      core::logger("watcher").error("package_verification is off: {}", snapshot.error().message());
    }
    ready_.store(true, std::memory_order_release);
  }
  readDone_.notify_all();
}

core::Status PackageIndex::watch() {
  inotifyFd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotifyFd_ < 0) return std::unexpected(core::errnoError(std::string("inotify_init1 for ") + databaseName(), errno));
  const std::uint32_t events = format_ == PackageFormat::Dpkg ? kAdminEvents : kRpmEvents;
  if (::inotify_add_watch(inotifyFd_, adminDir_.c_str(), events) < 0) {
    return std::unexpected(core::errnoError("watching " + adminDir_, errno));
  }
  if (format_ == PackageFormat::Rpm) return {};
  // Absent on a system where dpkg never ran a transaction; then status alone says enough.
  updatesWatch_ = ::inotify_add_watch(inotifyFd_, (adminDir_ + "/updates").c_str(), kUpdatesEvents);
  return {};
}

bool PackageIndex::drainChanges() {
  alignas(inotify_event) char buffer[8192];
  bool changed = false;
  for (;;) {
    const ssize_t n = ::read(inotifyFd_, buffer, sizeof buffer);
    if (n <= 0) return changed;  // EAGAIN: nothing more
    for (const char* p = buffer; p < buffer + n;) {
      const auto* e = reinterpret_cast<const inotify_event*>(p);
      const std::string_view name = e->len > 0 ? std::string_view(e->name) : std::string_view();
      if (e->mask & IN_Q_OVERFLOW) {
        changed = true;
      } else if (format_ == PackageFormat::Rpm) {
        changed = changed || rpmDatabaseFile(name);
      } else if (e->wd == updatesWatch_ || name == "status" || name == "diversions") {
        changed = true;
      }
      p += sizeof(inotify_event) + e->len;
    }
  }
}

std::shared_ptr<const PackageSnapshot> PackageIndex::current(std::stop_token stop) {
  std::unique_lock lock(mutex_);
  if (!ready_.load(std::memory_order_acquire) && !readDone_.wait(lock, stop, [&] { return ready(); })) return nullptr;
  if (!snapshot_) return nullptr;  // the first read failed: no verdicts
  if (drainChanges()) dirty_ = true;
  if (!dirty_ || transactionRunning()) return snapshot_;
  dirty_ = false;
  auto snapshot = load();
  if (!snapshot) {
    rebuildErrors_.add();
    core::logger("watcher").error("re-reading {} failed: {}; package verdicts use the last copy read", databaseName(),
                                  snapshot.error().message());
    return snapshot_;
  }
  rebuilds_.add();
  files_.set(static_cast<std::int64_t>(snapshot->fileCount()));
  bytes_.set(static_cast<std::int64_t>(snapshot->bytes()));
  snapshot_ = std::make_shared<const PackageSnapshot>(std::move(*snapshot));
  return snapshot_;
}

int PackageIndex::lockFd(std::atomic<int>& fd, const char* name) const {
  int current = fd.load(std::memory_order_acquire);
  if (current >= 0) return current;
  // Opened read-only and never locked by us: closing it can release no lock of ours.
  const int opened = ::open((adminDir_ + "/" + name).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (opened < 0) return -1;  // no such lock yet: nobody holds it
  if (!fd.compare_exchange_strong(current, opened)) {
    ::close(opened);
    return current;
  }
  return opened;
}

bool PackageIndex::transactionRunning() const {
  if (format_ == PackageFormat::Rpm) {
    const int f = lockFd(databaseLock_, ".rpm.lock");  // %{_rpmlock_path}: rpm's transaction lock
    return f >= 0 && lockedByOther(f);
  }
  for (auto [fd, name] : {std::pair{&frontendLock_, "lock-frontend"}, std::pair{&databaseLock_, "lock"}}) {
    const int f = lockFd(*fd, name);
    if (f >= 0 && lockedByOther(f)) return true;
  }
  return false;
}

}  // namespace fim::watcher
