#include "watcher/process/container_id.h"

#include <algorithm>
#include <array>
#include <vector>

namespace fim::watcher::process {
namespace {

constexpr std::size_t kIdLength = 64;

bool isContainerId(std::string_view s) {
  return s.size() == kIdLength && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// systemd scope units and cgroupfs directories a runtime names after the container:
// "<prefix><id>.scope" (systemd driver) or "<prefix><id>" (cgroupfs driver).
struct ScopePrefix {
  std::string_view prefix;
  std::string_view runtime;
};
constexpr std::array<ScopePrefix, 4> kScopePrefixes{{
    {"docker-", "docker"},
    {"cri-containerd-", "containerd"},
    {"crio-", "cri-o"},
    {"libpod-", "podman"},
}};

std::optional<ContainerRef> fromScope(std::string_view component) {
  if (component.ends_with(".scope")) component.remove_suffix(6);
  for (const auto& [prefix, runtime] : kScopePrefixes) {
    if (!component.starts_with(prefix)) continue;
    std::string_view id = component.substr(prefix.size());
    // "libpod-conmon-<id>" and "crio-conmon-<id>" hold the monitor, not the container.
    if (isContainerId(id)) return ContainerRef{std::string(id), std::string(runtime)};
  }
  return std::nullopt;
}

bool isKubepods(std::string_view component) {
  return component == "kubepods" || component.starts_with("kubepods-") || component.starts_with("kubepods.");
}

bool isPod(std::string_view component) {
  return component.starts_with("pod") || (isKubepods(component) && component.find("-pod") != std::string_view::npos);
}

std::vector<std::string_view> split(std::string_view path) {
  std::vector<std::string_view> parts;
  while (!path.empty()) {
    const std::size_t slash = path.find('/');
    std::string_view part = path.substr(0, slash);
    if (!part.empty()) parts.push_back(part);
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return parts;
}

}  // namespace

std::optional<ContainerRef> containerFromCgroupLine(std::string_view line) {
  // hierarchy-ID:controller-list:cgroup-path; the path may itself contain ':'.
  const std::size_t first = line.find(':');
  if (first == std::string_view::npos) return std::nullopt;
  const std::size_t second = line.find(':', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  std::string_view path = line.substr(second + 1);
  while (!path.empty() && (path.back() == '\n' || path.back() == '\r')) path.remove_suffix(1);

  const std::vector<std::string_view> parts = split(path);
  for (std::size_t i = parts.size(); i-- > 0;) {
    if (auto scoped = fromScope(parts[i])) return scoped;
    if (!isContainerId(parts[i]) || i == 0) continue;
    const std::string_view parent = parts[i - 1];
    if (parent == "docker") return ContainerRef{std::string(parts[i]), "docker"};
    // cgroupfs driver: kubepods[/<qos>]/pod<uid>/<id>, the runtime not named.
    const bool underKubepods = std::any_of(parts.begin(), parts.begin() + static_cast<std::ptrdiff_t>(i), isKubepods);
    if (underKubepods && isPod(parent)) return ContainerRef{std::string(parts[i]), "kubernetes"};
  }
  return std::nullopt;
}

std::optional<ContainerRef> containerFromCgroup(std::string_view cgroupFile) {
  while (!cgroupFile.empty()) {
    const std::size_t end = cgroupFile.find('\n');
    if (auto found = containerFromCgroupLine(cgroupFile.substr(0, end))) return found;
    if (end == std::string_view::npos) break;
    cgroupFile.remove_prefix(end + 1);
  }
  return std::nullopt;
}

}  // namespace fim::watcher::process
