#pragma once
// queue::Producer: the durable queue as the baseline sees it. The baseline appends each event to
// the same WriteBatch that moves its record, so a change is durable exactly when the baseline has
// moved (the one deliberate edge baseline → queue; see docs/design/pipeline.md).

#include <stop_token>

#include "core/kv_store.h"
#include "events/file_event.h"

namespace fim::queue {

class Producer {
 public:
  virtual ~Producer() = default;
  // Adds the event to `batch` and sets event.sequence. Readers see it once the batch is written.
  virtual void append(core::WriteBatch& batch, events::FileEvent& event) = 0;
  // Adds the queue's own counters to `batch`; call once, after the last append, before writing it.
  virtual void seal(core::WriteBatch& batch) = 0;
  // The sealed batch was written, or not (its entries never existed; the store's error says why).
  virtual void published(const core::Status& written) = 0;
  // Blocks while the queue is full, the disk is nearly full or the store refuses writes
  // (backpressure, logged and counted). False when stopped first.
  virtual bool waitForSpace(std::stop_token stop) = 0;
  // No more appends: readers end once they have read everything.
  virtual void closeProducer() = 0;
};

}  // namespace fim::queue
