#pragma once
// ChildProcess: a real process for the process-reader and fanotify tests. Its stdin is a pipe the
// test holds, so a child that ends by reading stdin stays alive (and readable in /proc) until
// the test releases it.

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <vector>

namespace fim::testing {

class ChildProcess {
 public:
  struct Options {
    std::string cwd;                // "" keeps the test's
    std::optional<uid_t> uid;       // switch to this user (and gid) before exec
    std::optional<gid_t> gid;
  };

  explicit ChildProcess(const std::vector<std::string>& argv, const Options& options = {}) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {  // only async-signal-safe calls from here: the test runs other threads
      ::dup2(fds[0], 0);
      if (!options.cwd.empty() && ::chdir(options.cwd.c_str()) != 0) ::_exit(126);
      if (options.gid && ::setgid(*options.gid) != 0) ::_exit(126);
      if (options.uid && ::setuid(*options.uid) != 0) ::_exit(126);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(fds[0]);
    stdin_ = fds[1];
  }
  ~ChildProcess() { (void)release(); }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool started() const { return pid_ > 0; }

  // Writes a line to the child's stdin: lets a child wait for the test between steps.
  bool tell(const std::string& line) {
    const std::string text = line + "\n";
    return stdin_ >= 0 && ::write(stdin_, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  }

  // Closes the child's stdin and reaps it; its exit status, or -1 when it did not exit normally.
  int release() {
    if (stdin_ >= 0) ::close(stdin_);
    stdin_ = -1;
    if (pid_ <= 0 || reaped_) return status_;
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return status_;
  }

 private:
  pid_t pid_ = -1;
  int stdin_ = -1;
  bool reaped_ = false;
  int status_ = -1;
};

}  // namespace fim::testing
