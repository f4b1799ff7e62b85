#pragma once
// What fimbeat knows about who and where: the agent, its host and cloud (one snapshot shared by
// many events), and the process that made a change (per event, from the realtime backends).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"

namespace fim::events {

// ECS agent.*
struct AgentInfo {
  std::string id;           // persisted under path.data, stable across restarts
  std::string ephemeralId;  // new each run
  std::string name;         // `name:` from the config, else the host name
  std::string type = "fimbeat";
  std::string version;
};

// ECS host.os.*
struct OsInfo {
  std::string type;      // "linux"
  std::string platform;  // os-release ID, e.g. "debian"
  std::string name;      // os-release NAME
  std::string version;   // os-release VERSION, e.g. "12 (bookworm)"
  std::string family;    // "debian", "redhat", ...
  std::string kernel;    // uname -r
  std::string codename;  // VERSION_CODENAME
};

// ECS host.*, as add_host_metadata gives it on Linux.
struct HostInfo {
  std::string hostname;
  std::string name;
  std::string id;            // /etc/machine-id
  std::string architecture;  // uname -m
  OsInfo os;
  std::vector<std::string> ip;   // empty when netinfo is disabled
  std::vector<std::string> mac;  // "00-11-22-AA-BB-CC"
  std::optional<bool> containerized;
};

// ECS cloud.*, as add_cloud_metadata gives it. Absent fields stay empty and are not emitted.
struct CloudInfo {
  std::string provider;  // aws, gcp, azure, digitalocean, openstack, hetzner
  std::string region;
  std::string availabilityZone;
  std::string instanceId;
  std::string instanceName;
  std::string machineType;
  std::string accountId;
  std::string projectId;
  std::string serviceName;
};

// One immutable snapshot; the enricher replaces it when host metadata is refreshed.
struct Metadata {
  AgentInfo agent;
  HostInfo host;
  std::optional<CloudInfo> cloud;
};

// ECS process.*, user.*, group.* of whoever changed a file (fanotify only).
struct ProcessInfo {
  std::int64_t pid = 0;
  bool exited = false;  // gone before we could read /proc: only the pid is known
  std::string name;
  std::string executable;
  std::vector<std::string> args;  // bounded
  std::optional<std::int64_t> parentPid;
  std::string workingDirectory;
  std::optional<std::uint32_t> userId;  // effective ids
  std::string userName;
  std::optional<std::uint32_t> groupId;
  std::string groupName;
  // When it started, as Beats computes it (boot time + start ticks / 100): with the host id and
  // the pid it makes process.entity_id. nullopt when /proc no longer told.
  std::optional<core::TimePoint> startTime;
  std::string containerId;  // from /proc/<pid>/cgroup when it names a container
  std::string containerRuntime;  // docker, containerd, cri-o, podman, kubernetes
};

}  // namespace fim::events
