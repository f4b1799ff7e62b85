#include "mapper/iso_time.h"

#include "core/time_format.h"
#include "mapper/coerce.h"

#include <algorithm>
#include <utility>

namespace fim::mapper {
namespace {

void digits(char* at, int value, int count) {
  for (int i = count - 1; i >= 0; --i, value /= 10) at[i] = static_cast<char>('0' + value % 10);
}

// Days since the epoch and milliseconds into that day, flooring also before 1970.
std::pair<std::int64_t, std::int64_t> splitDay(core::TimePoint t) {
  const std::int64_t millis = std::chrono::floor<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::int64_t day = millis / 86400000;
  std::int64_t inDay = millis % 86400000;
  if (inDay < 0) {
    inDay += 86400000;
    --day;
  }
  return {day, inDay};
}

// "HH:MM:SS.mmmZ" at p + 11, after the date part "YYYY-MM-DDT"; the whole text is 24 characters.
std::string_view finishTime(std::array<char, 32>& out, std::int64_t inDay) {
  char* p = out.data();
  const int ms = static_cast<int>(inDay % 1000);
  const int secs = static_cast<int>(inDay / 1000);
  digits(p + 11, secs / 3600, 2);
  p[13] = ':';
  digits(p + 14, secs / 60 % 60, 2);
  p[16] = ':';
  digits(p + 17, secs % 60, 2);
  p[19] = '.';
  digits(p + 20, ms, 3);
  p[23] = 'Z';
  return std::string_view(out.data(), 24);
}

}  // namespace

std::string_view formatIsoMillis(core::TimePoint t, std::array<char, 32>& out) {
  const auto [days, inDay] = splitDay(t);
  // Days since 1970-01-01 to a civil date (Howard Hinnant's days_from_civil, inverted).
  const std::int64_t z = days + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const int day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  const std::int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  if (year < 0 || year > 9999) return core::formatTimestamp(t, out);  // beyond four digits: the general one
  char* p = out.data();
  digits(p, static_cast<int>(year), 4);
  p[4] = '-';
  digits(p + 5, month, 2);
  p[7] = '-';
  digits(p + 8, day, 2);
  p[10] = 'T';
  return finishTime(out, inDay);
}

std::string_view IsoMillisFormatter::format(core::TimePoint t, std::array<char, 32>& out, bool& inRange) {
  const auto [day, inDay] = splitDay(t);
  if (day != day_) {
    const std::string_view full = formatIsoMillis(t, out);
    inRange = full.size() == 24 && isIsoDate(full);  // what the schema walk accepts as a date
    if (!inRange) return full;
    std::copy_n(full.data(), date_.size(), date_.data());
    day_ = day;
    return full;
  }
  inRange = true;
  std::copy_n(date_.data(), date_.size(), out.data());
  return finishTime(out, inDay);
}

}  // namespace fim::mapper
