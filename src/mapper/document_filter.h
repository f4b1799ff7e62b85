#pragma once
// DocumentFilter: changes an event's ECS document before it is encoded (processors). Defined here
// so that the builder can be tested with a fake.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <rapidjson/document.h>

namespace fim::mapper {

// What processors may need to know of an event beyond its document: what the durable queue
// keeps of it, so that a redelivery gets the same answers (add_id's id).
struct EventContext {
  std::uint64_t sequence = 0;      // the event's position in the durable queue
  std::int64_t createdMillis = 0;  // event.created, in milliseconds since the epoch
  std::string_view agentId;        // agent.id
};

class DocumentFilter {
 public:
  virtual ~DocumentFilter() = default;
  // `module`: index of the configured module that reported the event (its processors run first,
  // then the global ones). False: drop the event.
  virtual bool apply(rapidjson::Document& document, std::size_t module, const EventContext& context) const = 0;
  bool apply(rapidjson::Document& document, std::size_t module) const { return apply(document, module, EventContext{}); }
};

}  // namespace fim::mapper
