#pragma once
// ProcConnector: a netlink socket subscribed to the kernel's process events (fork, exec, exit,
// setuid): NETLINK_CONNECTOR, CN_IDX_PROC. Needs CAP_NET_ADMIN and the initial pid namespace.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "core/result.h"
#include "watcher/process/proc_events.h"

namespace fim::watcher::process {

// CLOCK_MONOTONIC in nanoseconds, the clock of the events' timestamps.
std::uint64_t monotonicNs();

class ProcConnector {
 public:
  ProcConnector() = default;
  ~ProcConnector();
  ProcConnector(const ProcConnector&) = delete;
  ProcConnector& operator=(const ProcConnector&) = delete;

  // Opens the socket with a receive buffer of `receiveBuffer` bytes (more than the system's
  // limit when privileged) and subscribes. PermissionDenied without CAP_NET_ADMIN, Unavailable
  // when the kernel has no process events connector.
  [[nodiscard]] core::Status open(int receiveBuffer);

  int fd() const { return fd_; }

  struct Received {
    std::size_t events = 0;
    bool lost = false;  // the socket's buffer overflowed since the last read: events are missing
    // When the socket was found empty (CLOCK_MONOTONIC ns, taken before the read that said so):
    // every event queued before then was handed over. 0: stopped at `maxDatagrams`, more may wait.
    std::uint64_t emptyAtNs = 0;
  };

  // Reads what is queued, without waiting, handing each event to `sink`; at most `maxDatagrams`.
  Received receive(const std::function<void(const ProcEvent&)>& sink, std::size_t maxDatagrams);

  // Whether events wait to be read.
  bool pending() const;

 private:
  int fd_ = -1;
  std::vector<char> buffer_;
};

}  // namespace fim::watcher::process
