#pragma once
// QueueReader: feeds the events stored in the durable queue, in order, to the rest of the
// pipeline (enricher → mapper → output). After a restart it first replays what was stored and
// not acknowledged.

#include <stop_token>

#include "core/bounded_queue.h"
#include "core/durable_queue.h"
#include "core/event.h"
#include "core/metrics.h"

namespace fim::output {

class QueueReader {
 public:
  QueueReader(core::DurableQueue& queue, core::Metrics& metrics);

  // Until the queue's producer is closed and everything is read (or stop); closes `out` then.
  void run(std::stop_token stop, core::BoundedQueue<core::FileEvent>& out);

 private:
  core::DurableQueue& queue_;
  core::Counter& read_;
};

}  // namespace fim::output
