#include <doctest/doctest.h>

#include "support/skip.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "support/temp_dir.h"
#include "test_process_support.h"
#include "watcher/name_cache.h"
#include "watcher/process/container_id.h"
#include "watcher/process/proc_parse.h"
#include "watcher/process/process_cache.h"
#include "watcher/process/process_reader.h"

using namespace fim;
using namespace fim::watcher::process;
using fim::testing::ChildProcess;
using fim::testing::TempDir;

namespace {

const std::string kId = "3f1c5a6e0b9d4c2a8e7f6b5a4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d";
const std::string kId2 = "b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1";

std::string procText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Polls `done` until it holds or 10 s pass.
template <typename Predicate>
bool eventually(Predicate done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

char stateOf(pid_t pid) {
  return parseStatus(procText("/proc/" + std::to_string(pid) + "/status")).state;
}

}  // namespace

TEST_CASE("container id from real-world cgroup lines") {
  struct Row {
    std::string line;
    std::optional<ContainerRef> expected;
  };
  const std::vector<Row> table{
      // Docker, cgroup v1 (cgroupfs driver) and v2 (systemd driver).
      {"12:pids:/docker/" + kId, ContainerRef{kId, "docker"}},
      {"4:cpu,cpuacct:/docker/" + kId + "/init.scope", ContainerRef{kId, "docker"}},
      {"0::/system.slice/docker-" + kId + ".scope", ContainerRef{kId, "docker"}},
      {"1:name=systemd:/system.slice/docker-" + kId + ".scope", ContainerRef{kId, "docker"}},
      // Kubernetes: cgroupfs driver names no runtime; the systemd driver's scope does.
      {"11:memory:/kubepods/burstable/pod0d2a6c3e-7b1f-4c59-9a0e-1f2d3c4b5a69/" + kId, ContainerRef{kId, "kubernetes"}},
      {"8:cpuset:/kubepods/pod0d2a6c3e-7b1f-4c59-9a0e-1f2d3c4b5a69/" + kId, ContainerRef{kId, "kubernetes"}},
      {"0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0d2a6c3e_7b1f_4c59_9a0e_1f2d3c4b5a69.slice/"
       "cri-containerd-" + kId + ".scope",
       ContainerRef{kId, "containerd"}},
      {"0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod5e4d3c2b_1a09_4f8e_8d7c_6b5a49382716.slice/"
       "crio-" + kId + ".scope",
       ContainerRef{kId, "cri-o"}},
      {"0::/kubepods.slice/kubepods-pod5e4d3c2b_1a09_4f8e_8d7c_6b5a49382716.slice/docker-" + kId + ".scope",
       ContainerRef{kId, "docker"}},
      {"10:devices:/kubepods/besteffort/pod5e4d3c2b-1a09-4f8e-8d7c-6b5a49382716/crio-" + kId, ContainerRef{kId, "cri-o"}},
      // A kind node is a docker container; the pod's container inside it is the innermost.
      {"0::/docker/" + kId + "/kubepods/besteffort/pod5e4d3c2b-1a09-4f8e-8d7c-6b5a49382716/" + kId2,
       ContainerRef{kId2, "kubernetes"}},
      // Podman, rootful and rootless; the conmon monitor is not the container.
      {"0::/machine.slice/libpod-" + kId + ".scope/container", ContainerRef{kId, "podman"}},
      {"0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + kId + ".scope/container",
       ContainerRef{kId, "podman"}},
      {"1:name=systemd:/libpod_parent/libpod-" + kId, ContainerRef{kId, "podman"}},
      {"0::/machine.slice/libpod-conmon-" + kId + ".scope", std::nullopt},
      {"0::/system.slice/crio-conmon-" + kId + ".scope", std::nullopt},
      // Host processes and the runtimes' own daemons.
      {"0::/", std::nullopt},
      {"0::/init.scope", std::nullopt},
      {"0::/user.slice/user-1000.slice/session-3.scope", std::nullopt},
      {"1:name=systemd:/system.slice/docker.service", std::nullopt},
      {"0::/system.slice/containerd.service", std::nullopt},
      {"4:memory:/process_api/aa9b4ad7aec9b75f02c14703f21dfd2a", std::nullopt},
      // Not quite an id: too short, upper case, or not under docker/kubepods.
      {"12:pids:/docker/" + kId.substr(0, 12), std::nullopt},
      {"0::/system.slice/docker-" + std::string(64, 'F') + ".scope", std::nullopt},
      {"5:blkio:/other/" + kId, std::nullopt},
      {"garbage", std::nullopt},
  };
  for (const auto& row : table) {
    CAPTURE(row.line);
    CHECK(containerFromCgroupLine(row.line) == row.expected);
  }
}

TEST_CASE("container id: a cgroup v1 file is read line by line, the first container wins") {
  const std::string file = "13:misc:/\n12:pids:/docker/" + kId + "\n11:memory:/docker/" + kId +
                           "\n0::/system.slice/docker-" + kId2 + ".scope\n";
  CHECK(containerFromCgroup(file) == ContainerRef{kId, "docker"});
  CHECK(containerFromCgroup("0::/\n") == std::nullopt);
  CHECK(containerFromCgroup("") == std::nullopt);
}

TEST_CASE("status: name, state, parent and the effective ids from the second column") {
  const std::string status =
      "Name:\tmy prog \nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t4242\nNgid:\t0\nPid:\t4242\nPPid:\t17\n"
      "TracerPid:\t0\nUid:\t1000\t33\t1000\t1000\nGid:\t100\t44\t100\t100\nFDSize:\t64\nGroups:\t100 \n";
  const ProcStatus parsed = parseStatus(status);
  CHECK(parsed.name == "my prog ");
  CHECK(parsed.state == 'S');
  CHECK(parsed.parentPid == 17);
  CHECK(parsed.userId == 33u);
  CHECK(parsed.groupId == 44u);
  const ProcStatus empty = parseStatus("");
  CHECK(empty.name.empty());
  CHECK_FALSE(empty.parentPid.has_value());
  CHECK_FALSE(empty.userId.has_value());
}

TEST_CASE("stat: the comm, and the start time as field 22 counted after the comm's last parenthesis") {
  const std::string tail = " S 1 4242 4242 0 -1 4194560 1000 0 0 0 5 3 0 0 20 0 1 0 987654321 1000000 200 "
                           "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 3 0 0 0 0 0";
  CHECK(parseStat("4242 (sh)" + tail) == ProcIdentity{987654321u, "sh"});
  CHECK(parseStat("4242 (a) b (c) d)" + tail) == ProcIdentity{987654321u, "a) b (c) d"});
  CHECK(parseStat("4242 (x y)" + tail) == ProcIdentity{987654321u, "x y"});
  CHECK_FALSE(parseStat("4242 (sh) S 1").has_value());
  CHECK_FALSE(parseStat("no parenthesis").has_value());
  // Our own, for real: a running process started after boot.
  const auto self = parseStat(procText("/proc/self/stat"));
  REQUIRE(self.has_value());
  CHECK(self->startTime > 0);
  CHECK(self->comm == "test_watcher");
}

TEST_CASE("cmdline: split on NUL, bounded in count and bytes, truncation marked") {
  using namespace std::string_literals;
  const ArgsLimits limits{.maxArgs = 4, .maxBytes = 16};
  CHECK(parseCmdline("ls\0-la\0/tmp\0"s, false, limits) == std::vector<std::string>{"ls", "-la", "/tmp"});
  CHECK(parseCmdline("a\0\0"s, false, limits) == std::vector<std::string>{"a", ""});
  CHECK(parseCmdline("retitled process"s, false, limits) == std::vector<std::string>{"retitled process"});
  CHECK(parseCmdline(""s, false, limits).empty());
  CHECK(parseCmdline("1\0" "2\0" "3\0" "4\0" "5\0"s, false, limits) ==
        std::vector<std::string>{"1", "2", "3", "4", std::string(kArgsTruncated)});
  CHECK(parseCmdline("0123456789\0abcdefghij\0"s, false, limits) ==
        std::vector<std::string>{"0123456789", "abcdef", std::string(kArgsTruncated)});
  CHECK(parseCmdline("0123456789abcdef\0x\0"s, false, limits) ==
        std::vector<std::string>{"0123456789abcdef", std::string(kArgsTruncated)});
  // "é" is two bytes: the cut at 16 would split the second one.
  CHECK(parseCmdline("aaaaaaaaaaaaaaaa"s.substr(0, 15) + "\xC3\xA9" + "\0"s, false, limits) ==
        std::vector<std::string>{std::string(15, 'a'), std::string(kArgsTruncated)});
  // The reader saw more bytes than it kept.
  CHECK(parseCmdline("ls\0-la\0"s, true, limits) == std::vector<std::string>{"ls", "-la", std::string(kArgsTruncated)});
}

TEST_CASE("process reader: a live child's name, executable, arguments, parent, cwd, user and group") {
  TempDir cwd;
  ChildProcess child({"/bin/sh", "-c", "read line || :", "arg zero"}, {.cwd = cwd.str()});
  REQUIRE(child.started());
  watcher::NameCache names;
  ProcessReader reader(names);
  // exec is asynchronous to fork, and the kernel switches the executable before the new argument
  // block is in place: wait until /proc shows both.
  REQUIRE(eventually([&] {
    const auto seen = reader.read(child.pid()).info;
    return seen.executable == "/usr/bin/dash" && seen.args.size() == 4;
  }));
  const ProcessSnapshot snapshot = reader.read(child.pid());
  const events::ProcessInfo& info = snapshot.info;
  CHECK(info.pid == child.pid());
  CHECK_FALSE(info.exited);
  CHECK(info.name == "sh");
  CHECK(info.executable == "/usr/bin/dash");
  CHECK(info.args == std::vector<std::string>{"/bin/sh", "-c", "read line || :", "arg zero"});
  CHECK(info.parentPid == ::getpid());
  CHECK(info.workingDirectory == cwd.str());
  CHECK(info.userId == ::geteuid());
  CHECK(info.groupId == ::getegid());
  CHECK(info.userName == names.user(::geteuid()));
  CHECK_FALSE(info.userName.empty());
  CHECK(info.groupName == names.group(::getegid()));
  CHECK(snapshot.identity.startTime > 0);
  CHECK(snapshot.identity.comm == "sh");
  CHECK(reader.identity(child.pid()) == snapshot.identity);
  CHECK(child.release() == 0);
}

TEST_CASE("process reader: a child running as another user reports that user") {
  if (::geteuid() != 0) {
    FIM_SKIP("switching users needs root");
  }
  ChildProcess child({"/bin/sh", "-c", "read line || :"}, {.cwd = "/", .uid = 65534, .gid = 65534});
  REQUIRE(child.started());
  watcher::NameCache names;
  ProcessReader reader(names);
  REQUIRE(eventually([&] { return reader.read(child.pid()).info.userId == 65534u; }));
  const events::ProcessInfo info = reader.read(child.pid()).info;
  CHECK(info.userName == names.user(65534));
  CHECK(info.groupId == 65534u);
  CHECK(info.groupName == names.group(65534));
  CHECK(child.release() == 0);
}

TEST_CASE("process reader: a reaped process is exited with only its pid, a zombie keeps its status") {
  watcher::NameCache names;
  ProcessReader reader(names);
  const pid_t gone = ::fork();
  if (gone == 0) ::_exit(0);
  int status = 0;
  REQUIRE(::waitpid(gone, &status, 0) == gone);
  const ProcessSnapshot reaped = reader.read(gone);
  CHECK(reaped.info.pid == gone);
  CHECK(reaped.info.exited);
  CHECK(reaped.info.name.empty());
  CHECK(reaped.info.executable.empty());
  CHECK_FALSE(reader.identity(gone).has_value());

  const pid_t zombie = ::fork();
  if (zombie == 0) ::_exit(0);
  REQUIRE(eventually([&] { return stateOf(zombie) == 'Z'; }));
  const ProcessSnapshot undead = reader.read(zombie);
  CHECK(undead.info.exited);
  CHECK(undead.info.parentPid == ::getpid());
  CHECK_FALSE(undead.info.name.empty());
  CHECK(undead.info.executable.empty());
  REQUIRE(::waitpid(zombie, &status, 0) == zombie);
}

TEST_CASE("process cache: reuses a read within the ttl, rereads after it, outlives a brief process") {
  watcher::NameCache names;
  ProcessReader reader(names);
  ProcessCache cache(reader, std::chrono::milliseconds(500));
  ChildProcess child({"/bin/sh", "-c", "read line || :"});
  REQUIRE(child.started());
  REQUIRE(eventually([&] { return reader.read(child.pid()).info.executable == "/usr/bin/dash"; }));
  const auto t0 = std::chrono::steady_clock::now();
  const events::ProcessInfo first = cache.lookup(child.pid(), t0);
  CHECK(first.name == "sh");
  CHECK(cache.reads() == 1);
  CHECK(cache.lookup(child.pid(), t0 + std::chrono::milliseconds(100)).executable == "/usr/bin/dash");
  CHECK(cache.reads() == 1);
  CHECK(cache.lookup(child.pid(), t0 + std::chrono::milliseconds(600)).name == "sh");
  CHECK(cache.reads() == 2);
  const pid_t pid = child.pid();
  CHECK(child.release() == 0);
  // Gone now, but read 0 ms ago: the details stay; once stale only the pid is known.
  const events::ProcessInfo remembered = cache.lookup(pid, t0 + std::chrono::milliseconds(700));
  CHECK_FALSE(remembered.exited);
  CHECK(remembered.executable == "/usr/bin/dash");
  const events::ProcessInfo forgotten = cache.lookup(pid, t0 + std::chrono::seconds(5));
  CHECK(forgotten.exited);
  CHECK(forgotten.pid == pid);
  CHECK(forgotten.name.empty());
  CHECK(cache.reads() == 2);
}

TEST_CASE("process cache: a reused pid (another start time) or an exec (another comm) is read afresh") {
  // Pid reuse cannot be forced on a live system, so the reader looks at a proc tree of files.
  TempDir proc;
  const auto writeProcess = [&](const std::string& name, const std::string& startTime) {
    proc.write("4242/stat", "4242 (" + name + ") S 1 4242 4242 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 " + startTime + " 0 0\n");
    proc.write("4242/status", "Name:\t" + name + "\nState:\tS (sleeping)\nPPid:\t1\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n");
  };
  writeProcess("first", "1000");
  watcher::NameCache names;
  ProcessReader reader(names, proc.str());
  ProcessCache cache(reader, std::chrono::seconds(60));
  const auto now = std::chrono::steady_clock::now();
  CHECK(cache.lookup(4242, now).name == "first");
  CHECK(cache.lookup(4242, now).name == "first");
  CHECK(cache.reads() == 1);
  writeProcess("second", "2000");  // the pid now belongs to a process started later
  CHECK(cache.lookup(4242, now).name == "second");
  CHECK(cache.reads() == 2);
  CHECK(cache.lookup(4242, now).name == "second");
  CHECK(cache.reads() == 2);
  writeProcess("third", "2000");  // the same process exec'd another program
  CHECK(cache.lookup(4242, now).name == "third");
  CHECK(cache.reads() == 3);
}
