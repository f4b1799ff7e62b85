#include "watcher/process/proc_connector.h"

// clang-format off
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/connector.h>
// clang-format on
#include <poll.h>
#include <unistd.h>

#include <ctime>

#include <cerrno>
#include <cstring>
#include <string>

namespace fim::watcher::process {
namespace {

constexpr std::size_t kDatagram = 4096;  // one event is under 100 bytes

core::Error openError(const std::string& what, int err) {
  if (err == EPERM || err == EACCES) {
    return core::Error(core::ErrorCode::PermissionDenied,
                       what + ": operation not permitted: the kernel's process events need CAP_NET_ADMIN");
  }
  if (err == EPROTONOSUPPORT || err == ENOENT || err == ECONNREFUSED) {
    // The connector exists in the host's network namespace only.
    return core::Error(core::ErrorCode::Unavailable,
                       what + ": no process events connector here (" + std::strerror(err) +
                           "): fimbeat must run in the host's network namespace, on a kernel built with "
                           "CONFIG_PROC_EVENTS");
  }
  return core::errnoError(what, err);
}

}  // namespace

std::uint64_t monotonicNs() {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<std::uint64_t>(now.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(now.tv_nsec);
}

ProcConnector::~ProcConnector() {
  if (fd_ < 0) return;
  const std::string leave = subscribeMessage(0, false);
  (void)::send(fd_, leave.data(), leave.size(), MSG_DONTWAIT);
  ::close(fd_);
}

core::Status ProcConnector::open(int receiveBuffer) {
  if (fd_ >= 0) return core::fail(core::ErrorCode::Internal, "process events: subscribed twice");
  fd_ = ::socket(PF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_CONNECTOR);
  if (fd_ < 0) return std::unexpected(openError("netlink connector socket", errno));
  // Bursts of short processes must not overflow it while the tracker waits for a CPU.
  if (::setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &receiveBuffer, sizeof(receiveBuffer)) != 0) {
    (void)::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receiveBuffer, sizeof(receiveBuffer));
  }
  sockaddr_nl address{};
  address.nl_family = AF_NETLINK;
  address.nl_groups = CN_IDX_PROC;
  socklen_t length = sizeof(address);
  const char* failed = nullptr;
  int err = 0;
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    failed = "subscribing to the kernel's process events";
    err = errno;
  } else if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    failed = "netlink connector socket";
    err = errno;
  } else {
    const std::string listen = subscribeMessage(address.nl_pid, true);
    if (::send(fd_, listen.data(), listen.size(), 0) < 0) {
      failed = "subscribing to the kernel's process events";
      err = errno;
    }
  }
  if (failed != nullptr) {
    ::close(fd_);
    fd_ = -1;
    return std::unexpected(openError(failed, err));
  }
  buffer_.resize(kDatagram);
  return {};
}

ProcConnector::Received ProcConnector::receive(const std::function<void(const ProcEvent&)>& sink,
                                               std::size_t maxDatagrams) {
  Received received;
  for (std::size_t datagrams = 0; datagrams < maxDatagrams; ++datagrams) {
    const std::uint64_t before = monotonicNs();
    const ssize_t n = ::recv(fd_, buffer_.data(), buffer_.size(), MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == ENOBUFS) {
      received.lost = true;  // the datagrams that did not fit are gone; the socket goes on
      continue;
    }
    if (n <= 0) {
      received.emptyAtNs = before;
      return received;
    }
    parseProcEvents(std::span<const char>(buffer_.data(), static_cast<std::size_t>(n)), [&](const ProcEvent& event) {
      ++received.events;
      sink(event);
    });
  }
  return received;
}

bool ProcConnector::pending() const {
  pollfd ready{fd_, POLLIN, 0};
  return ::poll(&ready, 1, 0) > 0;
}

}  // namespace fim::watcher::process
