#pragma once
// Delivery: the pipeline's last stage, on one thread: events are read from the durable queue in
// order, enriched (agent, host, cloud), mapped to ECS documents (processors, schema), written to
// the output with the one retry policy, and acknowledged, batch by batch. One thread does every
// step: a hand-over between threads costs a wake-up, most of a live event's latency.

#include <stop_token>
#include <vector>

#include "config/config.h"
#include "core/metrics.h"
#include "enricher/enricher.h"
#include "mapper/document_builder.h"
#include "mapper/document_filter.h"
#include "output/output.h"
#include "output/output_worker.h"
#include "pipeline/queue_reader.h"
#include "queue/durable_queue.h"

namespace fim::pipeline {

class Delivery {
 public:
  // `processors` may be null (none configured). Everything passed must outlive the Delivery.
  Delivery(const config::Config& config, queue::DurableQueue& queue, const enricher::Enricher& enricher,
           const mapper::DocumentFilter* processors, output::Output& output, core::Metrics& metrics,
           core::Health* health = nullptr);

  // Until the queue's producer is closed and everything read is delivered, or stop. Events not
  // delivered when stopped stay in the durable queue for the next start. True when it drained.
  bool run(std::stop_token stop);

 private:
  // Enrich, map, write and acknowledge one batch read from the queue; false when stopped first.
  bool deliver(std::vector<events::FileEvent>& batch, std::stop_token stop);

  queue::DurableQueue& queue_;
  const enricher::Enricher& enricher_;
  QueueReader reader_;
  mapper::DocumentBuilder builder_;
  output::OutputWorker worker_;
  std::vector<events::EnrichedEvent> enriched_;
  std::vector<events::EncodedEvent> documents_;
  std::vector<core::TimePoint> liveCreated_;  // event.created of the batch's live changes
  core::Histogram& latency_;                  // pipeline.live_latency_us: kernel event read → written
};

// How many events the output takes per write: for Elasticsearch one full bulk request per worker
// connection (bulk_max_size each), so that a write keeps every connection busy.
std::size_t outputBatchSize(const config::Config& config);

// The outputs' one retry policy: output.elasticsearch.backoff.*, or Beats' defaults (1 s, 60 s).
output::RetryPolicy retryPolicy(const config::Config& config);

}  // namespace fim::pipeline
