#pragma once
// host.* as add_host_metadata gives it on Linux, read from files below a root directory (so
// tests can point it at a fixture tree) and from uname(2), gethostname(2) and getifaddrs(3).

#include <optional>
#include <string>
#include <string_view>

#include "events/metadata.h"

namespace fim::enricher {

std::string localHostName();

// The machine id: the first line of the file's text, when it is 32 hex digits ("" otherwise:
// empty, "uninitialized", garbage).
std::string parseMachineId(std::string_view text);

// True when a /proc/<pid>/cgroup text names a container runtime (docker, kubepods, lxc,
// libpod, containerd, cri-o, ECS).
bool cgroupNamesContainer(std::string_view cgroupText);

// Whether the process runs in a container: <root>/.dockerenv, <root>/run/.containerenv, or a
// container in <root>/proc/1/cgroup.
bool detectContainer(const std::string& rootDir);

// The text of a small system file below rootDir (at most 64 KiB), or nullopt when unreadable.
std::optional<std::string> readSmallFile(const std::string& rootDir, std::string_view relative);

// Every host.* field. hostname is gethostname(2)'s; name the same in lower case, as ECS
// recommends and Beats 8.15+ do. os.* from <root>/etc/os-release (else <root>/usr/lib/os-release), id from
// <root>/etc/machine-id (else <root>/var/lib/dbus/machine-id); kernel, architecture and the
// host name always describe the running system. ip and mac only when `netinfo`.
events::HostInfo readHostInfo(const std::string& rootDir = "/", bool netinfo = true);

}  // namespace fim::enricher
