#pragma once
// DocumentBuilder: EnrichedEvent → one ECS JSON document (nested objects, arrays where ECS
// normalizes to arrays). Strings that are not valid UTF-8 get U+FFFD for each bad byte.

#include <string>

#include "core/bounded_queue.h"
#include "core/event.h"
#include "core/metrics.h"

namespace fim::mapper {

inline constexpr const char* kDataset = "fim.event";
inline constexpr const char* kModule = "file_integrity";

class DocumentBuilder {
 public:
  explicit DocumentBuilder(core::Metrics& metrics);

  std::string build(const core::EnrichedEvent& event) const;

  // Until `in` is closed and drained (or stop); closes `out` when it returns.
  void run(std::stop_token stop, core::BoundedQueue<core::EnrichedEvent>& in,
           core::BoundedQueue<core::EncodedEvent>& out) const;

 private:
  core::Counter& events_;
};

}  // namespace fim::mapper
