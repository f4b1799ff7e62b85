#pragma once
// The agent's MetadataSources: the host for add_observer_metadata, /proc for
// add_process_metadata (and add_docker_metadata's match_pids), Docker and Kubernetes.

#include <string>

#include "core/metrics.h"
#include "mapper/processors/metadata_sources.h"

namespace fim::app {

class AgentMetadataSources final : public mapper::processors::MetadataSources {
 public:
  // `hostId`: host.id (the machine id), for process.entity_id and finding the Kubernetes node.
  AgentMetadataSources(std::string hostId, core::Metrics& metrics) : hostId_(std::move(hostId)), metrics_(metrics) {}

  core::Result<std::unique_ptr<mapper::processors::ObserverSource>> observer(const config::ObserverMetadataConfig& config) override;
  core::Result<std::unique_ptr<mapper::processors::ProcessSource>> processes(
      const mapper::processors::ProcessSourceOptions& options) override;
  core::Result<std::unique_ptr<mapper::processors::ContainerSource>> docker(const config::DockerMetadataConfig& config) override;
  core::Result<std::unique_ptr<mapper::processors::PodSource>> kubernetes(const config::KubernetesMetadataConfig& config) override;

 private:
  std::string hostId_;
  core::Metrics& metrics_;
};

}  // namespace fim::app
