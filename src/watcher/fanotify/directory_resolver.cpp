#include "watcher/fanotify/directory_resolver.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <climits>
#include <vector>

namespace fim::watcher::fanotify {
namespace {

constexpr std::string_view kDeletedSuffix = " (deleted)";

std::string fdPath(int fd) {
  const std::string link = "/proc/self/fd/" + std::to_string(fd);
  char target[PATH_MAX];
  const ssize_t n = ::readlink(link.c_str(), target, sizeof(target));
  if (n <= 0) return "";
  return std::string(target, static_cast<std::size_t>(n));
}

constexpr long kExt4Magic = 0xEF53;  // ext2, ext3 and ext4
constexpr long kXfsMagic = 0x58465342;
constexpr long kBtrfsMagic = 0x9123683E;

// The inode number inside the handles of ext2/3/4, xfs and btrfs (include/linux/exportfs.h), so a
// move is paired even when the object is already gone again. Other filesystems lay out even the
// same handle types differently (tmpfs puts the generation first): nullopt for them.
std::optional<std::uint64_t> inodeInHandle(long fsType, std::string_view handle) {
  if (fsType != kExt4Magic && fsType != kXfsMagic && fsType != kBtrfsMagic) return std::nullopt;
  file_handle header {};
  if (handle.size() < sizeof(header)) return std::nullopt;
  std::memcpy(&header, handle.data(), sizeof(header));
  const std::string_view bytes = handle.substr(sizeof(header));
  switch (header.handle_type) {
    case 0x01:    // FILEID_INO32_GEN: u32 ino, u32 generation
    case 0x02: {  // FILEID_INO32_GEN_PARENT
      std::uint32_t ino = 0;
      if (bytes.size() < sizeof(ino)) return std::nullopt;
      std::memcpy(&ino, bytes.data(), sizeof(ino));
      return ino;
    }
    case 0x81:  // FILEID_INO64_GEN: u64 ino, u32 generation
    case 0x82:  // FILEID_INO64_GEN_PARENT
    case 0x4d:  // FILEID_BTRFS_WITHOUT_PARENT: u64 objectid (the inode number) first
    case 0x4e:
    case 0x4f: {
      std::uint64_t ino = 0;
      if (bytes.size() < sizeof(ino)) return std::nullopt;
      std::memcpy(&ino, bytes.data(), sizeof(ino));
      return ino;
    }
    default:
      return std::nullopt;
  }
}

}  // namespace

DirectoryResolver::DirectoryResolver(std::size_t maxEntries) : maxEntries_(maxEntries) {}

DirectoryResolver::~DirectoryResolver() {
  for (const auto& [fsid, mount] : mounts_) ::close(mount.fd);
}

core::Status DirectoryResolver::addFilesystem(std::uint64_t fsid, const std::string& directory, long fsType) {
  if (mounts_.contains(fsid)) return {};
  // A plain read-only directory fd: open_by_handle_at refuses O_PATH mount fds on recent kernels.
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return std::unexpected(core::errnoError("opening " + directory + " to resolve fanotify file handles", errno));
  mounts_.emplace(fsid, Mount{fd, fsType});
  return {};
}

int DirectoryResolver::open(const FileId& id) const {
  const auto mount = mounts_.find(id.fsid);
  if (mount == mounts_.end()) return -1;
  // The record's handle is only 4-byte aligned inside the read buffer; the kernel wants a struct.
  std::vector<std::uint64_t> aligned((id.handle.size() + 7) / 8);
  std::memcpy(aligned.data(), id.handle.data(), id.handle.size());
  return ::open_by_handle_at(mount->second.fd, reinterpret_cast<file_handle*>(aligned.data()), O_PATH | O_CLOEXEC);
}

std::optional<std::string> DirectoryResolver::directory(const FileId& id) {
  std::string key = id.key();
  if (const auto hit = byKey_.find(key); hit != byKey_.end()) return hit->second;
  ++lookups_;
  const int fd = open(id);
  if (fd < 0) {
    ++failures_;  // ESTALE: deleted before we got to it
    return std::nullopt;
  }
  std::string path = fdPath(fd);
  ::close(fd);
  // Not reachable from the mount we hold, or unlinked meanwhile: no usable path.
  if (path.empty() || path.front() != '/' || path.ends_with(kDeletedSuffix)) {
    ++failures_;
    return std::nullopt;
  }
  insert(std::move(key), path);
  return path;
}

std::optional<std::uint64_t> DirectoryResolver::inode(const FileId& id) const {
  const auto mount = mounts_.find(id.fsid);
  if (mount == mounts_.end()) return std::nullopt;
  if (auto decoded = inodeInHandle(mount->second.type, id.handle)) return decoded;
  const int fd = open(id);
  if (fd < 0) return std::nullopt;
  struct stat st {};
  const int rc = ::fstat(fd, &st);
  ::close(fd);
  if (rc != 0) return std::nullopt;
  return static_cast<std::uint64_t>(st.st_ino);
}

void DirectoryResolver::insert(std::string key, const std::string& path) {
  if (byKey_.size() >= maxEntries_) clear();  // rare: a huge tree of distinct directories
  // A path cached under another handle belongs to a directory that was replaced unseen.
  if (const auto old = byPath_.find(path); old != byPath_.end()) {
    byKey_.erase(old->second);
    byPath_.erase(old);
  }
  byPath_.emplace(path, key);
  byKey_.emplace(std::move(key), path);
}

void DirectoryResolver::forget(std::string_view path) {
  if (const auto exact = byPath_.find(path); exact != byPath_.end()) {
    byKey_.erase(exact->second);
    byPath_.erase(exact);
  }
  const std::string prefix = path == "/" ? std::string("/") : std::string(path) + "/";
  auto it = byPath_.lower_bound(prefix);
  while (it != byPath_.end() && it->first.starts_with(prefix)) {
    byKey_.erase(it->second);
    it = byPath_.erase(it);
  }
}

void DirectoryResolver::clear() {
  byKey_.clear();
  byPath_.clear();
}

}  // namespace fim::watcher::fanotify
