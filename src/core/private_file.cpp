#include "core/private_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

namespace fim::core {
namespace {

Status writeAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::unexpected(errnoError("writing " + path, errno));
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

Result<std::string> readAll(int fd, const std::string& path, std::size_t maxBytes) {
  std::string text;
  char buffer[4096];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n == 0) return text;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::unexpected(errnoError("reading " + path, errno));
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > maxBytes) return failf(ErrorCode::InvalidArgument, "{} is larger than {} bytes", path, maxBytes);
  }
}

}  // namespace

Result<std::optional<std::string>> readPrivateFile(const std::string& path, std::size_t maxBytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    if (errno == ELOOP) return fail(ErrorCode::PermissionDenied, path + " is a symlink; refusing to follow it: remove it");
    return std::unexpected(errnoError("opening " + path, errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail(ErrorCode::InvalidArgument, path + " is not a regular file: remove it");
  }
  auto text = readAll(fd, path, maxBytes);
  ::close(fd);
  if (!text) return std::unexpected(text.error());
  return std::optional<std::string>(std::move(*text));
}

Status writePrivateFile(const std::string& path, std::string_view data, mode_t mode) {
  const std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());  // a leftover of a crash between create and rename
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) return std::unexpected(errnoError("creating " + tmp, errno));
  Status status = writeAll(fd, data, tmp);
  if (status && ::fchmod(fd, mode) != 0) status = std::unexpected(errnoError("setting the mode of " + tmp, errno));
  if (status && ::fsync(fd) != 0) status = std::unexpected(errnoError("syncing " + tmp, errno));
  ::close(fd);
  if (status && ::rename(tmp.c_str(), path.c_str()) != 0) {
    status = std::unexpected(errnoError("renaming " + tmp + " to " + path, errno));
  }
  if (!status) {
    ::unlink(tmp.c_str());
    return status;
  }
  const std::string dir = std::filesystem::path(path).parent_path().string();
  if (const int dirFd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dirFd >= 0) {
    ::fsync(dirFd);  // the rename itself; a failure here leaves a valid file either way
    ::close(dirFd);
  }
  return {};
}

Status ensureDirectory(const std::string& dir, mode_t mode) {
  const std::string what = "creating directory " + dir;
  for (std::size_t pos = 1;; ++pos) {
    pos = dir.find('/', pos);
    const std::string prefix = dir.substr(0, pos);
    if (!prefix.empty() && ::mkdir(prefix.c_str(), mode) != 0 && errno != EEXIST) {
      return std::unexpected(errnoError(what, errno));
    }
    if (pos == std::string::npos) break;
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return std::unexpected(errnoError(what, errno));
  if (!S_ISDIR(st.st_mode)) return failf(ErrorCode::InvalidArgument, "{}: exists and is not a directory", what);
  return {};
}

}  // namespace fim::core
