#pragma once
// OutputWorker: drains documents from the pipeline into an Output in batches.

#include <stop_token>
#include <string>

#include "core/bounded_queue.h"
#include "core/metrics.h"
#include "output/output.h"

namespace fim::output {

class OutputWorker {
 public:
  OutputWorker(Output& output, core::Metrics& metrics, std::size_t batchSize = 1024);

  // Until `in` is closed and drained, or stop. A failed write is retried with backoff until it
  // succeeds or stop is requested; documents still held then are counted as failed.
  void run(std::stop_token stop, core::BoundedQueue<core::EncodedEvent>& in);

 private:
  [[nodiscard]] bool deliver(std::stop_token stop, const std::vector<core::EncodedEvent>& batch);

  Output& output_;
  std::size_t batchSize_;
  core::Counter& acked_;
  core::Counter& duplicates_;
  core::Counter& dropped_;
  core::Counter& failed_;
  core::Counter& batches_;
  core::Counter& bytes_;
  core::Counter& writeErrors_;
};

}  // namespace fim::output
