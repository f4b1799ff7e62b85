#pragma once
// The binary encoding of a whole FileEvent (a durable queue entry). Versioned: version 2 adds when
// the change was first read and whether it was seen live, version 3 a flags byte (found by the scan
// that rebuilt a damaged baseline), version 4 more flags of that byte: the approved change window
// that covers the change (its id, reason and expiry follow), file.elf.* (file_parsers), which
// digests are stale (after a failed hash) and when the acting process started (its time follows),
// version 5 the last two: the package verdict (package_verification) and file_integrity.diff,
// then always the configuration generation that produced the event (older entries belong to
// generation 0); version 1 entries (fimbeat 0.1) are read with both times taken from the
// timestamp, older entries have none of version 4's. An entry of another version is an error,
// not garbage.

#include <string>
#include <string_view>

#include "core/result.h"
#include "events/file_event.h"

namespace fim::queue {

inline constexpr std::uint8_t kEventVersion = 5;

std::string encodeEvent(const events::FileEvent& event);
// `sequence` is the queue position the entry was stored under.
[[nodiscard]] core::Result<events::FileEvent> decodeEvent(std::uint64_t sequence, std::string_view bytes);

}  // namespace fim::queue
