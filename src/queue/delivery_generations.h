#pragma once
// The delivery settings of each configuration generation that queued events may still refer to.
// A generation starts when the queue is opened with settings other than the latest ones; the
// events appended from then on carry its number (queue/event_codec.h). It is kept until every
// event of it is acknowledged. Stored as one value in the meta family, versioned.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"
#include "events/delivery_settings.h"

namespace fim::queue {

inline constexpr std::uint8_t kGenerationsVersion = 1;
inline constexpr const char* kGenerationsKey = "queue.generations";

struct Generation {
  std::uint64_t firstSequence = 0;  // the first queue sequence appended under it
  std::shared_ptr<const events::DeliverySettings> settings;
};

using Generations = std::map<std::uint32_t, Generation>;

std::string encodeGenerations(const Generations& generations);
[[nodiscard]] core::Result<Generations> decodeGenerations(std::string_view bytes);

// The generations that still have an event not acknowledged once every sequence up to `acked`
// is: a generation ends where the next one starts, and the latest one is always kept. Pure.
Generations stillNeeded(const Generations& generations, std::uint64_t acked);

// `generations` with `current` as its latest generation: the latest one when its settings are
// the same, else a new one starting at `nextSequence`. An empty map (a queue written before
// generations existed) starts with generation 0, which its old entries decode as. Pure.
Generations withCurrent(Generations generations, const events::DeliverySettings& current, std::uint64_t nextSequence);

}  // namespace fim::queue
