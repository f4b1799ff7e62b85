#include <doctest/doctest.h>

#include "core/entity_id.h"

using namespace fim;

// Expected values computed independently (Python: hashlib.sha256 of the machine id, then
// struct.pack('<q', pid) and struct.pack('<q', nanos); base64 of the first 12 bytes), following
// Auditbeat's system/process entityID and libbeat's add_process_metadata.
TEST_CASE("entity id: SHA-256 of the host id, pid and start-time nanoseconds, 12 bytes in base64") {
  const std::string host = "4a0cbe3f2e7a4c2bb1c9d3e8f0a1b2c3";
  const auto start = core::TimePoint(std::chrono::seconds(1'700'000'000) + std::chrono::milliseconds(290));
  CHECK(core::processEntityId(host, 4242, start) == "0wbP41nZ8efSkAWC");
  CHECK(core::processEntityId("", 4242, start).empty());  // Beats leaves it out without a host id
  // Only the nanoseconds within the second count, as Go's Time.Nanosecond().
  CHECK(core::processEntityId(host, 4242, start + std::chrono::seconds(3)) == "0wbP41nZ8efSkAWC");
  CHECK(core::processEntityId(host, 4243, start) != "0wbP41nZ8efSkAWC");
}

TEST_CASE("entity id: the start time is Go's float arithmetic, truncation included") {
  // 201 ticks: float64(201) / 100 * 1e9 is 2009999999.9999998, truncated to 2009999999 ns.
  const auto start = core::processStartTime(1'700'000'000, 201);
  CHECK(std::chrono::duration_cast<std::chrono::nanoseconds>(start.time_since_epoch()).count() ==
        1'700'000'002'009'999'999LL);
  CHECK(core::processEntityId("4a0cbe3f2e7a4c2bb1c9d3e8f0a1b2c3", 4242, start) == "Cg2TPSFj2PLrPu7w");
  CHECK(core::processStartTime(1'700'000'000, 29) ==
        core::TimePoint(std::chrono::seconds(1'700'000'000) + std::chrono::milliseconds(290)));
}
