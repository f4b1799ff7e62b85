#pragma once
// UniqueFd: one open descriptor, closed when it goes; SharedDir: a directory's, shared by what is
// queued below it.

#include <unistd.h>

#include <memory>
#include <utility>

namespace fim::watcher {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(std::exchange(other.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  // Read-only descriptors only: close() has nothing to flush, so no error to report.
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// An open directory that the scan's pending subdirectories and files are opened through; it
// closes when the last of them has been opened. Shared ownership is the point: a directory's
// descriptor must live exactly as long as something below it still waits to be read.
using SharedDir = std::shared_ptr<const UniqueFd>;

inline SharedDir shareDirectory(UniqueFd fd) { return std::make_shared<const UniqueFd>(std::move(fd)); }

}  // namespace fim::watcher
