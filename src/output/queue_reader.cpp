#include "output/queue_reader.h"

#include <chrono>

#include "core/logging.h"

namespace fim::output {
namespace {
constexpr std::size_t kBatch = 512;
constexpr std::chrono::milliseconds kWait{200};
constexpr std::chrono::milliseconds kRetry{1000};  // after a store read error
}  // namespace

QueueReader::QueueReader(core::DurableQueue& queue, core::Metrics& metrics)
    : queue_(queue), read_(metrics.counter("queue.read")) {}

void QueueReader::run(std::stop_token stop, const Deliver& deliver) {
  std::vector<core::FileEvent> batch;
  while (!stop.stop_requested() && !queue_.drained()) {
    auto read = queue_.read(batch, kBatch, stop, kWait);
    if (!read) {
      core::logger("queue").error("reading the queue failed, retrying: {}", read.error().message());
      std::mutex m;
      std::condition_variable_any cv;
      std::unique_lock lock(m);
      cv.wait_for(lock, stop, kRetry, [] { return false; });
      continue;
    }
    if (batch.empty()) continue;
    read_.add(static_cast<std::int64_t>(batch.size()));
    if (!deliver(batch)) break;
    batch.clear();
  }
}

}  // namespace fim::output
