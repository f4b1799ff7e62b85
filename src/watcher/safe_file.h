#pragma once
// SafeFile: a read-only fd on a regular file that never follows a symlink and never blocks on open.

#include <sys/stat.h>

#include <cstddef>
#include <span>
#include <string>

#include "core/result.h"
#include "watcher/open_beneath.h"

namespace fim::watcher {

class SafeFile {
 public:
  // Opens `at` (relative to its directory's descriptor) for reading without touching its atime
  // (where permitted). FIFOs, sockets, devices and directories are refused ("not a regular
  // file"), a symlink too: none is ever read.
  [[nodiscard]] static core::Result<SafeFile> openForRead(const PathAt& at);

  SafeFile(SafeFile&& other) noexcept;
  SafeFile& operator=(SafeFile&& other) noexcept;
  SafeFile(const SafeFile&) = delete;
  SafeFile& operator=(const SafeFile&) = delete;
  ~SafeFile();

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  // fstat taken right after the open.
  const struct stat& stat() const { return stat_; }

  // fstat now; the stored stat() is left as it was.
  [[nodiscard]] core::Result<struct stat> statNow() const;

  // Back to the first byte, to read the file again.
  [[nodiscard]] core::Status rewind();

  // Up to buffer.size() bytes; 0 at end of file. Retries on EINTR.
  [[nodiscard]] core::Result<std::size_t> read(std::span<std::byte> buffer);

 private:
  SafeFile(int fd, const struct stat& st, std::string path);
  void close();

  int fd_ = -1;
  struct stat stat_ {};
  std::string path_;
};

}  // namespace fim::watcher
