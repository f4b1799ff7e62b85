#include "enricher/enricher.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>

#include "core/logging.h"
#include "enricher/agent_id.h"
#include "enricher/cloud/cloud_probe.h"
#include "enricher/host_info.h"

namespace fim::enricher {

core::Result<events::Metadata> collectMetadata(const config::Config& config, const core::Clock& clock,
                                             const std::string& version) {
  auto identity = loadOrCreateAgentId(config.paths.data, clock);
  if (!identity) return std::unexpected(identity.error().context("reading the agent id"));
  auto ephemeral = newUuidV4();
  if (!ephemeral) return std::unexpected(ephemeral.error());
  events::Metadata metadata;
  metadata.host = readHostInfo("/", config.hostMetadata.netinfo);
  metadata.agent.id = identity->id;
  metadata.agent.ephemeralId = *ephemeral;
  metadata.agent.name = config.name.empty() ? metadata.host.hostname : config.name;
  metadata.agent.version = version;
  if (identity->created) core::logger("enricher").info("new agent id {} saved in {}/meta.json", identity->id, config.paths.data);
  return metadata;
}

Enricher::Enricher(const config::Config& config, core::Metrics& metrics, events::Metadata initial)
    : host_(config.hostMetadata),
      cloud_(config.cloudMetadata),
      snapshot_(std::make_shared<const events::Metadata>(std::move(initial))),
      events_(metrics.counter("enricher.events")),
      hostRefreshes_(metrics.counter("enricher.host.refreshes")),
      cloudFound_(metrics.gauge("enricher.cloud.found")) {
  for (const auto& module : config.modules) {
    std::vector<std::string> tags = config.tags;
    for (const auto& t : module.tags) {
      if (std::find(tags.begin(), tags.end(), t) == tags.end()) tags.push_back(t);
    }
    tagsByModule_.push_back(std::move(tags));
  }
}

Enricher::~Enricher() { stop(); }

void Enricher::start() {
  if (background_.joinable()) return;
  background_ = std::jthread([this](std::stop_token stop) {
    try {
      background(stop);
    } catch (const std::exception& e) {
      core::logger("enricher").error("metadata refresh stopped by an unexpected error: {}; events keep the last snapshot", e.what());
    }
  });
}

void Enricher::stop() {
  if (!background_.joinable()) return;
  background_.request_stop();
  background_.join();
}

template <typename Change>
void Enricher::publish(Change change) {
  std::lock_guard lock(publishMutex_);
  auto next = std::make_shared<events::Metadata>(*snapshot_.load(std::memory_order_acquire));
  change(*next);
  snapshot_.store(std::move(next), std::memory_order_release);
}

void Enricher::refreshHost() {
  auto host = readHostInfo("/", host_.netinfo);
  publish([&](events::Metadata& m) { m.host = std::move(host); });
  hostRefreshes_.add();
}

bool Enricher::probeCloudNow(std::stop_token stop) {
  const auto options = CloudProbeOptions::from(cloud_);
  auto result = probeCloud(options, stop);
  auto& log = core::logger("enricher");
  if (!result.cloud) {
    if (stop.stop_requested()) return false;
    log.info("add_cloud_metadata: no provider answered within {} ms; events carry no cloud.* fields", options.timeout.count());
    for (const auto& failure : result.failures) log.debug("add_cloud_metadata: {}", failure);
    return false;
  }
  // Published before it is logged: the line promises that events enriched after it carry cloud.*.
  const events::CloudInfo found = *result.cloud;
  publish([&](events::Metadata& m) { m.cloud = std::move(result.cloud); });
  cloudFound_.set(1);
  log.info("add_cloud_metadata: provider {} answered in {} ms (instance {}, region {}); later events carry cloud.*",
           found.provider, result.elapsed.count(), found.instanceId, found.region);
  return true;
}

void Enricher::background(std::stop_token stop) {
  if (cloud_.enabled) probeCloudNow(stop);
  if (host_.cacheTtl <= config::Duration::zero()) return;
  std::mutex mutex;
  std::condition_variable_any wake;
  std::unique_lock lock(mutex);
  while (!stop.stop_requested()) {
    wake.wait_for(lock, stop, host_.cacheTtl, [] { return false; });
    if (stop.stop_requested()) break;
    refreshHost();
  }
}

events::EnrichedEvent Enricher::enrich(events::FileEvent event) const { return enrich(std::move(event), metadata()); }

events::EnrichedEvent Enricher::enrich(events::FileEvent&& event, const std::shared_ptr<const events::Metadata>& snapshot) const {
  static const std::vector<std::string> kNoTags;
  const auto& tags = event.module < tagsByModule_.size() ? tagsByModule_[event.module] : kNoTags;
  return events::EnrichedEvent{std::move(event), snapshot, tags};  // one move of the event, no default-then-assign
}

void Enricher::enrichBatch(std::vector<events::FileEvent>& in, std::vector<events::EnrichedEvent>& out) const {
  events_.add(static_cast<std::int64_t>(in.size()));
  const auto snapshot = metadata();  // one load per batch
  out.reserve(out.size() + in.size());
  for (auto& event : in) out.push_back(enrich(std::move(event), snapshot));
  in.clear();
}

}  // namespace fim::enricher
