#pragma once
// DirectoryResolver: fanotify directory file handles → absolute paths, through
// open_by_handle_at on a directory fd kept per marked filesystem. Paths are cached per handle,
// because most events land in a few directories; a rename or delete of a directory must be
// reported through forget() so that neither it nor anything below keeps a stale path.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/result.h"
#include "watcher/fanotify/fanotify_event.h"

namespace fim::watcher::fanotify {

class DirectoryResolver {
 public:
  explicit DirectoryResolver(std::size_t maxEntries = 65536);
  ~DirectoryResolver();
  DirectoryResolver(const DirectoryResolver&) = delete;
  DirectoryResolver& operator=(const DirectoryResolver&) = delete;

  // Keeps a directory fd on the filesystem `fsid` (taken from `directory`); handles of that
  // filesystem are opened through it, and paths come out as seen through its mount. `fsType` is
  // statfs's f_type: it tells which handle formats can be read without opening them.
  [[nodiscard]] core::Status addFilesystem(std::uint64_t fsid, const std::string& directory, long fsType);
  bool hasFilesystem(std::uint64_t fsid) const { return mounts_.contains(fsid); }
  // Proves that handles of the filesystem `fsid` can be opened: a real handle of `path` (on it) is
  // opened through open_by_handle_at. PermissionDenied names CAP_DAC_READ_SEARCH.
  [[nodiscard]] core::Status proveHandles(std::uint64_t fsid, const std::string& path) const;
  std::size_t filesystems() const { return mounts_.size(); }

  // The path of the directory `id` names. NotFound when it is gone (deleted before the event was
  // read: nothing there to report); any other error is a blind spot (a handle that cannot be
  // opened, a path not reachable from the mount held), its message says why.
  [[nodiscard]] core::Result<std::string> directory(const FileId& id);

  // The inode number of the object `id` names (for pairing moves), or nullopt when it is gone.
  std::optional<std::uint64_t> inode(const FileId& id) const;

  // The inode number of the entry `dir.name` of the directory `dir` names (the directory's own
  // for "."), stat()ed through the directory: nullopt when either is gone.
  std::optional<std::uint64_t> entryInode(const FileId& dir) const;

  // Drops `path` and every cached directory below it.
  void forget(std::string_view path);
  void clear();

  std::size_t size() const { return byKey_.size(); }
  std::uint64_t lookups() const { return lookups_; }  // open_by_handle_at calls made (cache misses)
  std::uint64_t failures() const { return failures_; }

 private:
  int open(const FileId& id) const;  // O_PATH fd or -1
  void insert(std::string key, const std::string& path);
  std::string climb(std::uint64_t fsid, int fd) const;  // the path of a directory deeper than PATH_MAX

  std::size_t maxEntries_;
  struct Mount {
    int fd = -1;
    long type = 0;
  };
  std::unordered_map<std::uint64_t, Mount> mounts_;  // by fsid
  std::unordered_map<std::string, std::string> byKey_;  // handle key → path
  std::map<std::string, std::string, std::less<>> byPath_;  // path → handle key, for forget()
  std::uint64_t lookups_ = 0;
  std::uint64_t failures_ = 0;
};

}  // namespace fim::watcher::fanotify
