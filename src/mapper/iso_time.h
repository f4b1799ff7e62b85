#pragma once
// The mapper's timestamp formatter: the same text as core::formatTimestamp
// ("2022-04-20T09:02:19.365Z", floored to the millisecond), computed with integer arithmetic
// (no gmtime_r, no format string): a document carries several dates and this is its hot path.

#include <array>
#include <cstdint>
#include <limits>
#include <string_view>

#include "core/clock.h"

namespace fim::mapper {

std::string_view formatIsoMillis(core::TimePoint t, std::array<char, 32>& out);

// formatIsoMillis with the date part of the last day it formatted kept: the dates of one event
// (and of consecutive events) mostly fall on the same day.
class IsoMillisFormatter {
 public:
  // The same text as formatIsoMillis; `inRange`: it is a date the schema walk accepts (isIsoDate).
  std::string_view format(core::TimePoint t, std::array<char, 32>& out, bool& inRange);

 private:
  std::int64_t day_ = std::numeric_limits<std::int64_t>::min();
  std::array<char, 11> date_{};  // "2022-04-20T"
};

}  // namespace fim::mapper
