#include "app/metadata_sources.h"

#include "enricher/docker/docker_source.h"
#include "enricher/kubernetes/pod_source.h"
#include "enricher/observer_source.h"
#include "watcher/process/process_metadata_source.h"

namespace fim::app {

using namespace mapper::processors;

core::Result<std::unique_ptr<ObserverSource>> AgentMetadataSources::observer(const config::ObserverMetadataConfig& config) {
  return std::unique_ptr<ObserverSource>(std::make_unique<enricher::ObserverSource>(config));
}

core::Result<std::unique_ptr<ProcessSource>> AgentMetadataSources::processes(const ProcessSourceOptions& options) {
  return std::unique_ptr<ProcessSource>(std::make_unique<watcher::process::ProcessMetadataSource>(options, hostId_));
}

core::Result<std::unique_ptr<ContainerSource>> AgentMetadataSources::docker(const config::DockerMetadataConfig& config) {
  auto source = enricher::DockerSource::start(config, &metrics_);
  if (!source) return std::unexpected(source.error());
  return std::unique_ptr<ContainerSource>(std::move(*source));
}

core::Result<std::unique_ptr<PodSource>> AgentMetadataSources::kubernetes(const config::KubernetesMetadataConfig& config) {
  return std::unique_ptr<PodSource>(enricher::PodSource::start(config, hostId_, &metrics_));
}

}  // namespace fim::app
