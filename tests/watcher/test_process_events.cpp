// The pure parts of who-data tracking: the kernel's process event messages and the checks of
// what fimbeat may read of other processes.

#include <doctest/doctest.h>

// clang-format off
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/connector.h>
#include <linux/cn_proc.h>
// clang-format on

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "watcher/process/proc_access.h"
#include "watcher/process/proc_events.h"

using namespace fim::watcher::process;

namespace {

// One netlink message as the kernel sends it: header, connector header, event (of `length` bytes).
std::string message(const proc_event& event, cb_id id = {CN_IDX_PROC, CN_VAL_PROC},
                    std::size_t length = sizeof(proc_event)) {
  std::string out(NLMSG_SPACE(sizeof(cn_msg) + length), '\0');
  nlmsghdr header{};
  header.nlmsg_len = NLMSG_LENGTH(sizeof(cn_msg) + length);
  header.nlmsg_type = NLMSG_DONE;
  cn_msg connector{};
  connector.id = id;
  connector.len = static_cast<__u16>(length);
  std::memcpy(out.data(), &header, sizeof(header));
  std::memcpy(out.data() + NLMSG_HDRLEN, &connector, sizeof(connector));
  std::memcpy(out.data() + NLMSG_HDRLEN + sizeof(cn_msg), &event, std::min(length, sizeof(event)));
  return out;
}

proc_event forkEvent(int parent, int child, int childTgid) {
  proc_event e{};
  e.what = proc_event::PROC_EVENT_FORK;
  e.timestamp_ns = 111;
  e.event_data.fork = {parent, parent, child, childTgid};
  return e;
}

proc_event execEvent(int pid) {
  proc_event e{};
  e.what = proc_event::PROC_EVENT_EXEC;
  e.timestamp_ns = 222;
  e.event_data.exec = {pid, pid};
  return e;
}

std::vector<ProcEvent> parse(const std::string& datagram, std::size_t* skipped = nullptr) {
  std::vector<ProcEvent> events;
  const std::size_t n = parseProcEvents(datagram, [&](const ProcEvent& e) { events.push_back(e); });
  if (skipped) *skipped = n;
  return events;
}

}  // namespace

TEST_CASE("process events: fork, exec, exit, setuid and an acknowledgement, from netlink messages") {
  proc_event exit{};
  exit.what = proc_event::PROC_EVENT_EXIT;
  exit.event_data.exit.process_pid = 301;
  exit.event_data.exit.process_tgid = 300;
  exit.event_data.exit.parent_tgid = 1;
  proc_event uid{};
  uid.what = proc_event::PROC_EVENT_UID;
  uid.event_data.id.process_pid = 300;
  uid.event_data.id.process_tgid = 300;
  uid.event_data.id.r.ruid = 1000;
  uid.event_data.id.e.euid = 33;
  proc_event ack{};
  ack.what = proc_event::PROC_EVENT_NONE;
  ack.event_data.ack.err = EPERM;

  // Several messages in one datagram, each aligned.
  const auto events = parse(message(forkEvent(100, 200, 200)) + message(execEvent(200)) + message(exit) + message(uid) +
                            message(ack));
  REQUIRE(events.size() == 5);
  CHECK(events[0] == ProcEvent{.kind = ProcEvent::Kind::Fork, .pid = 200, .tgid = 200, .parentTgid = 100,
                               .timestampNs = 111});
  CHECK(events[0].ofProcess());
  CHECK(events[1] == ProcEvent{.kind = ProcEvent::Kind::Exec, .pid = 200, .tgid = 200, .timestampNs = 222});
  CHECK(events[2].kind == ProcEvent::Kind::Exit);
  CHECK(events[2].tgid == 300);
  CHECK_FALSE(events[2].ofProcess());  // a thread of 300 ended
  CHECK(events[3].kind == ProcEvent::Kind::Uid);
  CHECK(events[3].effectiveId == 33u);
  CHECK(events[4].kind == ProcEvent::Kind::Ack);
  CHECK(events[4].error == static_cast<std::uint32_t>(EPERM));

  // A new thread is a fork whose child is not a process of its own.
  CHECK_FALSE(parse(message(forkEvent(100, 201, 100)))[0].ofProcess());
}

TEST_CASE("process events: other connectors, short and truncated messages are skipped, not misread") {
  std::size_t skipped = 0;
  CHECK(parse(message(execEvent(5), {CN_IDX_PROC + 1, CN_VAL_PROC}), &skipped).empty());
  CHECK(skipped == 1);
  // An event shorter than its header is skipped; one shorter than today's (an older kernel's) is read.
  CHECK(parse(message(execEvent(5), {CN_IDX_PROC, CN_VAL_PROC}, 4), &skipped).empty());
  CHECK(skipped == 1);
  const auto older = parse(message(execEvent(5), {CN_IDX_PROC, CN_VAL_PROC}, offsetof(proc_event, event_data) + 8));
  REQUIRE(older.size() == 1);
  CHECK(older[0].tgid == 5);
  // A datagram cut in the middle of its second message: the first is read.
  const std::string two = message(execEvent(6)) + message(execEvent(7));
  CHECK(parse(two.substr(0, two.size() - 10), &skipped).size() == 1);
  CHECK(skipped == 1);
  CHECK(parse("").empty());
}

