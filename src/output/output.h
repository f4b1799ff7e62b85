#pragma once
// Output: where finished event documents go (file, console, Elasticsearch).

#include <cstddef>
#include <span>
#include <stop_token>
#include <string>
#include <vector>

#include "events/file_event.h"
#include "core/result.h"

namespace fim::output {

// How the events of one write() ended. Every event is in exactly one bucket.
struct WriteOutcome {
  std::size_t acked = 0;       // stored by the destination
  std::size_t duplicates = 0;  // already stored (a redelivery after a crash): delivered
  std::size_t dropped = 0;     // refused for good (e.g. a mapping error) under non_indexable_policy: drop
  std::size_t deadLettered = 0;  // refused, then stored in the dead letter index
  std::vector<std::size_t> retry;  // indices of events the destination asked to get again later (429, 5xx)
};

class Output {
 public:
  virtual ~Output() = default;

  // Sends every event once. The outcome puts each event in a bucket, or in `retry` when the
  // destination asked for it again later; an error means the whole write failed and the caller
  // sends every event again (duplicates are recognised by the events' ids). Never waits to retry:
  // the caller's one retry policy does (OutputWorker).
  [[nodiscard]] virtual core::Result<WriteOutcome> write(std::span<const events::EncodedEvent> events,
                                                         std::stop_token stop) = 0;
  // Makes everything written so far durable (file) or visible (console).
  [[nodiscard]] virtual core::Status flush() = 0;
  // The clean stop: flushed and released. Nothing is written after it; the destructor writes nothing.
  [[nodiscard]] virtual core::Status close() = 0;
  // For log lines, e.g. "file output writing to /var/lib/fimbeat/events/fimbeat-20261121.ndjson".
  virtual std::string describe() const = 0;
};

}  // namespace fim::output
