#include "output/output_worker.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>

#include "core/logging.h"

namespace fim::output {
namespace {

// Written documents are visible at once; fdatasync runs at most this often, and this long after
// the last write at the latest.
constexpr std::chrono::milliseconds kFlushEvery{1000};

// Waits for `delay` unless stop is requested first; true when the full delay passed.
bool waitFor(std::stop_token stop, std::chrono::milliseconds delay) {
  std::mutex mutex;
  std::condition_variable_any cv;
  std::unique_lock lock(mutex);
  return !cv.wait_for(lock, stop, delay, [] { return false; }) && !stop.stop_requested();
}

}  // namespace

OutputWorker::OutputWorker(Output& output, core::Metrics& metrics, std::size_t batchSize, Acknowledge acknowledge)
    : output_(output),
      batchSize_(batchSize),
      acknowledge_(std::move(acknowledge)),
      acked_(metrics.counter("output.events.acked")),
      duplicates_(metrics.counter("output.events.duplicates")),
      dropped_(metrics.counter("output.events.dropped")),
      failed_(metrics.counter("output.events.failed")),
      batches_(metrics.counter("output.events.batches")),
      bytes_(metrics.counter("output.write.bytes")),
      writeErrors_(metrics.counter("output.write.errors")) {}

bool OutputWorker::deliver(std::stop_token stop, const std::vector<core::EncodedEvent>& batch) {
  auto& log = core::logger("output");
  std::chrono::milliseconds backoff(100);
  while (true) {
    auto written = output_.write(batch, stop);
    if (written) {
      acked_.add(static_cast<std::int64_t>(written->acked + written->deadLettered));
      duplicates_.add(static_cast<std::int64_t>(written->duplicates));
      dropped_.add(static_cast<std::int64_t>(written->dropped));
      return true;
    }
    writeErrors_.add();
    log.error("writing {} events failed, retrying in {} ms: {}", batch.size(), backoff.count(),
              written.error().message());
    if (!waitFor(stop, backoff)) return false;
    backoff = std::min(backoff * 2, std::chrono::milliseconds(30000));
  }
}

void OutputWorker::run(std::stop_token stop, core::BoundedQueue<core::EncodedEvent>& in) {
  auto& log = core::logger("output");
  std::vector<core::EncodedEvent> batch;
  bool dirty = false;
  auto lastFlush = std::chrono::steady_clock::now();
  const auto flush = [&] {
    if (auto flushed = output_.flush(); !flushed) log.error("flushing output failed: {}", flushed.error().message());
    dirty = false;
    lastFlush = std::chrono::steady_clock::now();
  };
  while (!(in.closed() && in.size() == 0)) {
    if (in.popBatchFor(batch, batchSize_, stop, kFlushEvery) == 0) {
      if (stop.stop_requested()) break;
      if (dirty) flush();  // quiet for a while: make what was written durable
      continue;
    }
    if (!deliver(stop, batch)) {
      failed_.add(static_cast<std::int64_t>(batch.size()));
      break;
    }
    if (acknowledge_) {
      std::uint64_t last = 0;
      for (const auto& event : batch) last = std::max(last, event.sequence);
      if (last > 0) acknowledge_(last);
    }
    std::uint64_t size = 0;
    for (const auto& event : batch) size += event.json.size() + 1;
    bytes_.add(static_cast<std::int64_t>(size));
    batches_.add();
    batch.clear();
    dirty = true;
    if (std::chrono::steady_clock::now() - lastFlush >= kFlushEvery) flush();
  }
  std::int64_t left = 0;
  while (in.tryPop()) ++left;
  if (left > 0) {
    failed_.add(left);
    log.warn("stopped with {} events not delivered; they stay in the durable queue for the next start", left);
  }
  flush();
}

}  // namespace fim::output
