#include "enricher/enricher.h"

#include <unistd.h>

#include <algorithm>
#include <climits>

namespace fim::enricher {

std::string localHostName() {
  char name[HOST_NAME_MAX + 1] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "localhost";
  return name;
}

Enricher::Enricher(const config::Config& config, core::Metrics& metrics)
    : hostName_(localHostName()), events_(metrics.counter("enricher.events")) {
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
  enriched.hostName = hostName_;
  if (event.module < tagsByModule_.size()) enriched.tags = tagsByModule_[event.module];
  enriched.event = std::move(event);
  return enriched;
}

void Enricher::run(std::stop_token stop, core::BoundedQueue<core::FileEvent>& in,
                   core::BoundedQueue<core::EnrichedEvent>& out) const {
  while (auto event = in.pop(stop)) {
    events_.add();
    if (!out.push(enrich(std::move(*event)), stop)) break;
  }
  out.close();
}

}  // namespace fim::enricher
