#pragma once
// InotifyBackend: recursive inotify watches on directories only. Excluded directories never get
// a watch; a new or moved-in directory is watched before it is read, so what is created in it
// right away is seen either by the read or by the watch; watches leave with deleted and
// moved-out directories. Needs no privilege; costs one watch (about 1 KiB of kernel memory)
// per directory, limited by fs.inotify.max_user_watches. Directories are opened through their
// parents' descriptors and watched through their own, so a path of any length is watched.

#include <sys/inotify.h>

#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "core/metrics.h"
#include "watcher/path_filter.h"
#include "watcher/realtime/change_backend.h"

namespace fim::watcher {

class InotifyBackend final : public ChangeBackend {
 public:
  InotifyBackend(const std::vector<config::ModuleConfig>& modules, core::Metrics& metrics);
  ~InotifyBackend() override;
  InotifyBackend(const InotifyBackend&) = delete;
  InotifyBackend& operator=(const InotifyBackend&) = delete;

  const char* name() const override { return "inotify"; }
  [[nodiscard]] core::Status start(const std::vector<Root>& roots) override;
  int fd() const override { return fd_; }
  void readReady(const ChangeSink& sink) override;

  std::size_t watchCount() const { return byWd_.size(); }

 private:
  struct Dir {
    int wd = -1;
    std::size_t root = 0;
    std::string onlyName;  // the parent of a root that is a file: only that name is reported
  };
  using DirMap = std::map<std::string, Dir>;  // ordered: a directory's subtree is one range

  // Watches dir and, for a recursive root, every directory below it (never excluded ones).
  // With a sink, everything found below dir is reported as Created (a new or moved-in tree).
  void addTree(const std::string& dir, std::size_t root, const ChangeSink* sink);
  // Watches the open directory `dirFd`, which is `dir`.
  bool addWatch(int dirFd, const std::string& dir, std::size_t root, const ChangeSink* sink);
  void watchLimitReached(int dirFd, const std::string& dir, const ChangeSink* sink);
  void forgetTree(const std::string& dir, bool removeWatches);
  void renameTree(const std::string& from, const std::string& to);
  void handle(const ::inotify_event& event, const ChangeSink& sink);
  void settleDirectoryMove(const ChangeSink& sink);

  std::vector<PathFilter> filters_;  // per module
  std::vector<char> entries_;        // getdents64's buffer, reused
  std::vector<Root> roots_;
  int fd_ = -1;
  DirMap dirs_;
  std::unordered_map<int, DirMap::iterator> byWd_;
  struct PendingMove {
    std::uint32_t cookie = 0;
    std::string path;
    std::size_t root = 0;
  };
  std::optional<PendingMove> movedDir_;  // a directory moved away whose moved-to has not been read yet
  std::vector<std::string> unwatched_;   // directories start() could not watch: reported by readReady()
  bool limitLogged_ = false;
  std::uint64_t dirsNeeded_ = 0;  // counted past the limit, for the message
  core::Gauge& watchGauge_;
  core::Counter& overflows_;
  core::Counter& events_;
  core::Counter& unwatchedDirs_;
};

}  // namespace fim::watcher
