#pragma once
// DockerSource: add_docker_metadata's containers. A background thread connects to Docker (a
// warning naming the host when it cannot, then a retry every wait_for_metadata_retry_period for
// wait_for_metadata_timeout, as Beats), lists the running containers, and lists them again every
// cleanup_timeout: a container gone from the list is forgotten once it has not been asked for
// during cleanup_timeout. A container started since the last list is inspected when an event
// first names it (GET /containers/{id}/json); an id Docker does not know is not asked again for
// 5 s.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "core/metrics.h"
#include "enricher/docker/docker_client.h"

namespace fim::enricher {

class DockerSource final : public mapper::processors::ContainerSource {
 public:
  using Clock = std::chrono::steady_clock;

  // With wait_for_metadata the first connection is made here, and failing it for
  // wait_for_metadata_timeout is an error (Beats: "could not connect to docker").
  [[nodiscard]] static core::Result<std::unique_ptr<DockerSource>> start(const config::DockerMetadataConfig& config,
                                                                       core::Metrics* metrics = nullptr);
  ~DockerSource() override;

  bool available() override { return available_.load(std::memory_order_acquire); }
  std::shared_ptr<const mapper::processors::ContainerMetadata> container(std::string_view id) override;

 private:
  DockerSource(const config::DockerMetadataConfig& config, std::unique_ptr<DockerClient> client, core::Metrics* metrics);
  bool connect(std::stop_token stop);                       // negotiate and list; true when Docker answered
  bool retryConnect(std::stop_token stop, bool logFirst);   // until connected, the timeout or a stop
  void refresh(std::stop_token stop);                       // list again, forget what is long gone
  void run(std::stop_token stop, bool connected);
  bool pause(std::stop_token stop, config::Duration howLong);

  struct Entry {
    std::shared_ptr<const mapper::processors::ContainerMetadata> container;
    Clock::time_point lastAccess;
    bool gone = false;  // not in the last list
  };

  config::DockerMetadataConfig config_;
  std::unique_ptr<DockerClient> client_;
  std::atomic<bool> available_{false};
  std::string lastError_;  // the background thread's (or start()'s) last connection failure
  std::mutex mutex_;
  std::map<std::string, Entry, std::less<>> containers_;  // by id (and short id with match_short_id)
  std::map<std::string, Clock::time_point, std::less<>> unknown_;  // ids Docker did not know, until when
  core::Counter* lookups_ = nullptr;
  core::Counter* inspections_ = nullptr;
  std::mutex waitMutex_;
  std::condition_variable_any wake_;
  std::jthread thread_;
};

}  // namespace fim::enricher
