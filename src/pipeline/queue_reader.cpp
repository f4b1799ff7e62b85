#include "pipeline/queue_reader.h"

#include <algorithm>
#include <chrono>

#include "core/logging.h"

namespace fim::pipeline {
namespace {
constexpr std::chrono::milliseconds kWait{200};
constexpr std::chrono::milliseconds kRetry{1000};  // after a store read error
}  // namespace

QueueReader::QueueReader(queue::DurableQueue& queue, core::Metrics& metrics, std::size_t batchSize)
    : queue_(queue), batchSize_(std::max<std::size_t>(batchSize, 1)), read_(metrics.counter("queue.read")) {}

void QueueReader::run(std::stop_token stop, const Deliver& deliver, const Idle& idle) {
  std::vector<events::FileEvent> batch;
  while (!stop.stop_requested() && !queue_.drained()) {
    auto read = queue_.read(batch, batchSize_, stop, kWait);
    if (!read) {
      core::logger("queue").error("reading the queue failed, retrying: {}", read.error().message());
      std::mutex m;
      std::condition_variable_any cv;
      std::unique_lock lock(m);
      cv.wait_for(lock, stop, kRetry, [] { return false; });
      continue;
    }
    if (batch.empty()) {
      idle();
      continue;
    }
    read_.add(static_cast<std::int64_t>(batch.size()));
    if (!deliver(batch)) break;
    batch.clear();
  }
}

}  // namespace fim::pipeline
