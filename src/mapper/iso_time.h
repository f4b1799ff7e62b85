#pragma once
// The mapper's timestamp formatter: the same text as core::formatTimestamp
// ("2022-04-20T09:02:19.365Z", floored to the millisecond), computed with integer arithmetic
// (no gmtime_r, no format string): a document carries several dates and this is its hot path.

#include <array>
#include <string_view>

#include "core/clock.h"

namespace fim::mapper {

std::string_view formatIsoMillis(core::TimePoint t, std::array<char, 32>& out);

}  // namespace fim::mapper
