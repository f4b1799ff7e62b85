#include "watcher/scanner.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>

#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "core/logging.h"

namespace fim::watcher {
namespace {

constexpr std::size_t kWalkBatch = 64;  // paths the walker hands over at once
constexpr std::size_t kWorkBatch = 16;  // paths a worker takes at once

std::string childPath(const std::string& dir, const char* name) {
  return dir == "/" ? "/" + std::string(name) : dir + "/" + name;
}

bool isDirectory(const std::string& path, unsigned char dtype) {
  if (dtype != DT_UNKNOWN) return dtype == DT_DIR;
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

Scanner::Scanner(std::vector<config::ModuleConfig> modules, std::vector<Root> roots, core::PriorState* prior,
                 const core::Clock& clock, core::Metrics& metrics, ScanOptions options)
    : modules_(std::move(modules)),
      roots_(std::move(roots)),
      clock_(clock),
      options_(options),
      shared_(modules_, prior, metrics),
      metadata_(shared_.names),
      backpressure_(metrics.counter("watcher.backpressure")) {
  for (const auto& m : modules_) {
    filters_.emplace_back(m);
    filesLimiters_.push_back(std::make_unique<RateLimiter>(m.scanFilesPerSec, std::max<std::uint64_t>(m.scanFilesPerSec, 1)));
  }
}

bool Scanner::unchangedSince(const core::FileInfo& o, const std::string& path, const struct stat& st,
                             std::size_t module) const {
  if (S_ISLNK(st.st_mode)) return false;
  const core::FileInfo n = metadata_.fromStat(path, st);
  if (!sameStamp(o, n) || o.uid != n.uid || o.gid != n.gid || o.owner != n.owner || o.group != n.group ||
      o.mode != n.mode || o.setuid != n.setuid || o.setgid != n.setgid) {
    return false;
  }
  if (n.type != core::FileType::File) return true;
  const auto& settings = shared_.modules[module];
  if (settings.verifyHashesAlways || (settings.mimeType && !o.mimeType)) return false;
  if (n.size.value_or(0) > settings.maxFileSize) return true;
  for (auto type : settings.hashTypes) {
    if (!o.hashes.count(type)) return false;
  }
  return true;
}

void Scanner::walkRoot(std::stop_token stop, std::size_t rootIndex, core::BoundedQueue<WorkItem>& work,
                       const std::string& top) {
  const Root& root = roots_[rootIndex];
  const PathFilter& filter = filters_[root.module];
  struct stat st {};
  if (::lstat(top.c_str(), &st) != 0) {
    if (top == root.path) {
      core::logger("watcher").warn("configured path {} cannot be read: {}", root.path, std::strerror(errno));
      shared_.errors.add();
    }
    return;
  }
  std::vector<WorkItem> batch;  // handed to the workers a few dozen at a time: fewer wake-ups
  const auto queue = [&](WorkItem item) {
    batch.push_back(std::move(item));
    return batch.size() < kWalkBatch || work.pushBatch(batch, stop);
  };
  std::unordered_map<std::string, core::FileInfo> stored;  // the current directory's records, by name
  if (!S_ISDIR(st.st_mode)) {
    if (filter.reported(top, false)) (void)work.push(WorkItem{top, rootIndex, {}, {}}, stop);
    return;
  }
  if (filter.excluded(top)) return;
  std::vector<std::string> pending{top};  // directories still to read
  bool stopped = false;
  while (!pending.empty() && !stopped && !stop.stop_requested()) {
    const std::string dir = std::move(pending.back());
    pending.pop_back();
    DIR* handle = ::opendir(dir.c_str());
    WorkItem self{dir, rootIndex, {}, {}};
    if (!handle) self.error = core::errnoError("failed to read directory " + dir, errno).message();
    if (filter.reported(dir, true) && !queue(std::move(self))) break;
    if (!handle) continue;
    stored.clear();
    bool storedKnown = options_.baselineEmpty;
    if (shared_.prior && !storedKnown) {  // one sequential read instead of a lookup per entry
      storedKnown = shared_.prior
                        ->children(dir,
                                   [&](core::FileInfo&& info) {
                                     std::string name = info.path.substr(info.path.rfind('/') + 1);
                                     stored.emplace(std::move(name), std::move(info));
                                   })
                        .has_value();
    }
    const int dirFd = ::dirfd(handle);
    while (const dirent* entry = ::readdir(handle)) {
      const std::string_view name(entry->d_name);
      if (name == "." || name == "..") continue;
      std::string path = childPath(dir, entry->d_name);
      if (filter.excluded(path)) continue;
      const bool isDir = isDirectory(path, entry->d_type);  // a symlink to a directory is not a directory
      if (isDir && root.recursive) {
        pending.push_back(std::move(path));  // reported when it is opened
        continue;
      }
      if (!filter.reported(path, isDir)) continue;
      WorkItem item{std::move(path), rootIndex, {}, {}};
      // Relative to the open directory: one name to look up instead of the whole path.
      struct stat childStat {};
      if (::fstatat(dirFd, entry->d_name, &childStat, AT_SYMLINK_NOFOLLOW) == 0) item.st = childStat;
      if (storedKnown) {
        item.storedKnown = true;
        if (auto record = stored.find(entry->d_name); record != stored.end()) item.stored = std::move(record->second);
      }
      if (!queue(std::move(item))) {
        stopped = true;
        break;
      }
    }
    ::closedir(handle);
  }
  if (!batch.empty()) (void)work.pushBatch(batch, stop);
}

void Scanner::walk(std::stop_token stop, core::BoundedQueue<WorkItem>& work) {
  if (options_.subtrees.empty()) {
    for (std::size_t i = 0; i < roots_.size() && !stop.stop_requested(); ++i) walkRoot(stop, i, work, roots_[i].path);
  } else {
    for (const auto& [root, top] : options_.subtrees) {
      if (!stop.stop_requested() && root < roots_.size()) walkRoot(stop, root, work, top);
    }
  }
  work.close();
}

void Scanner::work(std::stop_token stop, core::BoundedQueue<WorkItem>& work, core::BoundedQueue<core::Observation>& out) {
  constexpr std::size_t kBatch = 64;
  FileObserver observer(shared_);
  std::vector<WorkItem> items;
  std::vector<core::Observation> ready;
  const auto deliver = [&] {
    if (ready.empty()) return true;
    if (out.size() + ready.size() > out.capacity()) backpressure_.add();  // the pipeline is full: wait, never drop
    return out.pushBatch(ready, stop);
  };
  while (work.popBatch(items, kWorkBatch, stop) > 0) {
    for (auto& item : items) {
      const std::size_t module = roots_[item.root].module;
      if (!filesLimiters_[module]->acquire(1, stop)) return;
      if (item.stored && item.st && unchangedSince(*item.stored, item.path, *item.st, module)) {
        shared_.files.add();
        if (S_ISREG(item.st->st_mode)) {  // counted as if observed in full
          const bool tooBig = static_cast<std::uint64_t>(item.st->st_size) > shared_.modules[module].maxFileSize;
          (tooBig ? shared_.tooBig : shared_.reused).add();
        }
        core::Observation seen;  // the baseline only notes it was seen
        seen.kind = core::Observation::Kind::Unchanged;
        seen.info.path = std::move(item.path);
        ready.push_back(std::move(seen));
        continue;
      }
      auto observation = observer.observe(item.path, item.root, module, stop, item.st ? &*item.st : nullptr,
                                          item.storedKnown ? &item.stored : nullptr);
      if (!observation) continue;
      if (item.error) {
        observation->errorMessage = item.error;
        observation->childrenUnknown = true;
      }
      ready.push_back(std::move(*observation));
    }
    items.clear();
    // Hand over in batches, and at once when the walker has nothing queued (keeps latency low).
    if ((ready.size() >= kBatch || work.size() == 0) && !deliver()) return;
  }
  (void)deliver();
}

void Scanner::logProgress(double seconds, bool final) const {
  const auto files = shared_.files.value();
  const auto bytes = shared_.bytesHashed.value();
  const double filesPerSecond = seconds > 0 ? files / seconds : 0;
  const double mbPerSecond = seconds > 0 ? bytes / seconds / 1e6 : 0;
  auto& log = core::logger("watcher");
  if (final) {
    log.info("scan done: {} paths, {} bytes hashed, {} unchanged files not rehashed, {} errors in {:.2f} s "
             "({:.0f} files/s, {:.1f} MB/s)",
             files, bytes, shared_.reused.value(), shared_.errors.value(), seconds, filesPerSecond, mbPerSecond);
    return;
  }
  std::string eta = "unknown (first scan)";
  if (options_.expectedPaths > 0 && filesPerSecond > 0) {
    const double left = static_cast<double>(options_.expectedPaths) - static_cast<double>(files);
    eta = left > 0 ? fmt::format("{:.0f} s", left / filesPerSecond) : "any moment";
  }
  log.info("scanning: {} paths, {} bytes hashed, {:.0f} files/s, {:.1f} MB/s, ETA {}", files, bytes, filesPerSecond,
           mbPerSecond, eta);
}

void Scanner::run(std::stop_token stop, core::BoundedQueue<core::Observation>& out) {
  auto& log = core::logger("watcher");
  for (const auto& root : options_.subtrees.empty() ? roots_ : std::vector<Root>{}) {
    if (auto kind = networkFileSystem(root.path); !kind.empty()) {
      log.warn("configured path {} is on a network file system ({}): changes made by other hosts are not seen "
               "in real time and scans read over the network",
               root.path, kind);
    }
  }
  const auto started = std::chrono::steady_clock::now();
  const auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(); };
  core::BoundedQueue<WorkItem> work(1024);  // paths the walker may run ahead of the workers
  {
    std::mutex mutex;
    std::condition_variable_any done;
    std::jthread progress([&](std::stop_token progressStop) {
      std::unique_lock lock(mutex);
      while (!done.wait_for(lock, progressStop, options_.progressEvery, [] { return false; })) {
        if (progressStop.stop_requested()) return;
        logProgress(elapsed(), false);
      }
    });
    std::vector<std::jthread> workers;
    for (std::size_t i = 0; i < std::max<std::size_t>(1, options_.workers); ++i) {
      workers.emplace_back([&] {
        ::pthread_setname_np(::pthread_self(), "fim-hash");
        this->work(stop, work, out);
      });
    }
    walk(stop, work);
    workers.clear();  // joins: every path has been observed
  }
  if (stop.stop_requested()) {
    log.info("scan interrupted after {} paths; the deletion sweep is skipped", shared_.files.value());
    return;
  }
  if (options_.logSummary) logProgress(elapsed(), true);
  if (!options_.subtrees.empty()) {
    for (const auto& [root, top] : options_.subtrees) {
      core::Observation done;
      done.kind = core::Observation::Kind::SubtreeDone;
      done.info.path = top;
      done.root = root;
      if (!out.push(std::move(done), stop)) return;
    }
    return;
  }
  core::Observation done;
  done.kind = core::Observation::Kind::ScanDone;
  (void)out.push(std::move(done), stop);
}

}  // namespace fim::watcher
