#pragma once
// The kernel's process events (the netlink proc connector, linux/cn_proc.h): the messages a
// subscriber sends and receives, as plain values, so they can be table-tested.

#include <cstdint>
#include <functional>
#include <span>
#include <string>

namespace fim::watcher::process {

// One process event. Pids are the kernel's: `pid` is the thread, `tgid` the process.
struct ProcEvent {
  enum class Kind { Fork, Exec, Exit, Uid, Gid, Ack, Other };
  Kind kind = Kind::Other;
  std::int32_t pid = 0;
  std::int32_t tgid = 0;
  std::int32_t parentTgid = 0;  // Fork: the process that forked
  std::uint32_t effectiveId = 0;  // Uid, Gid: the new effective id
  std::uint32_t error = 0;        // Ack: the errno of a (un)subscription, 0 when it was taken
  std::uint64_t timestampNs = 0;  // when it happened, CLOCK_MONOTONIC
  bool operator==(const ProcEvent&) const = default;

  // A new process (not a thread), a process's exec, a process's end: thread events say nothing
  // about who a process is.
  bool ofProcess() const { return pid == tgid; }
};

// The netlink message that subscribes to (listen) or leaves (!listen) the process events, sent
// from `portId` (the socket's bound port).
std::string subscribeMessage(std::uint32_t portId, bool listen);

// Every process event in `datagram` (one recv(2) of the socket), in order. Messages of other
// connectors and truncated ones are skipped; the count of those is returned.
std::size_t parseProcEvents(std::span<const char> datagram, const std::function<void(const ProcEvent&)>& sink);

}  // namespace fim::watcher::process
