#include "watcher/realtime/change_backend.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/logging.h"

namespace fim::watcher {

void ChangeBackend::run(std::stop_token stop, const ChangeSink& sink) {
  const int wake = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  std::stop_callback onStop(stop, [wake] {
    const std::uint64_t one = 1;
    if (wake >= 0) (void)!::write(wake, &one, sizeof one);
  });
  // Without an eventfd the stop request is noticed on a short poll timeout instead.
  const int timeoutMs = wake >= 0 ? -1 : 100;
  readReady(sink);
  while (!stop.stop_requested()) {
    pollfd fds[2] = {{fd(), POLLIN, 0}, {wake, POLLIN, 0}};
    if (::poll(fds, wake >= 0 ? 2 : 1, timeoutMs) < 0) {
      if (errno == EINTR) continue;
      core::logger("watcher").error("{}: waiting for events failed, real-time events stop: {}", name(),
                                    std::strerror(errno));
      break;
    }
    if (fds[0].revents & POLLIN) readReady(sink);
  }
  if (wake >= 0) ::close(wake);
}

}  // namespace fim::watcher
