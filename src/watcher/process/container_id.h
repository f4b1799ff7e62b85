#pragma once
// Container identity from /proc/<pid>/cgroup: which runtime started the process's container and
// the container's id, read from the cgroup path the runtime created for it.

#include <optional>
#include <string>
#include <string_view>

namespace fim::watcher::process {

struct ContainerRef {
  std::string id;       // 64 lowercase hex digits
  std::string runtime;  // docker, containerd, cri-o, podman, kubernetes
  bool operator==(const ContainerRef&) const = default;
};

// One line of a cgroup file, v1 ("4:memory:/docker/<id>") or v2 ("0::/system.slice/docker-<id>.scope").
// The innermost container wins (a container inside a kind node, docker-in-docker). nullopt for
// host processes, runtime daemons and conmon monitors.
std::optional<ContainerRef> containerFromCgroupLine(std::string_view line);

// A whole cgroup file: the first line that names a container.
std::optional<ContainerRef> containerFromCgroup(std::string_view cgroupFile);

}  // namespace fim::watcher::process
