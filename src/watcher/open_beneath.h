#pragma once
// Paths below a watched root are never looked up whole: each directory is opened relative to
// its parent's descriptor, never through a symlink, and a file is stat()ed, opened or read
// relative to its directory's descriptor. A path of any length is then reachable (PATH_MAX
// bounds one system call's argument, not a file's path), and a parent directory swapped for a
// symlink cannot lead a read outside the tree.

#include <string>
#include <string_view>

#include "core/result.h"
#include "watcher/unique_fd.h"

namespace fim::watcher {

// One path as the kernel is asked about it: the open directory that holds it and its name
// there. `path` is the full path, for messages and events only: it is never looked up.
struct PathAt {
  int dir = -1;
  const char* name = ".";  // one component, NUL-terminated; "." for "/"
  std::string_view path;
};

// The last component of an absolute path, NUL-terminated inside `path` ("." for "/").
const char* baseName(const std::string& path);
// "/a" of "/a/x"; "/" of "/x" and of "/".
std::string_view parentPath(std::string_view path);

// Opens one entry of the open directory `dir` as a directory, never through a symlink.
[[nodiscard]] core::Result<UniqueFd> openSubdirectory(int dir, const char* name, std::string_view path);

// Opens path.substr(below) below the open directory `dir` (which is path.substr(0, below)), a
// few components per openat2(RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH) where the kernel has it,
// else one per openat(O_NOFOLLOW | O_DIRECTORY). A symlink anywhere below `dir` fails the open.
[[nodiscard]] core::Result<UniqueFd> openDirectoryBelow(int dir, std::string_view path, std::size_t below);

// Opens the directory `path`, which is `top` or below it. `top` (a configured root, made
// canonical) is opened as configured: symlinks above it are the administrator's and followed,
// `top` itself is not; what lies below it is opened as openDirectoryBelow does.
[[nodiscard]] core::Result<UniqueFd> openDirectoryUnder(std::string_view top, std::string_view path);

// The open directory that holds a path, and the path.
struct OpenParent {
  UniqueFd dir;
  std::string path;
  PathAt at() const { return PathAt{dir.get(), baseName(path), path}; }
};

// The directory holding `path` (`top` or below it), opened as openDirectoryUnder does; for `top`
// itself its parent, opened as configured.
[[nodiscard]] core::Result<OpenParent> openParentUnder(std::string_view top, std::string path);

}  // namespace fim::watcher
