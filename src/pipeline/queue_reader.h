#pragma once
// QueueReader: feeds the events stored in the durable queue, in order, to the rest of the
// pipeline (enricher → mapper → output). After a restart it first replays what was stored and
// not acknowledged.

#include <functional>
#include <stop_token>
#include <vector>

#include "queue/durable_queue.h"
#include "events/file_event.h"
#include "core/metrics.h"

namespace fim::pipeline {

class QueueReader {
 public:
  // Takes a batch of events in queue order (and may move from it); false stops the reader.
  using Deliver = std::function<bool(std::vector<events::FileEvent>& batch)>;
  // Called when nothing new arrived for a while.
  using Idle = std::function<void()>;

  // Batches hold up to `batchSize` events.
  QueueReader(queue::DurableQueue& queue, core::Metrics& metrics, std::size_t batchSize);

  // Until the queue's producer is closed and everything is read, deliver refuses, or stop.
  void run(std::stop_token stop, const Deliver& deliver, const Idle& idle);

 private:
  queue::DurableQueue& queue_;
  const std::size_t batchSize_;
  core::Counter& read_;
};

}  // namespace fim::pipeline
