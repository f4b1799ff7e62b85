#pragma once
// What the metadata processors look up outside the event, and who provides it. The processors
// (mapper/processors) decide which fields an event gets and where, as Beats do; the sources read
// the host (enricher/observer_source), /proc (watcher/process/process_metadata_source), Docker
// (enricher/docker) and Kubernetes (enricher/kubernetes). app/ passes the real MetadataSources;
// tests pass fakes. Every call may come from the delivery thread and must not block for long.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/metadata_processors_config.h"
#include "core/clock.h"
#include "core/result.h"

namespace fim::mapper::processors {

// add_observer_metadata: this machine as the observer.
struct ObserverData {
  std::string hostname;
  std::vector<std::string> ip;   // netinfo.enabled only
  std::vector<std::string> mac;  // in host.mac's ECS form ("00-16-3E-5A-2B-01")
};

class ObserverSource {
 public:
  virtual ~ObserverSource() = default;
  virtual std::shared_ptr<const ObserverData> current() = 0;  // read again once cache.ttl has passed
};

// add_process_metadata: a process, as Beats' gosysinfo provider reads it.
struct ProcessMetadata {
  std::int64_t pid = 0;
  std::int64_t parentPid = 0;
  std::string name;        // comm
  std::string title;       // the arguments joined by spaces
  std::string executable;
  std::vector<std::string> args;
  std::map<std::string, std::string> env;  // read only with restricted_fields
  std::optional<core::TimePoint> startTime;
  std::string entityId;    // "" when the host id or the start time is unknown
  std::string ownerId;     // real uid, as a string
  std::string ownerName;
  std::string groupId;     // real gid
  std::string groupName;
  std::vector<std::string> capEffective;  // "CAP_CHOWN", ...
  std::vector<std::string> capPermitted;
};

class ProcessSource {
 public:
  virtual ~ProcessSource() = default;
  // The process now, or as read within the last 30 s (Beats' cache): a process that exited since
  // is still found; one never read while it lived is not (nullptr).
  virtual std::shared_ptr<const ProcessMetadata> process(std::int64_t pid) = 0;
  // The container id in the process's cgroup paths ("" when none or the process is gone).
  virtual std::string containerId(std::int64_t pid) = 0;
};

// How a ProcessSource finds a container id in cgroup paths.
struct ProcessSourceOptions {
  std::string hostPath = "/";            // <hostPath>/proc
  bool restrictedFields = false;         // read the environment
  std::vector<std::string> cgroupPrefixes;  // cgroup v1: the last element of a path under a prefix
  std::string cgroupRegex;               // wins over the prefixes: its one group is the id
  bool firstHexId = false;               // add_docker_metadata: the first run of 64 word characters
  config::Duration containerCacheExpiry = std::chrono::seconds(30);  // 0: none
};

// add_docker_metadata: a container as Docker's API describes it.
struct ContainerMetadata {
  std::string id;
  std::string name;   // without the leading '/'
  std::string image;  // as the container was created from ("nginx:1.25")
  std::map<std::string, std::string> labels;
};

class ContainerSource {
 public:
  virtual ~ContainerSource() = default;
  // Whether Docker answered (at start, or a retry since): until then the processor does nothing.
  virtual bool available() = 0;
  // The container with this id (or, with match_short_id, its first 12 characters); nullptr when
  // Docker does not know it or cannot be reached.
  virtual std::shared_ptr<const ContainerMetadata> container(std::string_view id) = 0;
};

// add_kubernetes_metadata: the metadata of one index (a container id, "namespace/pod", a pod
// uid, "ip:port"), as Beats' indexers build it: kubernetes.* and the ECS container.* fields,
// ready to merge into an event. Held as JSON text so the source needs no JSON library of ours.
struct PodMetadata {
  std::string json;  // {"kubernetes": {...}, "container": {...}}
};

class PodSource {
 public:
  virtual ~PodSource() = default;
  virtual std::shared_ptr<const PodMetadata> lookup(std::string_view index) = 0;
};

class MetadataSources {
 public:
  virtual ~MetadataSources() = default;
  [[nodiscard]] virtual core::Result<std::unique_ptr<ObserverSource>> observer(const config::ObserverMetadataConfig& config) = 0;
  [[nodiscard]] virtual core::Result<std::unique_ptr<ProcessSource>> processes(const ProcessSourceOptions& options) = 0;
  [[nodiscard]] virtual core::Result<std::unique_ptr<ContainerSource>> docker(const config::DockerMetadataConfig& config) = 0;
  [[nodiscard]] virtual core::Result<std::unique_ptr<PodSource>> kubernetes(const config::KubernetesMetadataConfig& config) = 0;
};

}  // namespace fim::mapper::processors
