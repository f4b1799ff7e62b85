#pragma once
// ObservationSource: what the watcher stage runs; it pushes observations until done or stopped.

#include <stop_token>

#include "core/bounded_queue.h"
#include "events/file_event.h"
#include "events/observation.h"

namespace fim::watcher {

class ObservationSource {
 public:
  virtual ~ObservationSource() = default;
  // Returns when stop is requested; a one-shot source may return earlier, once it is done.
  virtual void run(std::stop_token stop, core::BoundedQueue<events::Observation>& out) = 0;
  // The pipeline could not take changes for a while (a full queue): verify every root against
  // the baseline as soon as possible. Thread-safe; a source that scans only once ignores it.
  virtual void requestRescan() {}
};

}  // namespace fim::watcher
