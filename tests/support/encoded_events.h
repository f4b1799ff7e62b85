#pragma once
// Wraps plain JSON documents as the EncodedEvents outputs take (ids and sequences numbered from 1).

#include <string>
#include <vector>

#include "core/event.h"

namespace fim::testing {

inline std::vector<core::EncodedEvent> encoded(const std::vector<std::string>& docs) {
  std::vector<core::EncodedEvent> events;
  for (std::size_t i = 0; i < docs.size(); ++i) {
    events.push_back(core::EncodedEvent{i + 1, "id-" + std::to_string(i + 1), docs[i]});
  }
  return events;
}

}  // namespace fim::testing
