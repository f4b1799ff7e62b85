#include "output/output_worker.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>

#include "core/logging.h"

namespace fim::output {
namespace {

// Written documents are visible at once; fdatasync runs at most this often while writes go on,
// and once nothing has been written for kQuietBeforeFlush after them.
constexpr std::chrono::milliseconds kFlushEvery{1000};
constexpr std::chrono::milliseconds kQuietBeforeFlush{150};  // under the reader's 200 ms wait

// Waits for `delay` unless stop is requested first; true when the full delay passed.
bool waitFor(std::stop_token stop, std::chrono::milliseconds delay) {
  std::mutex mutex;
  std::condition_variable_any cv;
  std::unique_lock lock(mutex);
  return !cv.wait_for(lock, stop, delay, [] { return false; }) && !stop.stop_requested();
}

}  // namespace

OutputWorker::OutputWorker(Output& output, core::Metrics& metrics, Acknowledge acknowledge)
    : output_(output),
      acknowledge_(std::move(acknowledge)),
      acked_(metrics.counter("output.events.acked")),
      duplicates_(metrics.counter("output.events.duplicates")),
      dropped_(metrics.counter("output.events.dropped")),
      failed_(metrics.counter("output.events.failed")),
      batches_(metrics.counter("output.events.batches")),
      bytes_(metrics.counter("output.write.bytes")),
      writeErrors_(metrics.counter("output.write.errors")) {}

bool OutputWorker::deliver(std::stop_token stop, const std::vector<core::EncodedEvent>& documents,
                           std::uint64_t lastSequence) {
  auto& log = core::logger("output");
  std::chrono::milliseconds backoff(100);
  while (!documents.empty()) {
    auto written = output_.write(documents, stop);
    if (written) {
      acked_.add(static_cast<std::int64_t>(written->acked + written->deadLettered));
      duplicates_.add(static_cast<std::int64_t>(written->duplicates));
      dropped_.add(static_cast<std::int64_t>(written->dropped));
      break;
    }
    writeErrors_.add();
    log.error("writing {} events failed, retrying in {} ms: {}", documents.size(), backoff.count(),
              written.error().message());
    if (!waitFor(stop, backoff)) return false;
    backoff = std::min(backoff * 2, std::chrono::milliseconds(30000));
  }
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
