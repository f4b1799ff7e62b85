#pragma once
// Reading directories by descriptor: EntryReader lists one open directory, walkTree a subtree,
// each directory opened through its parent's descriptor (never through a symlink, at any depth).

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "watcher/open_beneath.h"
#include "watcher/unique_fd.h"

namespace fim::watcher {

inline bool isDot(const char* name) { return name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0)); }

// `path` becomes dir/name, reusing its buffer.
inline void setChildPath(std::string& path, const std::string& dir, std::string_view name) {
  path.assign(dir == "/" ? std::string_view() : std::string_view(dir)).append(1, '/').append(name);
}

// A directory's entries through getdents64 into a buffer the caller reuses: no DIR stream to
// allocate, and none of fdopendir's checks (the directory was opened with O_DIRECTORY).
class EntryReader {
 public:
  EntryReader(int fd, std::vector<char>& buffer) : fd_(fd), buffer_(buffer) {}
  // The next entry; nullptr at the end or on a read error (then error() is its errno).
  const struct dirent64* next() {
    if (at_ >= end_) {
      const ssize_t n = ::getdents64(fd_, buffer_.data(), buffer_.size());
      if (n <= 0) {
        if (n < 0) error_ = errno;
        return nullptr;
      }
      at_ = 0;
      end_ = static_cast<std::size_t>(n);
    }
    const auto* entry = reinterpret_cast<const struct dirent64*>(buffer_.data() + at_);
    at_ += entry->d_reclen;
    return entry;
  }
  int error() const { return error_; }

 private:
  int fd_;
  std::vector<char>& buffer_;
  std::size_t at_ = 0, end_ = 0;
  int error_ = 0;
};

// Calls visit(name, isDirectory) for each entry of the open directory `dir`.
template <typename Visit>
void forEachEntry(int dir, std::vector<char>& buffer, Visit visit) {
  EntryReader entries(dir, buffer);
  while (const auto* entry = entries.next()) {
    if (isDot(entry->d_name)) continue;
    bool isDir = entry->d_type == DT_DIR;
    if (entry->d_type == DT_UNKNOWN) {
      struct stat st {};
      isDir = ::fstatat(dir, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
    }
    visit(std::string_view(entry->d_name), isDir);
  }
}

// Walks the tree below the open directory `top` (which is `topPath`), depth first. enter(fd, path)
// is called for each directory opened, `top` first; when it returns false the directory is not
// read. visit(path, isDirectory) is called for each entry of a directory read; when it returns
// true for a directory, that directory is entered. One descriptor is held per level with
// subdirectories still to enter.
template <typename Enter, typename Visit>
void walkTree(UniqueFd top, const std::string& topPath, std::vector<char>& buffer, Enter enter, Visit visit) {
  struct Pending {
    std::string path;
    SharedDir parent;  // null for the top
  };
  std::vector<Pending> pending{{topPath, nullptr}};
  while (!pending.empty()) {
    const Pending current = std::move(pending.back());
    pending.pop_back();
    UniqueFd opened;
    if (!current.parent) {
      opened = std::move(top);
    } else if (auto sub = openSubdirectory(current.parent->get(), baseName(current.path), current.path)) {
      opened = std::move(*sub);
    }
    if (!opened || !enter(opened.get(), current.path)) continue;  // gone, or swapped for a symlink
    const SharedDir dir = shareDirectory(std::move(opened));
    std::string child;
    forEachEntry(dir->get(), buffer, [&](std::string_view name, bool isDir) {
      setChildPath(child, current.path, name);
      if (visit(child, isDir) && isDir) pending.push_back({child, dir});
    });
  }
}

}  // namespace fim::watcher
