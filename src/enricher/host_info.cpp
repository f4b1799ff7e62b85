#include "enricher/host_info.h"

#include <fcntl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <climits>

#include "enricher/net_info.h"
#include "enricher/os_release.h"

namespace fim::enricher {
namespace {

constexpr std::size_t kMaxSystemFile = 64 * 1024;

constexpr std::array<std::string_view, 8> kContainerMarkers{
    "docker", "kubepods", "lxc", "libpod", "containerd", "crio-", "/ecs/", "garden"};

std::string joinRoot(const std::string& rootDir, std::string_view relative) {
  std::string path = rootDir.empty() ? std::string("/") : rootDir;
  if (path.back() != '/') path.push_back('/');
  while (!relative.empty() && relative.front() == '/') relative.remove_prefix(1);
  return path.append(relative);
}

}  // namespace

std::string localHostName() {
  char name[HOST_NAME_MAX + 1] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "localhost";
  return name;
}

std::optional<std::string> readSmallFile(const std::string& rootDir, std::string_view relative) {
  const std::string path = joinRoot(rootDir, relative);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return std::nullopt;
  std::string text;
  char buffer[4096];
  while (text.size() < kMaxSystemFile) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (text.size() > kMaxSystemFile) text.resize(kMaxSystemFile);
  return text;
}

std::string parseMachineId(std::string_view text) {
  const auto end = text.find_first_of("\r\n");
  std::string_view line = text.substr(0, end);
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.remove_suffix(1);
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front()))) line.remove_prefix(1);
  const bool valid = line.size() == 32 && std::all_of(line.begin(), line.end(), [](unsigned char c) { return std::isxdigit(c); });
  return valid ? std::string(line) : std::string();
}

bool cgroupNamesContainer(std::string_view cgroupText) {
  return std::any_of(kContainerMarkers.begin(), kContainerMarkers.end(),
                     [&](std::string_view marker) { return cgroupText.find(marker) != std::string_view::npos; });
}

bool detectContainer(const std::string& rootDir) {
  for (const char* marker : {".dockerenv", "run/.containerenv"}) {
    if (::access(joinRoot(rootDir, marker).c_str(), F_OK) == 0) return true;
  }
  const auto cgroup = readSmallFile(rootDir, "proc/1/cgroup");
  return cgroup && cgroupNamesContainer(*cgroup);
}

events::HostInfo readHostInfo(const std::string& rootDir, bool netinfo) {
  events::HostInfo host;
  host.hostname = localHostName();
  host.name = host.hostname;  // as current Beats do: hostname as the system says it, name in lower case (ECS)
  std::transform(host.name.begin(), host.name.end(), host.name.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* file : {"etc/machine-id", "var/lib/dbus/machine-id"}) {
    if (auto text = readSmallFile(rootDir, file)) host.id = parseMachineId(*text);
    if (!host.id.empty()) break;
  }
  auto release = readSmallFile(rootDir, "etc/os-release");
  if (!release) release = readSmallFile(rootDir, "usr/lib/os-release");
  host.os = parseOsRelease(release.value_or(""));
  struct utsname uts {};
  if (::uname(&uts) == 0) {
    host.os.kernel = uts.release;
    host.architecture = uts.machine;
  }
  host.containerized = detectContainer(rootDir);
  if (netinfo) {
    auto net = readNetInfo();
    host.ip = std::move(net.ip);
    host.mac = std::move(net.mac);
  }
  return host;
}

}  // namespace fim::enricher
