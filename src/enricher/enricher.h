#pragma once
// Enricher: gives each event the current metadata snapshot (agent.*, host.*, cloud.*) and its
// module's tags. A background thread probes the cloud once and re-reads host.* every
// cache.ttl, swapping in a new immutable snapshot; events already enriched keep theirs.

#include <atomic>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "core/clock.h"
#include "events/file_event.h"
#include "core/metrics.h"
#include "core/result.h"

namespace fim::enricher {

// The snapshot at start-up: agent.* (id from <path.data>/meta.json, created there on the first
// run; a new ephemeral id; `name:` or the host name; type "fimbeat"; `version`) and host.*.
// No cloud.*: that arrives from the background probe.
[[nodiscard]] core::Result<events::Metadata> collectMetadata(const config::Config& config, const core::Clock& clock,
                                                           const std::string& version);

class Enricher {
 public:
  Enricher(const config::Config& config, core::Metrics& metrics, events::Metadata initial);
  ~Enricher();  // stops the background thread
  Enricher(const Enricher&) = delete;
  Enricher& operator=(const Enricher&) = delete;

  // Starts the background thread: the cloud probe (when add_cloud_metadata is configured), then a
  // host.* refresh every cache.ttl. Never blocks the caller or the events.
  void start();
  // Stops and joins the background thread; a probe in flight is abandoned. Idempotent.
  void stop();

  // Copies the snapshot pointer and the module's tags; nothing else happens per event.
  events::EnrichedEvent enrich(events::FileEvent event) const;
  // The same with a snapshot taken from metadata() once for many events (as enrichBatch() does).
  events::EnrichedEvent enrich(events::FileEvent&& event, const std::shared_ptr<const events::Metadata>& snapshot) const;

  // Moves every event of `in` to `out`, enriched with one snapshot; counts them; clears `in`.
  void enrichBatch(std::vector<events::FileEvent>& in, std::vector<events::EnrichedEvent>& out) const;

  // The snapshot events get now.
  std::shared_ptr<const events::Metadata> metadata() const { return snapshot_.load(std::memory_order_acquire); }

  // Re-reads host.* now (what the background thread does every cache.ttl) and swaps it in.
  void refreshHost();
  // Probes the cloud now (what the background thread does once) and, when a provider answers,
  // swaps in a snapshot with cloud.*. True when one did.
  bool probeCloudNow(std::stop_token stop = {});

 private:
  void background(std::stop_token stop);
  template <typename Change>
  void publish(Change change);

  config::HostMetadataConfig host_;
  config::CloudMetadataConfig cloud_;
  std::atomic<std::shared_ptr<const events::Metadata>> snapshot_;
  std::mutex publishMutex_;  // one writer at a time: a read-modify-swap of the snapshot
  std::vector<std::vector<std::string>> tagsByModule_;  // global tags then the module's own
  core::Counter& events_;
  core::Counter& hostRefreshes_;
  core::Gauge& cloudFound_;
  std::jthread background_;
};

}  // namespace fim::enricher
