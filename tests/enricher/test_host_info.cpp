#include "enricher/host_info.h"

#include <arpa/inet.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include <doctest/doctest.h>

#include "enricher/net_info.h"
#include "support/temp_dir.h"

namespace fim::enricher {
namespace {

using fim::testing::TempDir;

std::string fileText(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The value of KEY in /etc/os-release, read here line by line without the enricher's parser.
std::string osReleaseValue(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  std::string line;
  std::string value;
  while (std::getline(in, line)) {
    if (line.rfind(key + "=", 0) != 0) continue;
    value = line.substr(key.size() + 1);
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'')) value = value.substr(1, value.size() - 2);
  }
  return value;
}

TEST_CASE("MAC addresses in ECS form: upper case, dash-separated") {
  const unsigned char mac[] = {0x00, 0x16, 0x3e, 0x5a, 0x2b, 0x01};
  CHECK(formatMac(mac, sizeof mac) == "00-16-3E-5A-2B-01");
  const unsigned char high[] = {0xff, 0xab, 0xcd, 0xef, 0x10, 0x9a};
  CHECK(formatMac(high, sizeof high) == "FF-AB-CD-EF-10-9A");
  const unsigned char infiniband[20] = {0x80, 0x00, 0x02, 0x08};
  CHECK(formatMac(infiniband, sizeof infiniband).size() == 20 * 3 - 1);
  CHECK(formatMac(mac, 0).empty());
  const unsigned char zero[6] = {};
  CHECK(isZeroMac(zero, sizeof zero));
  CHECK_FALSE(isZeroMac(mac, sizeof mac));
}

TEST_CASE("machine id: 32 hex digits on the first line, anything else is no id") {
  CHECK(parseMachineId("3d1219c7c4c5404aaa1f6d2a48adfda4\n") == "3d1219c7c4c5404aaa1f6d2a48adfda4");
  CHECK(parseMachineId("  3d1219c7c4c5404aaa1f6d2a48adfda4  \r\nsecond line") == "3d1219c7c4c5404aaa1f6d2a48adfda4");
  CHECK(parseMachineId("").empty());
  CHECK(parseMachineId("uninitialized\n").empty());
  CHECK(parseMachineId("3d1219c7c4c5404aaa1f6d2a48adfda").empty());    // 31 digits
  CHECK(parseMachineId("3d1219c7c4c5404aaa1f6d2a48adfdzz").empty());   // not hex
}

TEST_CASE("container detection from /proc/1/cgroup text") {
  CHECK(cgroupNamesContainer("12:devices:/docker/3f2a8c\n"));
  CHECK(cgroupNamesContainer("0::/kubepods.slice/kubepods-besteffort.slice/cri-containerd-abc.scope\n"));
  CHECK(cgroupNamesContainer("1:name=systemd:/lxc/web01\n"));
  CHECK(cgroupNamesContainer("0::/machine.slice/libpod-7d3e.scope\n"));
  CHECK_FALSE(cgroupNamesContainer("0::/init.scope\n"));
  CHECK_FALSE(cgroupNamesContainer("9:name=systemd:/\n8:pids:/\n0::/\n"));
  CHECK_FALSE(cgroupNamesContainer(""));
}

TEST_CASE("host info from a fixture root: os-release, machine id, container markers") {
  TempDir root;
  root.write("etc/os-release", "NAME=\"Ubuntu\"\nVERSION=\"22.04.3 LTS (Jammy Jellyfish)\"\nID=ubuntu\nID_LIKE=debian\n"
                               "VERSION_CODENAME=jammy\n");
  root.write("etc/machine-id", "0123456789abcdef0123456789abcdef\n");
  root.write("proc/1/cgroup", "0::/init.scope\n");

  const auto host = readHostInfo(root.str(), false);
  CHECK(host.os.type == "linux");
  CHECK(host.os.platform == "ubuntu");
  CHECK(host.os.name == "Ubuntu");
  CHECK(host.os.version == "22.04.3 LTS (Jammy Jellyfish)");
  CHECK(host.os.family == "debian");
  CHECK(host.os.codename == "jammy");
  CHECK(host.id == "0123456789abcdef0123456789abcdef");
  REQUIRE(host.containerized.has_value());
  CHECK_FALSE(*host.containerized);
  CHECK(host.ip.empty());  // netinfo disabled
  CHECK(host.mac.empty());

  SUBCASE("/.dockerenv marks a container") {
    root.write(".dockerenv", "");
    CHECK(readHostInfo(root.str(), false).containerized == true);
  }
  SUBCASE("/run/.containerenv (podman) marks a container") {
    root.write("run/.containerenv", "engine=\"podman\"\n");
    CHECK(readHostInfo(root.str(), false).containerized == true);
  }
  SUBCASE("a docker cgroup of pid 1 marks a container") {
    root.write("proc/1/cgroup", "12:memory:/docker/0123abcd\n");
    CHECK(readHostInfo(root.str(), false).containerized == true);
  }
}

TEST_CASE("host info fallbacks: /usr/lib/os-release and the D-Bus machine id") {
  TempDir root;
  root.write("usr/lib/os-release", "NAME=\"Fedora Linux\"\nID=fedora\nVERSION=\"39 (Server Edition)\"\n");
  root.write("etc/machine-id", "uninitialized\n");
  root.write("var/lib/dbus/machine-id", "fedcba9876543210fedcba9876543210\n");
  const auto host = readHostInfo(root.str(), false);
  CHECK(host.os.platform == "fedora");
  CHECK(host.os.family == "redhat");
  CHECK(host.id == "fedcba9876543210fedcba9876543210");
}

TEST_CASE("host info with nothing to read: os.type only, no id, not containerized") {
  TempDir root;
  const auto host = readHostInfo(root.str(), false);
  CHECK(host.os.type == "linux");
  CHECK(host.os.platform.empty());
  CHECK(host.os.name.empty());
  CHECK(host.id.empty());
  CHECK(host.containerized == false);
}

TEST_CASE("host info on this machine agrees with uname(2), /etc/os-release and /etc/machine-id") {
  const auto host = readHostInfo("/", true);
  struct utsname uts {};
  REQUIRE(::uname(&uts) == 0);
  CHECK(host.os.kernel == uts.release);
  CHECK(host.architecture == uts.machine);
  CHECK(host.hostname == uts.nodename);
  std::string lowerName = uts.nodename;
  for (auto& c : lowerName) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  CHECK(host.name == lowerName);

  std::string release = fileText("/etc/os-release");
  if (release.empty()) release = fileText("/usr/lib/os-release");
  CHECK(host.os.type == "linux");
  CHECK(host.os.platform == osReleaseValue(release, "ID"));
  CHECK(host.os.name == osReleaseValue(release, "NAME"));
  CHECK(host.os.version == osReleaseValue(release, "VERSION"));
  if (!osReleaseValue(release, "VERSION_CODENAME").empty()) {
    CHECK(host.os.codename == osReleaseValue(release, "VERSION_CODENAME"));
  }

  std::string machineId = fileText("/etc/machine-id");
  if (machineId.empty()) machineId = fileText("/var/lib/dbus/machine-id");
  machineId = machineId.substr(0, machineId.find('\n'));
  CHECK(host.id == (machineId.size() == 32 ? machineId : std::string()));

  const bool markers = std::filesystem::exists("/.dockerenv") || std::filesystem::exists("/run/.containerenv") ||
                       cgroupNamesContainer(fileText("/proc/1/cgroup"));
  CHECK(host.containerized == markers);
}

TEST_CASE("host.mac on this machine: the non-loopback addresses of /sys/class/net, in ECS form") {
  const auto net = readNetInfo();
  const std::regex ecsMac("^[0-9A-F]{2}(-[0-9A-F]{2})+$");
  for (const auto& mac : net.mac) {
    CAPTURE(mac);
    CHECK(std::regex_match(mac, ecsMac));
  }
  std::set<std::string> expected;  // from sysfs, independently of getifaddrs
  for (const auto& entry : std::filesystem::directory_iterator("/sys/class/net")) {
    std::string address = fileText(entry.path() / "address");
    address = address.substr(0, address.find('\n'));
    const std::string type = fileText(entry.path() / "type");
    if (address.empty() || type.rfind("772", 0) == 0) continue;  // ARPHRD_LOOPBACK
    if (address.find_first_not_of("0:") == std::string::npos) continue;
    std::string ecs;
    for (char c : address) ecs.push_back(c == ':' ? '-' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    expected.insert(ecs);
  }
  CHECK(std::set<std::string>(net.mac.begin(), net.mac.end()) == expected);
}

TEST_CASE("host.ip on this machine: valid addresses, no loopback, no duplicates") {
  const auto net = readNetInfo();
  std::set<std::string> seen;
  for (const auto& ip : net.ip) {
    CAPTURE(ip);
    unsigned char buffer[16];
    const bool v4 = ::inet_pton(AF_INET, ip.c_str(), buffer) == 1;
    const bool v6 = ::inet_pton(AF_INET6, ip.c_str(), buffer) == 1;
    CHECK((v4 || v6));
    CHECK(ip.rfind("127.", 0) != 0);
    CHECK(ip != "::1");
    CHECK(seen.insert(ip).second);
  }
}

}  // namespace
}  // namespace fim::enricher
