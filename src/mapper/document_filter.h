#pragma once
// DocumentFilter: changes an event's ECS document before it is encoded (processors). Defined here
// so that the builder can be tested with a fake.

#include <cstddef>

#include <rapidjson/document.h>

namespace fim::mapper {

class DocumentFilter {
 public:
  virtual ~DocumentFilter() = default;
  // `module`: index of the configured module that reported the event (its processors run first,
  // then the global ones). False: drop the event.
  virtual bool apply(rapidjson::Document& document, std::size_t module) const = 0;
};

}  // namespace fim::mapper
