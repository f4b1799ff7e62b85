#pragma once
// LockHolder: a child process that holds a POSIX write lock on the whole file, as dpkg holds its
// lock and rpm its .rpm.lock during a transaction, until released.

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include <doctest/doctest.h>

namespace fim::testing {

class LockHolder {
 public:
  explicit LockHolder(const std::string& lockPath) {
    int ready[2], release[2];
    REQUIRE(::pipe(ready) == 0);
    REQUIRE(::pipe(release) == 0);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::close(release[1]);  // else the read below never sees the parent close its end
      ::close(ready[0]);
      const int fd = ::open(lockPath.c_str(), O_RDWR | O_CREAT, 0640);
      struct flock lock {};
      lock.l_type = F_WRLCK;
      lock.l_whence = SEEK_SET;
      const char ok = fd >= 0 && ::fcntl(fd, F_SETLK, &lock) == 0 ? '1' : '0';
      (void)!::write(ready[1], &ok, 1);
      char byte;
      (void)!::read(release[0], &byte, 1);
      ::_exit(0);
    }
    ::close(ready[1]);
    ::close(release[0]);
    releaseFd_ = release[1];
    char ok = '0';
    REQUIRE(::read(ready[0], &ok, 1) == 1);
    ::close(ready[0]);
    REQUIRE(ok == '1');
  }
  ~LockHolder() { release(); }
  void release() {
    if (pid_ <= 0) return;
    ::close(releaseFd_);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
  int releaseFd_ = -1;
};

}  // namespace fim::testing
