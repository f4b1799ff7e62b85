#pragma once
// Trees deeper than PATH_MAX, made and removed through descriptors: a path that long cannot be
// named in one system call (std::filesystem::remove_all fails on them).

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <utility>
#include <vector>

namespace fim::testing {

// Removes everything in the open directory `dir`, depth first (one descriptor per level).
inline void removeContents(int dir) {
  const int copy = ::fcntl(dir, F_DUPFD_CLOEXEC, 0);
  DIR* stream = copy >= 0 ? ::fdopendir(copy) : nullptr;
  if (stream == nullptr) {
    if (copy >= 0) ::close(copy);
    return;
  }
  std::vector<std::string> names;
  while (const dirent* entry = ::readdir(stream)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(stream);
  for (const auto& name : names) {
    if (::unlinkat(dir, name.c_str(), 0) == 0 || errno != EISDIR) continue;
    const int sub = ::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub >= 0) {
      ::fchmod(sub, 0700);  // a test may have locked it
      removeContents(sub);
      ::close(sub);
    }
    ::unlinkat(dir, name.c_str(), AT_REMOVEDIR);
  }
}

// Removes `path` and everything below it, however deep.
inline void removeTree(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0) {
    removeContents(fd);
    ::close(fd);
  }
  if (::rmdir(path.c_str()) != 0) ::unlink(path.c_str());
}

// `depth` directories named `name`, one inside the other, below `top`; returns the deepest one's
// path. Made through descriptors, so the path may be longer than PATH_MAX.
inline std::string makeChain(const std::string& top, int depth, const std::string& name) {
  int dir = ::open(top.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  std::string path = top;
  for (int i = 0; i < depth && dir >= 0; ++i) {
    ::mkdirat(dir, name.c_str(), 0755);
    const int next = ::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    ::close(dir);
    dir = next;
    path += "/" + name;
  }
  if (dir >= 0) ::close(dir);
  return path;
}

// Writes `content` to the file `name` in the open directory `dir`; false on failure.
inline bool writeAt(int dir, const std::string& name, const std::string& content) {
  const int fd = ::openat(dir, name.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  const bool written = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
  return ::close(fd) == 0 && written;
}

}  // namespace fim::testing
