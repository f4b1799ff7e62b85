#include "output/output_worker.h"

#include <algorithm>
#include <chrono>
#include <span>

#include "core/logging.h"

namespace fim::output {
namespace {

// Written documents are visible at once; fdatasync runs at most this often while writes go on,
// and once nothing has been written for kQuietBeforeFlush after them.
constexpr std::chrono::milliseconds kFlushEvery{1000};
constexpr std::chrono::milliseconds kQuietBeforeFlush{150};  // under the reader's 200 ms wait

}  // namespace

OutputWorker::OutputWorker(Output& output, core::Metrics& metrics, RetryPolicy retry, Acknowledge acknowledge,
                           core::Health* health)
    : output_(output),
      retry_(retry),
      acknowledge_(std::move(acknowledge)),
      health_(health),
      acked_(metrics.counter("output.events.acked")),
      duplicates_(metrics.counter("output.events.duplicates")),
      dropped_(metrics.counter("output.events.dropped")),
      failed_(metrics.counter("output.events.failed")),
      batches_(metrics.counter("output.events.batches")),
      bytes_(metrics.counter("output.write.bytes")),
      writeErrors_(metrics.counter("output.write.errors")) {}

bool OutputWorker::deliver(std::stop_token stop, const std::vector<events::EncodedEvent>& documents,
                           std::uint64_t lastSequence) {
  auto& log = core::logger("output");
  Backoff backoff(retry_);
  std::vector<events::EncodedEvent> pending;  // what is left to send after a partial write (copied only then)
  std::span<const events::EncodedEvent> left(documents);
  while (!left.empty()) {
    auto written = output_.write(left, stop);
    if (written) {
      count(*written);
      if (written->retry.empty()) break;
      if (written->retry.size() < left.size()) backoff.reset();  // progress: the backoff starts over
      std::vector<events::EncodedEvent> again;
      again.reserve(written->retry.size());
      for (const std::size_t i : written->retry) again.push_back(left[i]);
      pending = std::move(again);
      left = pending;
    }
    const auto delay = backoff.next();
    if (written) {
      log.debug("{} events to send again, in {} ms", left.size(), delay.count());
    } else {
      log.error("writing {} events failed, retrying in {} ms: {}", left.size(), delay.count(), written.error().message());
      if (health_) {
        health_->set(core::Health::kOutput, "write", core::HealthState::Degraded,
                     "retrying: " + written.error().message());
      }
      writeErrors_.add();  // after the health: whoever sees the count sees the reason too
    }
    if (!waitUnlessStopped(stop, delay)) return false;
  }
  if (health_) health_->clear(core::Health::kOutput, "write");
  if (acknowledge_ && lastSequence > 0) acknowledge_(lastSequence);
  if (documents.empty()) return true;
  std::uint64_t size = 0;
  for (const auto& document : documents) size += document.json.size() + 1;
  bytes_.add(static_cast<std::int64_t>(size));
  batches_.add();
  dirty_ = true;
  lastWrite_ = std::chrono::steady_clock::now();
  if (lastWrite_ - lastFlush_ >= kFlushEvery) flush();
  return true;
}

void OutputWorker::count(const WriteOutcome& outcome) {
  acked_.add(static_cast<std::int64_t>(outcome.acked + outcome.deadLettered));
  duplicates_.add(static_cast<std::int64_t>(outcome.duplicates));
  dropped_.add(static_cast<std::int64_t>(outcome.dropped));
}

void OutputWorker::idle() {
  // The reader also comes back empty from a short wait for a batch it was told to expect: a
  // flush then would put an fdatasync in the middle of a burst.
  if (dirty_ && std::chrono::steady_clock::now() - lastWrite_ >= kQuietBeforeFlush) flush();
}

void OutputWorker::finish(std::size_t undelivered) {
  if (undelivered > 0) {
    failed_.add(static_cast<std::int64_t>(undelivered));
    core::logger("output").warn(
        "stopped with {} events not delivered; they stay in the durable queue for the next start", undelivered);
  }
  flush();
}

void OutputWorker::flush() {
  if (auto flushed = output_.flush(); !flushed) {
    core::logger("output").error("flushing output failed: {}", flushed.error().message());
  }
  dirty_ = false;
  lastFlush_ = std::chrono::steady_clock::now();
}

}  // namespace fim::output
