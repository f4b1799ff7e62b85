#include "enricher/enricher.h"

#include <unistd.h>

#include <algorithm>
#include <climits>

namespace fim::enricher {
namespace {
constexpr std::size_t kBatch = 256;  // events taken per wake-up
}  // namespace

std::string localHostName() {
  char name[HOST_NAME_MAX + 1] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "localhost";
  return name;
}

Enricher::Enricher(const config::Config& config, core::Metrics& metrics)
    : metadata_(std::make_shared<core::Metadata>(core::Metadata{.host = {.hostname = localHostName(), .name = localHostName()}})),
      events_(metrics.counter("enricher.events")) {
  for (const auto& module : config.modules) {
    std::vector<std::string> tags = config.tags;
    for (const auto& t : module.tags) {
      if (std::find(tags.begin(), tags.end(), t) == tags.end()) tags.push_back(t);
    }
    tagsByModule_.push_back(std::move(tags));
  }
}

core::EnrichedEvent Enricher::enrich(core::FileEvent event) const {
  core::EnrichedEvent enriched;
  enriched.metadata = metadata_;
  if (event.module < tagsByModule_.size()) enriched.tags = tagsByModule_[event.module];
  enriched.event = std::move(event);
  return enriched;
}

void Enricher::run(std::stop_token stop, core::BoundedQueue<core::FileEvent>& in,
                   core::BoundedQueue<core::EnrichedEvent>& out) const {
  std::vector<core::FileEvent> batch;
  std::vector<core::EnrichedEvent> enriched;
  while (in.popBatch(batch, kBatch, stop) > 0) {
    events_.add(static_cast<std::int64_t>(batch.size()));
    for (auto& event : batch) enriched.push_back(enrich(std::move(event)));
    batch.clear();
    if (!out.pushBatch(enriched, stop)) break;
  }
  out.close();
}

}  // namespace fim::enricher
