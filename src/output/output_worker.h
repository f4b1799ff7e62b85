#pragma once
// OutputWorker: delivers batches of documents to an Output with the outputs' one retry policy
// (output/backoff.h): a failed write is sent again whole, the events the destination asked to
// get again are resent alone, each after the next backoff delay; progress starts the backoff
// over. Then it acknowledges the batch to the durable queue, and makes what was written durable
// from time to time. It runs on the caller's thread (the pipeline's delivery thread).

#include <chrono>
#include <cstdint>
#include <functional>
#include <stop_token>
#include <vector>

#include "events/file_event.h"
#include "core/health.h"
#include "core/metrics.h"
#include "output/backoff.h"
#include "output/output.h"

namespace fim::output {

class OutputWorker {
 public:
  // Called with the highest queue sequence of each delivered batch (the durable queue then drops
  // every entry up to it).
  using Acknowledge = std::function<void(std::uint64_t)>;

  // `health` (may be null): the output unit is DEGRADED while writes fail, with the cause.
  OutputWorker(Output& output, core::Metrics& metrics, RetryPolicy retry, Acknowledge acknowledge = {},
               core::Health* health = nullptr);

  // Writes `documents`, retrying until every one is delivered, then acknowledges every queue
  // entry up to `lastSequence` (which covers entries a processor dropped). False when stop was
  // requested first: nothing is acknowledged and the entries stay in the durable queue.
  [[nodiscard]] bool deliver(std::stop_token stop, const std::vector<events::EncodedEvent>& documents,
                             std::uint64_t lastSequence);
  // Nothing arrived for a while: makes what was written durable (fdatasync for a file) once
  // nothing has been written for a moment.
  void idle();
  // The last call: flushes, and counts and logs the `undelivered` events that stay queued.
  void finish(std::size_t undelivered);

 private:
  void flush();
  void count(const WriteOutcome& outcome);

  Output& output_;
  RetryPolicy retry_;
  Acknowledge acknowledge_;
  core::Health* health_;
  bool dirty_ = false;  // written since the last flush
  std::chrono::steady_clock::time_point lastFlush_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point lastWrite_;
  core::Counter& acked_;
  core::Counter& duplicates_;
  core::Counter& dropped_;
  core::Counter& failed_;
  core::Counter& batches_;
  core::Counter& bytes_;
  core::Counter& writeErrors_;
};

}  // namespace fim::output
