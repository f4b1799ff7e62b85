#include <doctest/doctest.h>

#include "core/time_format.h"

using namespace fim;

TEST_CASE("formatTimestamp: ISO-8601 UTC with milliseconds, floored, also before 1970") {
  using std::chrono::milliseconds;
  CHECK(core::formatTimestamp(core::TimePoint(milliseconds(0))) == "1970-01-01T00:00:00.000Z");
  CHECK(core::formatTimestamp(core::TimePoint(milliseconds(1650445339365))) == "2022-04-20T09:02:19.365Z");
  CHECK(core::formatTimestamp(core::TimePoint(milliseconds(951782400000))) == "2000-02-29T00:00:00.000Z");
  CHECK(core::formatTimestamp(core::TimePoint(milliseconds(-1))) == "1969-12-31T23:59:59.999Z");
  CHECK(core::formatTimestamp(core::TimePoint(milliseconds(4102444799999))) == "2099-12-31T23:59:59.999Z");
  // Nanoseconds are floored to the millisecond, never rounded up.
  CHECK(core::formatTimestamp(core::TimePoint(std::chrono::nanoseconds(1650445339365999999))) ==
        "2022-04-20T09:02:19.365Z");
}
