#pragma once
// ObserverSource for add_observer_metadata: this machine's host name and (with netinfo.enabled)
// addresses, read as add_host_metadata reads them and kept for cache.ttl, as Beats does.

#include <chrono>
#include <memory>
#include <mutex>

#include "mapper/processors/metadata_sources.h"

namespace fim::enricher {

class ObserverSource final : public mapper::processors::ObserverSource {
 public:
  explicit ObserverSource(const config::ObserverMetadataConfig& config);
  std::shared_ptr<const mapper::processors::ObserverData> current() override;

 private:
  bool netinfo_;
  config::Duration ttl_;
  std::mutex mutex_;
  std::shared_ptr<const mapper::processors::ObserverData> data_;
  std::chrono::steady_clock::time_point readAt_;
};

}  // namespace fim::enricher
