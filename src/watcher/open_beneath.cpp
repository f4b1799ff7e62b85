#include "watcher/open_beneath.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>

#include "core/paths.h"

namespace fim::watcher {
namespace {

constexpr int kDirectoryFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
constexpr std::size_t kMaxArgument = PATH_MAX - 1;  // bytes of one system call's path, without its NUL

// Cleared the first time the kernel (or a seccomp filter) refuses openat2: one openat per component then.
std::atomic<bool> openat2Usable{true};

core::Error openError(std::string_view path, int err) {
  return core::errnoError("opening directory " + std::string(path), err);
}

// Why `name` in `dir` could not be opened as a directory: a symlink is named as one.
core::Error componentError(int dir, const char* name, std::string_view path, int err) {
  struct stat st {};
  if ((err == ENOTDIR || err == ELOOP) && ::fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
    return core::Error(core::ErrorCode::NotFound, std::string(path) + ": is a symlink (not followed)");
  }
  return openError(path, err);
}

int openat2Beneath(int dir, const char* relative) {
  open_how how {};
  how.flags = kDirectoryFlags;
  how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_BENEATH;
  return static_cast<int>(::syscall(SYS_openat2, dir, relative, &how, sizeof how));
}

// Where the longest run of whole components from `at` that fits one system call ends.
std::size_t chunkEnd(std::string_view path, std::size_t at) {
  if (path.size() - at <= kMaxArgument) return path.size();
  const std::size_t slash = path.rfind('/', at + kMaxArgument);
  return slash == std::string_view::npos || slash <= at ? path.find('/', at) : slash;  // a name is <= NAME_MAX
}

// path[at, end) below `base`, one component at a time.
core::Result<UniqueFd> openComponents(int base, std::string_view path, std::size_t at, std::size_t end) {
  UniqueFd current;
  std::string name;
  while (at < end) {
    std::size_t next = path.find('/', at);
    if (next == std::string_view::npos || next > end) next = end;
    name.assign(path.substr(at, next - at));
    at = next + 1;
    if (name.empty() || name == ".") continue;
    const std::string_view prefix = path.substr(0, next);
    if (name == "..") return std::unexpected(openError(prefix, EXDEV));  // never above where it started
    const int from = current ? current.get() : base;
    const int fd = ::openat(from, name.c_str(), kDirectoryFlags);
    if (fd < 0) return std::unexpected(componentError(from, name.c_str(), prefix, errno));
    current.reset(fd);
  }
  if (!current) current.reset(::openat(base, ".", kDirectoryFlags));
  if (!current) return std::unexpected(openError(path.substr(0, end), errno));
  return current;
}

}  // namespace

const char* baseName(const std::string& path) {
  if (path == "/") return ".";
  return path.c_str() + (path.rfind('/') + 1);  // npos + 1 == 0: a bare name is its own
}

std::string_view parentPath(std::string_view path) {
  const auto slash = path.rfind('/');
  return slash == 0 || slash == std::string_view::npos ? std::string_view("/") : path.substr(0, slash);
}

core::Result<UniqueFd> openSubdirectory(int dir, const char* name, std::string_view path) {
  const int fd = ::openat(dir, name, kDirectoryFlags);
  if (fd < 0) return std::unexpected(componentError(dir, name, path, errno));
  return UniqueFd(fd);
}

core::Result<UniqueFd> openDirectoryBelow(int dir, std::string_view path, std::size_t below) {
  UniqueFd current;
  std::string chunk;
  std::size_t at = below;
  while (at < path.size() && path[at] == '/') ++at;
  if (at >= path.size()) return openComponents(dir, path, at, at);
  while (at < path.size()) {
    const int base = current ? current.get() : dir;
    const std::size_t end = chunkEnd(path, at);
    int fd = -1;
    if (openat2Usable.load(std::memory_order_relaxed)) {
      chunk.assign(path.substr(at, end - at));
      fd = openat2Beneath(base, chunk.c_str());
      if (fd < 0 && (errno == ENOSYS || errno == EPERM || errno == E2BIG)) openat2Usable = false;
    }
    if (fd < 0) {  // also for a failed openat2: one component at a time names the one at fault
      auto opened = openComponents(base, path, at, end);
      if (!opened) return std::unexpected(opened.error());
      current = std::move(*opened);
    } else {
      current.reset(fd);
    }
    at = end + 1;
  }
  return current;
}

core::Result<UniqueFd> openDirectoryUnder(std::string_view top, std::string_view path) {
  if (!core::isWithin(path, top)) {
    return core::fail(core::ErrorCode::InvalidArgument, std::string(path) + " is not under " + std::string(top));
  }
  UniqueFd topFd(::open(std::string(top).c_str(), kDirectoryFlags));
  if (!topFd) return std::unexpected(openError(top, errno));
  if (path.size() == top.size()) return topFd;
  return openDirectoryBelow(topFd.get(), path, top.size());
}

core::Result<OpenParent> openParentUnder(std::string_view top, std::string path) {
  OpenParent parent;
  if (path == top) {
    const std::string above(parentPath(top));
    parent.dir.reset(::open(above.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!parent.dir) return std::unexpected(openError(above, errno));
  } else {
    auto dir = openDirectoryUnder(top, parentPath(path));
    if (!dir) return std::unexpected(dir.error());
    parent.dir = std::move(*dir);
  }
  parent.path = std::move(path);
  return parent;
}

}  // namespace fim::watcher
