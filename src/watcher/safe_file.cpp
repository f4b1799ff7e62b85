#include "watcher/safe_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace fim::watcher {
namespace {

core::Error symlinkError(const std::string& path) {
  return core::Error(core::ErrorCode::InvalidArgument, path + ": is a symlink (not followed)");
}

core::Error notRegularError(const std::string& path) {
  return core::Error(core::ErrorCode::InvalidArgument, path + ": not a regular file");
}

}  // namespace

core::Result<SafeFile> SafeFile::openForRead(const PathAt& at) {
  const std::string path(at.path);
  // Callers pass paths that lstat just reported as regular files. Should a FIFO take the file's
  // place meanwhile, O_NONBLOCK keeps its open from waiting for a writer and the fstat below
  // refuses to read it; a device node cannot be slipped in without root (mknod needs
  // CAP_MKNOD, and protected_hardlinks stops linking someone else's node).
  constexpr int kFlags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
  int fd = ::openat(at.dir, at.name, kFlags | O_NOATIME);
  if (fd < 0 && errno == EPERM) fd = ::openat(at.dir, at.name, kFlags);  // O_NOATIME needs ownership
  if (fd < 0) {
    if (errno == ELOOP) return std::unexpected(symlinkError(path));
    return std::unexpected(core::errnoError(path, errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return std::unexpected(core::errnoError(path, err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return std::unexpected(notRegularError(path));
  }
  return SafeFile(fd, st, path);
}

SafeFile::SafeFile(int fd, const struct stat& st, std::string path) : fd_(fd), stat_(st), path_(std::move(path)) {}

SafeFile::SafeFile(SafeFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), stat_(other.stat_), path_(std::move(other.path_)) {}

SafeFile& SafeFile::operator=(SafeFile&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    stat_ = other.stat_;
    path_ = std::move(other.path_);
  }
  return *this;
}

SafeFile::~SafeFile() { close(); }

void SafeFile::close() {
  if (fd_ >= 0) ::close(fd_);  // read-only: nothing to flush, so no error to report
  fd_ = -1;
}

core::Result<struct stat> SafeFile::statNow() const {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return std::unexpected(core::errnoError(path_, errno));
  return st;
}

core::Status SafeFile::rewind() {
  if (::lseek(fd_, 0, SEEK_SET) != 0) return std::unexpected(core::errnoError(path_, errno));
  return {};
}

core::Result<std::size_t> SafeFile::read(std::span<std::byte> buffer) {
  while (true) {
    ssize_t n = ::read(fd_, buffer.data(), buffer.size());
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EINTR) return std::unexpected(core::errnoError(path_, errno));
  }
}

}  // namespace fim::watcher