TEST_CASE("process events: the subscription message asks the process connector to listen or to stop") {
  for (const bool listen : {true, false}) {
    const std::string m = subscribeMessage(4242, listen);
    REQUIRE(m.size() == NLMSG_LENGTH(sizeof(cn_msg) + sizeof(proc_cn_mcast_op)));
    nlmsghdr header;
    std::memcpy(&header, m.data(), sizeof(header));
    CHECK(header.nlmsg_len == m.size());
    CHECK(header.nlmsg_pid == 4242u);
    cn_msg connector;
    std::memcpy(&connector, m.data() + NLMSG_HDRLEN, sizeof(connector));
    CHECK(connector.id.idx == CN_IDX_PROC);
    CHECK(connector.id.val == CN_VAL_PROC);
    CHECK(connector.len == sizeof(proc_cn_mcast_op));
    proc_cn_mcast_op op;
    std::memcpy(&op, m.data() + NLMSG_HDRLEN + sizeof(cn_msg), sizeof(op));
    CHECK(op == (listen ? PROC_CN_MCAST_LISTEN : PROC_CN_MCAST_IGNORE));
  }
}

TEST_CASE("proc access: the effective capabilities from a status file") {
  const std::string status = "Name:\tfimbeat\nCapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\n"
                             "CapEff:\t000001fffff7ffff\nCapBnd:\t000001ffffffffff\n";
  const std::uint64_t caps = parseEffectiveCapabilities(status);
  CHECK(caps == 0x000001fffff7ffffull);
  CHECK(((caps >> kCapSysPtrace) & 1u) == 0);
  CHECK(parseEffectiveCapabilities("Name:\tx\n") == 0);
}

TEST_CASE("proc access: hidepid of the proc mounted at the root asked for, the last mount winning") {
  const std::string mountinfo =
      "22 1 0:21 / /sys rw,nosuid - sysfs sysfs rw\n"
      "23 1 0:22 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n"
      "40 23 0:35 / /proc/sys/fs/binfmt_misc rw,relatime shared:20 - binfmt_misc binfmt_misc rw\n";
  CHECK(parseHidePid(mountinfo, "/proc").empty());
  CHECK(parseHidePid(mountinfo + "60 23 0:50 / /proc rw,relatime - proc proc rw,hidepid=invisible,gid=4\n", "/proc") ==
        "invisible");
  CHECK(parseHidePid(mountinfo + "60 23 0:50 / /proc rw,relatime - proc proc rw,hidepid=2\n", "/proc") == "2");
  CHECK(parseHidePid(mountinfo + "60 23 0:50 / /proc rw,relatime - proc proc rw,hidepid=off\n", "/proc").empty());
  CHECK(parseHidePid(mountinfo + "61 1 0:51 / /host/proc rw - proc proc rw,hidepid=2\n", "/proc").empty());
  CHECK(parseHidePid(mountinfo + "61 1 0:51 / /host/proc rw - proc proc rw,hidepid=2\n", "/host/proc") == "2");
}

TEST_CASE("proc access: each thing who-data will lack is said, naming the capability or the mount option") {
  CHECK(procAccessWarnings(ProcAccess{.ptrace = true}, "/proc").empty());
  const auto noPtrace = procAccessWarnings(ProcAccess{.ptrace = false}, "/proc");
  REQUIRE(noPtrace.size() == 1);
  CHECK(noPtrace[0].find("CAP_SYS_PTRACE") != std::string::npos);
  CHECK(noPtrace[0].find("process.executable") != std::string::npos);
  const auto hidden = procAccessWarnings(ProcAccess{.ptrace = false, .hidePid = "invisible"}, "/proc");
  REQUIRE(hidden.size() == 2);
  CHECK(hidden[0].find("hidepid=invisible") != std::string::npos);
  CHECK(procAccessWarnings(ProcAccess{.ptrace = true, .hidePid = "invisible"}, "/proc").empty());
  const auto denied = procAccessWarnings(ProcAccess{.ptrace = true, .otherUserError = EACCES}, "/proc");
  REQUIRE(denied.size() == 1);
  CHECK(denied[0].find("security module") != std::string::npos);
}

TEST_CASE("proc access: this test, as root, may read another user's executable") {
  const ProcAccess access = probeProcAccess("/proc");
  if (!access.ptrace) {
    MESSAGE("this test runs without CAP_SYS_PTRACE: only the capability check is made");
    CHECK_FALSE(procAccessWarnings(access, "/proc").empty());
    return;
  }
  CHECK(access.otherUserError == 0);
}
