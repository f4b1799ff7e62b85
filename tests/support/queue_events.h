#pragma once
// Events for the durable queue's tests: one per path, appended and written as the baseline does.

#include <string>
#include <vector>

#include "core/kv_store.h"
#include "events/file_event.h"
#include "queue/durable_queue.h"

namespace fim::testing {

inline events::FileEvent createdEvent(const std::string& path) {
  events::FileEvent e;
  e.actions = {events::Action::Created};
  e.file.path = path;
  return e;
}

// Appends one `created` event per path in one sealed batch and writes it; true when written.
inline bool appendCreated(queue::DurableQueue& queue, core::KvStore& store, const std::vector<std::string>& paths) {
  core::WriteBatch batch;
  for (const auto& path : paths) {
    auto event = createdEvent(path);
    queue.append(batch, event);
  }
  queue.seal(batch);
  const auto written = store.write(batch);
  queue.published(written);
  return written.has_value();
}

}  // namespace fim::testing
