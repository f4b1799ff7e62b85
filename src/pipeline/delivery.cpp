#include "pipeline/delivery.h"

#include <algorithm>

#include "core/logging.h"

namespace fim::pipeline {
namespace {

constexpr std::size_t kFileBatch = 256;  // events per write of the file and console outputs

}  // namespace

std::size_t outputBatchSize(const config::Config& config) {
  if (config.output.kind != config::OutputKind::Elasticsearch) return kFileBatch;
  const auto& es = config.output.elasticsearch;
  return static_cast<std::size_t>(es.bulkMaxSize) * static_cast<std::size_t>(std::max(es.worker, 1));
}

output::RetryPolicy retryPolicy(const config::Config& config) {
  output::RetryPolicy policy;
  if (config.output.kind == config::OutputKind::Elasticsearch) {
    policy.init = std::chrono::duration_cast<std::chrono::milliseconds>(config.output.elasticsearch.backoffInit);
    policy.max = std::chrono::duration_cast<std::chrono::milliseconds>(config.output.elasticsearch.backoffMax);
  }
  return policy;
}

Delivery::Delivery(const config::Config& config, queue::DurableQueue& queue, const enricher::Enricher& enricher,
                   const mapper::DocumentFilter* processors, output::Output& output, core::Metrics& metrics,
                   core::Health* health)
    : queue_(queue),
      enricher_(enricher),
      reader_(queue, metrics, outputBatchSize(config)),
      builder_(config, metrics, processors),
      worker_(output, metrics, retryPolicy(config), [&queue](std::uint64_t sequence) {
        if (auto acked = queue.acknowledge(sequence); !acked) {
          core::logger("queue").error("removing delivered events from the queue failed: {}", acked.error().message());
        }
      }, health),
      latency_(metrics.histogram("pipeline.live_latency_us")) {}

bool Delivery::deliver(std::vector<events::FileEvent>& batch, std::stop_token stop) {
  const std::uint64_t last = batch.back().sequence;  // acknowledged even if a processor drops it
  liveCreated_.clear();
  for (const auto& event : batch) {
    if (event.live) liveCreated_.push_back(event.created);
  }
  enricher_.enrichBatch(batch, enriched_);
  builder_.mapBatch(enriched_, documents_);
  const bool delivered = worker_.deliver(stop, documents_, last);
  documents_.clear();
  if (delivered) {
    const auto now = std::chrono::system_clock::now();
    for (const auto created : liveCreated_) {
      const auto us = std::chrono::duration_cast<std::chrono::microseconds>(now - created).count();
      latency_.record(static_cast<std::uint64_t>(std::max<std::int64_t>(us, 0)));
    }
  }
  return delivered;
}

bool Delivery::run(std::stop_token stop) {
  bool stopped = false;
  reader_.run(
      stop,
      [&](std::vector<events::FileEvent>& batch) {
        stopped = !deliver(batch, stop);
        return !stopped;
      },
      [&] { worker_.idle(); });
  stopped = stopped || !queue_.drained();
  // Stopped in the middle: everything still queued waits for the next start.
  worker_.finish(stopped ? queue_.events() : 0);
  return !stopped;
}

}  // namespace fim::pipeline
