#pragma once
// The binary encoding of a whole FileEvent (a durable queue entry). Versioned: an entry written by
// another version is an error, not garbage.

#include <string>
#include <string_view>

#include "core/result.h"
#include "events/file_event.h"

namespace fim::queue {

inline constexpr std::uint8_t kEventVersion = 1;

std::string encodeEvent(const events::FileEvent& event);
// `sequence` is the queue position the entry was stored under.
[[nodiscard]] core::Result<events::FileEvent> decodeEvent(std::uint64_t sequence, std::string_view bytes);

}  // namespace fim::queue
