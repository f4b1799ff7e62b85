#pragma once
// process.entity_id as Elastic's Beats compute it (Auditbeat's system/process dataset and
// libbeat's add_process_metadata): the SHA-256 of the host's unique id (its machine id), the pid
// and the nanoseconds part of the start time (each an int64, little-endian), cut to 12 bytes and
// written in unpadded standard base64. Go's start time is the boot time (whole seconds) plus
// float64(ticks) / 100 seconds; processStartTime() computes it the same way, to the nanosecond.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/clock.h"

namespace fim::core {

// "" when hostId is empty (Beats leaves the field out then).
std::string processEntityId(std::string_view hostId, std::int64_t pid, TimePoint startTime);

// bootSeconds: /proc/stat's btime; ticks: field 22 of /proc/<pid>/stat (USER_HZ is 100, as Go assumes).
TimePoint processStartTime(std::int64_t bootSeconds, std::uint64_t ticks);

}  // namespace fim::core
