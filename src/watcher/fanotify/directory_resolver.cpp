#include "watcher/fanotify/directory_resolver.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <climits>
#include <vector>

#include "watcher/directory_tree.h"
#include "watcher/unique_fd.h"

namespace fim::watcher::fanotify {
namespace {

constexpr std::string_view kDeletedSuffix = " (deleted)";

constexpr int kMaxClimb = 1 << 16;  // levels walked up from a directory whose path is too long to read

// The path of an open object as /proc/self/fd names it; "" when unreadable, and errno says why
// (ENAMETOOLONG: longer than PATH_MAX).
std::string procPath(int fd) {
  const std::string link = "/proc/self/fd/" + std::to_string(fd);
  std::string target(PATH_MAX, '\0');
  const ssize_t n = ::readlink(link.c_str(), target.data(), target.size());
  if (n <= 0 || static_cast<std::size_t>(n) >= target.size()) {
    if (n > 0) errno = ENAMETOOLONG;
    return "";
  }
  target.resize(static_cast<std::size_t>(n));
  return target;
}

// The name under which the directory `child` (device and inode) appears in the open directory `parent`.
std::optional<std::string> nameIn(int parent, const struct stat& child, std::vector<char>& buffer) {
  EntryReader entries(parent, buffer);
  while (const auto* entry = entries.next()) {
    if (isDot(entry->d_name) || entry->d_ino != child.st_ino) continue;
    struct stat st {};
    if (::fstatat(parent, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_ino == child.st_ino &&
        st.st_dev == child.st_dev) {
      return std::string(entry->d_name);
    }
  }
  return std::nullopt;
}

// The handle of the open directory `fd` as fanotify reports it, keyed as FileId::key() is; "" when none.
std::string handleKey(std::uint64_t fsid, int fd) {
  std::vector<std::uint64_t> storage((sizeof(file_handle) + MAX_HANDLE_SZ + 7) / 8);
  auto* handle = reinterpret_cast<file_handle*>(storage.data());
  handle->handle_bytes = MAX_HANDLE_SZ;
  int mountId = 0;
  if (::name_to_handle_at(fd, "", handle, &mountId, AT_EMPTY_PATH) != 0) return "";
  std::string key(sizeof(fsid) + sizeof(file_handle) + handle->handle_bytes, '\0');
  std::memcpy(key.data(), &fsid, sizeof(fsid));
  std::memcpy(key.data() + sizeof(fsid), handle, sizeof(file_handle) + handle->handle_bytes);
  return key;
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

core::Status DirectoryResolver::proveHandles(std::uint64_t fsid, const std::string& path) const {
  const auto mount = mounts_.find(fsid);
  if (mount == mounts_.end()) return core::fail(core::ErrorCode::Internal, "no directory kept for the filesystem of " + path);
  std::vector<std::uint64_t> storage((sizeof(file_handle) + MAX_HANDLE_SZ + 7) / 8);
  auto* handle = reinterpret_cast<file_handle*>(storage.data());
  handle->handle_bytes = MAX_HANDLE_SZ;
  int mountId = 0;
  if (::name_to_handle_at(AT_FDCWD, path.c_str(), handle, &mountId, 0) != 0) {
    return std::unexpected(core::errnoError("name_to_handle_at " + path, errno));
  }
  const UniqueFd fd(::open_by_handle_at(mount->second.fd, handle, O_PATH | O_CLOEXEC));
  if (fd) return {};
  const int err = errno;
  if (err == EPERM) {
    return core::fail(core::ErrorCode::PermissionDenied,
                      "fanotify reports file handles, and opening them (open_by_handle_at on a handle of " + path +
                          ": Operation not permitted) needs CAP_DAC_READ_SEARCH, which this process lacks: "
                          "without it every live change would be lost");
  }
  return core::fail(core::ErrorCode::Unavailable,
                    "open_by_handle_at on a handle of " + path + " failed (" + std::strerror(err) +
                        "): fanotify's file handles cannot be resolved on this filesystem");
}

int DirectoryResolver::open(const FileId& id) const {
  const auto mount = mounts_.find(id.fsid);
  if (mount == mounts_.end()) return -1;
  // The record's handle is only 4-byte aligned inside the read buffer; the kernel wants a struct.
  std::vector<std::uint64_t> aligned((id.handle.size() + 7) / 8);
  std::memcpy(aligned.data(), id.handle.data(), id.handle.size());
  return ::open_by_handle_at(mount->second.fd, reinterpret_cast<file_handle*>(aligned.data()), O_PATH | O_CLOEXEC);
}

core::Result<std::string> DirectoryResolver::directory(const FileId& id) {
  std::string key = id.key();
  if (const auto hit = byKey_.find(key); hit != byKey_.end()) return hit->second;
  ++lookups_;
  if (!mounts_.contains(id.fsid)) {
    ++failures_;
    return core::fail(core::ErrorCode::Internal, "a file handle of a filesystem that is not marked");
  }
  const UniqueFd fd(open(id));
  if (!fd) {
    const int err = errno;
    ++failures_;
    if (err == ESTALE || err == ENOENT) return core::fail(core::ErrorCode::NotFound, "directory deleted");
    if (err == EPERM) {
      return core::fail(core::ErrorCode::PermissionDenied,
                        "open_by_handle_at: Operation not permitted (CAP_DAC_READ_SEARCH is needed)");
    }
    return std::unexpected(core::errnoError("open_by_handle_at", err));
  }
  std::string path = procPath(fd.get());
  if (path.empty() && errno == ENAMETOOLONG) path = climb(id.fsid, fd.get());
  if (path.ends_with(kDeletedSuffix)) {
    ++failures_;
    return core::fail(core::ErrorCode::NotFound, "directory deleted");
  }
  if (path.empty() || path.front() != '/') {
    ++failures_;
    return core::fail(core::ErrorCode::Unavailable,
                      "the directory is not reachable from the mount fimbeat resolves handles through" +
                          (path.empty() ? std::string() : " (" + path + ")"));
  }
  insert(std::move(key), path);
  return path;
}

// Past PATH_MAX the kernel names no path: the directory's ancestors are climbed through ".."
// (each found by its inode in its parent's listing) up to one whose path is cached or short
// enough for the kernel to name, and the names climbed are appended to that path.
std::string DirectoryResolver::climb(std::uint64_t fsid, int fd) const {
  std::vector<std::string> names;  // from the directory up
  std::vector<char> buffer(32 * 1024);
  UniqueFd current(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
  for (int level = 0; current && level < kMaxClimb; ++level) {
    struct stat st {};
    UniqueFd parent(::openat(current.get(), "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!parent || ::fstat(current.get(), &st) != 0) return "";
    auto name = nameIn(parent.get(), st, buffer);
    if (!name) return "";  // moved meanwhile, or a mount point
    names.push_back(std::move(*name));
    current = std::move(parent);
    std::string path;
    if (const auto hit = byKey_.find(handleKey(fsid, current.get())); hit != byKey_.end()) {
      path = hit->second;
    } else {
      path = procPath(current.get());
      if (path.empty() && errno != ENAMETOOLONG) return "";
      if (path.empty()) continue;
    }
    for (auto it = names.rbegin(); it != names.rend(); ++it) {
      if (path != "/") path += '/';
      path += *it;
    }
    return path;
  }
  return "";
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

std::optional<std::uint64_t> DirectoryResolver::entryInode(const FileId& dir) const {
  const UniqueFd fd(open(dir));
  if (!fd) return std::nullopt;
  const bool self = dir.name.empty() || dir.name == ".";
  const std::string name(self ? std::string_view() : dir.name);
  struct stat st {};
  if (::fstatat(fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW | (self ? AT_EMPTY_PATH : 0)) != 0) return std::nullopt;
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
