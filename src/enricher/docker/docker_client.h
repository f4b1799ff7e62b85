#pragma once
// DockerClient: the few Docker Engine API calls add_docker_metadata needs, over the daemon's unix
// socket (or TCP, with TLS), following the Engine API reference (docs.docker.com/engine/api,
// version 1.43): GET /version to agree on an API version (the lower of the daemon's and 1.43, as
// Docker's own client negotiates), then GET /v<version>/containers/json (running containers) and
// GET /v<version>/containers/{id}/json (one container).

#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "config/metadata_processors_config.h"
#include "core/result.h"
#include "mapper/processors/metadata_sources.h"
#include "output/elasticsearch/http_client.h"

namespace fim::enricher {

inline constexpr const char* kDockerApiVersion = "1.43";

// The parts of the Engine API's answers add_docker_metadata uses (tested with documented samples).
[[nodiscard]] core::Result<std::vector<mapper::processors::ContainerMetadata>> parseContainerList(std::string_view json);
[[nodiscard]] core::Result<mapper::processors::ContainerMetadata> parseContainerInspect(std::string_view json);
// "1.43" from GET /version's ApiVersion; the lower of it and ours.
[[nodiscard]] core::Result<std::string> parseApiVersion(std::string_view json);

class DockerClient {
 public:
  // `host` as add_docker_metadata takes it: unix:///path, tcp://host:port, http(s)://host:port.
  [[nodiscard]] static core::Result<std::unique_ptr<DockerClient>> create(const config::DockerMetadataConfig& config);

  // Agrees on the API version; the first call of a connection.
  [[nodiscard]] core::Status negotiate(std::stop_token stop = {});
  [[nodiscard]] core::Result<std::vector<mapper::processors::ContainerMetadata>> list(std::stop_token stop = {});
  // nullopt: the daemon knows no such container (404).
  [[nodiscard]] core::Result<std::optional<mapper::processors::ContainerMetadata>> inspect(const std::string& id,
                                                                                          std::stop_token stop = {});
  const std::string& apiVersion() const { return version_; }

 private:
  explicit DockerClient(std::unique_ptr<output::es::HttpClient> http) : http_(std::move(http)) {}
  [[nodiscard]] core::Result<std::string> get(const std::string& path, std::stop_token stop, bool* notFound = nullptr);

  std::mutex mutex_;  // one request at a time on the one connection
  std::unique_ptr<output::es::HttpClient> http_;
  std::string version_ = kDockerApiVersion;
};

}  // namespace fim::enricher
