#pragma once
// ISO-8601 UTC timestamps with millisecond precision, as ECS documents and log lines carry them.

#include <array>
#include <string>
#include <string_view>

#include "core/clock.h"

namespace fim::core {

// "2022-04-20T09:02:19.365Z" into `out` (no allocation); floors to the millisecond, also before 1970.
std::string_view formatTimestamp(TimePoint t, std::array<char, 32>& out);
std::string formatTimestamp(TimePoint t);

}  // namespace fim::core
