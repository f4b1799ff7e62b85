#include "watcher/process/proc_events.h"

// clang-format off
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/connector.h>
#include <linux/cn_proc.h>
// clang-format on

#include <cstring>

namespace fim::watcher::process {
namespace {

ProcEvent toEvent(const proc_event& raw) {
  ProcEvent event;
  event.timestampNs = raw.timestamp_ns;
  switch (raw.what) {
    case proc_event::PROC_EVENT_FORK:
      event.kind = ProcEvent::Kind::Fork;
      event.pid = raw.event_data.fork.child_pid;
      event.tgid = raw.event_data.fork.child_tgid;
      event.parentTgid = raw.event_data.fork.parent_tgid;
      break;
    case proc_event::PROC_EVENT_EXEC:
      event.kind = ProcEvent::Kind::Exec;
      event.pid = raw.event_data.exec.process_pid;
      event.tgid = raw.event_data.exec.process_tgid;
      break;
    case proc_event::PROC_EVENT_EXIT:
      event.kind = ProcEvent::Kind::Exit;
      event.pid = raw.event_data.exit.process_pid;
      event.tgid = raw.event_data.exit.process_tgid;
      event.parentTgid = raw.event_data.exit.parent_tgid;
      break;
    case proc_event::PROC_EVENT_UID:
    case proc_event::PROC_EVENT_GID:
      event.kind = raw.what == proc_event::PROC_EVENT_UID ? ProcEvent::Kind::Uid : ProcEvent::Kind::Gid;
      event.pid = raw.event_data.id.process_pid;
      event.tgid = raw.event_data.id.process_tgid;
      event.effectiveId = raw.event_data.id.e.euid;
      break;
    case proc_event::PROC_EVENT_NONE:
      event.kind = ProcEvent::Kind::Ack;
      event.error = raw.event_data.ack.err;
      break;
    default:
      break;
  }
  return event;
}

}  // namespace

std::string subscribeMessage(std::uint32_t portId, bool listen) {
  const proc_cn_mcast_op op = listen ? PROC_CN_MCAST_LISTEN : PROC_CN_MCAST_IGNORE;
  std::string message(NLMSG_SPACE(sizeof(cn_msg) + sizeof(op)), '\0');
  nlmsghdr header{};
  header.nlmsg_len = NLMSG_LENGTH(sizeof(cn_msg) + sizeof(op));
  header.nlmsg_type = NLMSG_DONE;
  header.nlmsg_pid = portId;
  cn_msg connector{};
  connector.id.idx = CN_IDX_PROC;
  connector.id.val = CN_VAL_PROC;
  connector.len = sizeof(op);
  std::memcpy(message.data(), &header, sizeof(header));
  std::memcpy(message.data() + NLMSG_HDRLEN, &connector, sizeof(connector));
  std::memcpy(message.data() + NLMSG_HDRLEN + sizeof(cn_msg), &op, sizeof(op));
  message.resize(header.nlmsg_len);
  return message;
}

std::size_t parseProcEvents(std::span<const char> datagram, const std::function<void(const ProcEvent&)>& sink) {
  std::size_t skipped = 0;
  const char* at = datagram.data();
  std::size_t left = datagram.size();
  while (left >= NLMSG_HDRLEN) {
    nlmsghdr header;
    std::memcpy(&header, at, sizeof(header));
    if (header.nlmsg_len < NLMSG_HDRLEN || header.nlmsg_len > left) {
      ++skipped;  // a truncated datagram: nothing after it can be trusted
      break;
    }
    const std::size_t payload = header.nlmsg_len - NLMSG_HDRLEN;
    const char* data = at + NLMSG_HDRLEN;
    cn_msg connector;
    if (header.nlmsg_type == NLMSG_NOOP || header.nlmsg_type == NLMSG_ERROR) {
      // Not an event: a netlink acknowledgement or filler.
    } else if (payload < sizeof(cn_msg)) {
      ++skipped;
    } else if (std::memcpy(&connector, data, sizeof(connector)),
               connector.id.idx != CN_IDX_PROC || connector.id.val != CN_VAL_PROC) {
      ++skipped;
    } else if (connector.len < offsetof(proc_event, event_data) || sizeof(cn_msg) + connector.len > payload) {
      ++skipped;
    } else {
      proc_event raw{};  // a shorter event (an older kernel's) leaves the rest zero
      std::memcpy(&raw, data + sizeof(cn_msg), std::min<std::size_t>(connector.len, sizeof(raw)));
      sink(toEvent(raw));
    }
    const std::size_t step = NLMSG_ALIGN(header.nlmsg_len);
    if (step >= left) break;
    at += step;
    left -= step;
  }
  return skipped;
}

}  // namespace fim::watcher::process
