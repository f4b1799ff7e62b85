#pragma once
// Wraps plain JSON documents as the EncodedEvents outputs take (ids and sequences numbered from 1).

#include <string>
#include <vector>

#include "events/file_event.h"

namespace fim::testing {

inline std::vector<events::EncodedEvent> encoded(const std::vector<std::string>& docs) {
  std::vector<events::EncodedEvent> events;
  for (std::size_t i = 0; i < docs.size(); ++i) {
    events.push_back(events::EncodedEvent{i + 1, "id-" + std::to_string(i + 1), docs[i]});
  }
  return events;
}

}  // namespace fim::testing
