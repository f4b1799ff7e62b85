#pragma once
// Enricher: adds what the host knows to each event (host name, tags). Agent, cloud, container
// and process metadata and processors arrive with the ECS issue.

#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/bounded_queue.h"
#include "core/event.h"
#include "core/metrics.h"

namespace fim::enricher {

class Enricher {
 public:
  Enricher(const config::Config& config, core::Metrics& metrics);

  core::EnrichedEvent enrich(core::FileEvent event) const;

  // Until `in` is closed and drained (or stop); closes `out` when it returns.
  void run(std::stop_token stop, core::BoundedQueue<core::FileEvent>& in,
           core::BoundedQueue<core::EnrichedEvent>& out) const;

 private:
  std::shared_ptr<const core::Metadata> metadata_;
  std::vector<std::vector<std::string>> tagsByModule_;  // global tags then the module's own
  core::Counter& events_;
};

std::string localHostName();

}  // namespace fim::enricher
