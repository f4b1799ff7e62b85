// add_process_metadata's /proc reader, on a /proc tree written by the test (host_path), and the
// container id rules of Beats' cgroup providers.

#include <doctest/doctest.h>

#include <unistd.h>

#include "core/entity_id.h"
#include "support/temp_dir.h"
#include "watcher/process/process_metadata_source.h"

using namespace fim;
using mapper::processors::ProcessSourceOptions;

namespace {

// /proc/<pid>/stat with `comm`, the parent and the start ticks (field 22), the rest zeros.
std::string statLine(std::int64_t pid, const std::string& comm, std::int64_t ppid, std::uint64_t ticks) {
  std::string line = std::to_string(pid) + " (" + comm + ") S " + std::to_string(ppid);
  for (int field = 5; field <= 52; ++field) line += " " + std::string(field == 22 ? std::to_string(ticks) : "0");
  return line + "\n";
}

void writeProcess(const testing::TempDir& root, std::int64_t pid, const std::string& cgroup) {
  const std::string dir = "proc/" + std::to_string(pid) + "/";
  root.write(dir + "stat", statLine(pid, "my (odd) name", 1, 201));
  root.write(dir + "status", "Name:\tmy (odd) name\nState:\tS (sleeping)\nPPid:\t1\nUid:\t1000\t0\t0\t0\nGid:\t100\t0\t0\t0\n"
                             "CapPrm:\t0000000000000003\nCapEff:\t0000000000000000\n");
  root.write(dir + "cmdline", std::string("/usr/bin/tool\0--flag\0value with space\0", 38));
  root.write(dir + "environ", std::string("HOME=/root\0 PATH =/bin\0=x\0EMPTY=\0", 33));
  root.write(dir + "cgroup", cgroup);
  ::symlink("/usr/bin/tool", (root.str() + "/" + dir + "exe").c_str());
}

}  // namespace

TEST_CASE("process metadata: what Beats' provider reads, from <host_path>/proc") {
  testing::TempDir root;
  root.write("proc/stat", "cpu  1 2 3\nbtime 1700000000\nprocesses 5\n");
  writeProcess(root, 4242, "0::/system.slice/ssh.service\n");
  ProcessSourceOptions options;
  options.hostPath = root.str();
  options.restrictedFields = true;
  watcher::process::ProcessMetadataSource source(options, "4a0cbe3f2e7a4c2bb1c9d3e8f0a1b2c3");
  auto p = source.process(4242);
  REQUIRE(p != nullptr);
  CHECK(p->pid == 4242);
  CHECK(p->parentPid == 1);
  CHECK(p->name == "my (odd) name");
  CHECK(p->executable == "/usr/bin/tool");
  CHECK(p->args == std::vector<std::string>{"/usr/bin/tool", "--flag", "value with space"});
  CHECK(p->title == "/usr/bin/tool --flag value with space");
  CHECK(p->ownerId == "1000");  // the real uid, as Beats
  CHECK(p->groupId == "100");
  CHECK(p->capPermitted == std::vector<std::string>{"CAP_CHOWN", "CAP_DAC_OVERRIDE"});
  CHECK(p->capEffective.empty());
  CHECK(p->env == std::map<std::string, std::string>{{"HOME", "/root"}, {"PATH", "/bin"}, {"EMPTY", ""}});
  REQUIRE(p->startTime.has_value());
  CHECK((*p->startTime == core::processStartTime(1700000000, 201)));
  CHECK(p->entityId == "Cg2TPSFj2PLrPu7w");  // see tests/core/test_entity_id.cpp
  CHECK(source.containerId(4242).empty());

  // Exited since it was read: still found for 30 s (Beats' cache); never read: not found.
  std::filesystem::remove_all(root.path() / "proc/4242");
  CHECK(source.process(4242) != nullptr);
  CHECK(source.process(4243) == nullptr);
  CHECK(source.read(4242) == nullptr);
}

TEST_CASE("process metadata: container ids in cgroup paths, as Beats' regex, prefixes and docker rules find them") {
  const std::string id = "b5285682fba7449c86452b89a800609440ecc88a7ba5f2d38bedfb85409b30b1";
  ProcessSourceOptions regex;
  regex.cgroupRegex = fim::config::kDefaultCgroupRegex;
  const RE2 re(regex.cgroupRegex);
  using watcher::process::containerIdInCgroups;
  // Beats' documented examples: cgroup v1 kubepods, v2 systemd scopes.
  CHECK(containerIdInCgroups("11:memory:/kubepods/besteffort/pod665fb997-575b-11ea-bfce-080027421ddf/" + id + "\n", regex, &re) == id);
  CHECK(containerIdInCgroups("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod69349abe_d645_11ea_9c4c_08002709c05c.slice/crio-" + id + ".scope\n", regex, &re) == id);
  CHECK(containerIdInCgroups("0::/system.slice/docker-" + id + ".scope\n", regex, &re) == id);
  CHECK(containerIdInCgroups("0::/user.slice/user-1000.slice/session-3.scope\n", regex, &re).empty());

  ProcessSourceOptions prefixes;
  prefixes.cgroupPrefixes = {"/kubepods", "/docker"};
  CHECK(containerIdInCgroups("4:cpu:/docker/abc123\n", prefixes, nullptr) == "abc123");
  CHECK(containerIdInCgroups("4:cpu:/machine/abc123\n", prefixes, nullptr).empty());
  CHECK(containerIdInCgroups("0::/system.slice/docker-" + id + ".scope\n", prefixes, nullptr) == id);  // v2: 64 word characters

  ProcessSourceOptions docker;
  docker.firstHexId = true;
  CHECK(containerIdInCgroups("1:name=systemd:/\n0::/docker/" + id + "\n", docker, nullptr) == id);
  CHECK(containerIdInCgroups("0::/init.scope\n", docker, nullptr).empty());
}

TEST_CASE("process metadata: the container id of a live process, cached for cgroup_cache_expire_time") {
  testing::TempDir root;
  const std::string id(64, 'a');
  writeProcess(root, 7, "0::/system.slice/docker-" + id + ".scope\n");
  ProcessSourceOptions options;
  options.hostPath = root.str();
  options.cgroupRegex = fim::config::kDefaultCgroupRegex;
  watcher::process::ProcessMetadataSource source(options, "");
  CHECK(source.containerId(7) == id);
  root.write("proc/7/cgroup", "0::/\n");
  CHECK(source.containerId(7) == id);  // cached
  options.containerCacheExpiry = fim::config::Duration::zero();
  watcher::process::ProcessMetadataSource uncached(options, "");
  CHECK(uncached.containerId(7).empty());
  CHECK(uncached.process(7)->entityId.empty());  // no host id, no boot time: no entity id
}
