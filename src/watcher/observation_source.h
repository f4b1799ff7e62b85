#pragma once
// ObservationSource: what the watcher stage runs; it pushes observations until done or stopped.

#include <stop_token>

#include "core/bounded_queue.h"
#include "core/event.h"

namespace fim::watcher {

class ObservationSource {
 public:
  virtual ~ObservationSource() = default;
  // Returns when stop is requested; a one-shot source may return earlier, once it is done.
  virtual void run(std::stop_token stop, core::BoundedQueue<core::Observation>& out) = 0;
};

}  // namespace fim::watcher
