#pragma once
// OutputWorker: drains documents from the pipeline into an Output in batches.

#include <functional>
#include <stop_token>
#include <string>

#include "core/bounded_queue.h"
#include "core/metrics.h"
#include "output/output.h"

namespace fim::output {

class OutputWorker {
 public:
  // Called with the highest sequence of each delivered batch (the durable queue then drops them).
  using Acknowledge = std::function<void(std::uint64_t)>;

  OutputWorker(Output& output, core::Metrics& metrics, std::size_t batchSize = 1024, Acknowledge acknowledge = {});

  // Until `in` is closed and drained, or stop. A failed write is retried with backoff until it
  // succeeds or stop is requested; what is not delivered then stays in the durable queue.
  void run(std::stop_token stop, core::BoundedQueue<core::EncodedEvent>& in);

 private:
  [[nodiscard]] bool deliver(std::stop_token stop, const std::vector<core::EncodedEvent>& batch);

  Output& output_;
  std::size_t batchSize_;
  Acknowledge acknowledge_;
  core::Counter& acked_;
  core::Counter& duplicates_;
  core::Counter& dropped_;
  core::Counter& failed_;
  core::Counter& batches_;
  core::Counter& bytes_;
  core::Counter& writeErrors_;
};

}  // namespace fim::output
