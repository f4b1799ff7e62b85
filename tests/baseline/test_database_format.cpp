#include <doctest/doctest.h>

#include <fmt/format.h>

#include "baseline/database_format.h"
#include "baseline/record.h"
#include "core/binary_codec.h"
#include "events/file_info_codec.h"
#include "support/legacy_formats.h"
#include "support/memory_store.h"

using namespace fim;

namespace {

events::FileInfo file(const std::string& path) {
  events::FileInfo f;
  f.path = path;
  f.type = events::FileType::File;
  f.size = 3;
  f.owner = "root";
  f.mode = 0644;
  f.hashes[events::HashType::Sha1] = "da39";
  return f;
}

std::string formatOf(testing::MemoryStore& store) {
  auto value = store.get(core::Family::Meta, baseline::kFormatKey);
  REQUIRE(value.has_value());
  return value->value_or("(none)");
}

}  // namespace

TEST_CASE("database format: a new database is marked with the current format") {
  testing::MemoryStore store;
  REQUIRE(baseline::prepareDatabase(store, "/data/fimbeat.db").has_value());
  CHECK(formatOf(store) == std::to_string(baseline::kDatabaseFormat));
  REQUIRE(baseline::prepareDatabase(store, "/data/fimbeat.db").has_value());
}

TEST_CASE("database format: format 1 (no format key, records of version 1) is migrated in place") {
  testing::MemoryStore store;
  core::WriteBatch old;
  for (int i = 0; i < 2500; ++i) {  // more than one migration batch
    const auto f = file(fmt::format("/etc/f{:04}", i));
    old.put(core::Family::Baseline, f.path, testing::version1Record(f));
  }
  old.put(core::Family::Baseline, "/etc/zz-damaged", std::string("\x01\x05", 2));
  old.put(core::Family::Meta, "scan_id", "3");
  old.put(core::Family::Meta, "root:/etc", "1");
  REQUIRE(store.write(old).has_value());

  REQUIRE(baseline::prepareDatabase(store, "/data/fimbeat.db").has_value());
  CHECK(formatOf(store) == "3");
  CHECK_FALSE(store.get(core::Family::Meta, "scan_id")->has_value());
  CHECK(store.get(core::Family::Meta, "root:/etc")->has_value());
  std::size_t version2 = 0;
  REQUIRE(store.scan(core::Family::Baseline, "", [&](std::string_view key, std::string_view value) {
    if (key == "/etc/zz-damaged") {
      CHECK(value == std::string("\x01\x05", 2));  // left for the agent to report and replace
      return true;
    }
    CHECK(static_cast<std::uint8_t>(value.front()) == baseline::kRecordVersion);
    auto record = baseline::decodeRecord(key, value);
    REQUIRE(record.has_value());
    CHECK(baseline::encodeRecord(*record) == baseline::encodeRecord(file(std::string(key))));
    ++version2;
    return true;
  }).has_value());
  CHECK(version2 == 2500);
  const std::size_t writes = store.writes;
  REQUIRE(baseline::prepareDatabase(store, "/data/fimbeat.db").has_value());
  CHECK(store.writes == writes);  // nothing left to do
}

TEST_CASE("database format: format 2 moves to 3 without rewriting a record, and its records stay readable") {
  testing::MemoryStore store;
  core::WriteBatch old;
  const auto f = file("/etc/f0001");
  old.put(core::Family::Baseline, f.path, testing::version2Record(f));
  old.put(core::Family::Meta, baseline::kFormatKey, "2");
  REQUIRE(store.write(old).has_value());
  const std::size_t writes = store.writes;
  REQUIRE(baseline::prepareDatabase(store, "/data/fimbeat.db").has_value());
  CHECK(formatOf(store) == "3");
  CHECK(store.writes == writes + 1);  // the format key alone
  auto value = store.get(core::Family::Baseline, f.path);
  REQUIRE(value.has_value());
  REQUIRE(value->has_value());
  CHECK(static_cast<std::uint8_t>((**value).front()) == 2);
  auto record = baseline::decodeRecord(f.path, **value);
  REQUIRE(record.has_value());
  CHECK(baseline::encodeRecord(*record) == baseline::encodeRecord(f));
}

TEST_CASE("database format: a newer format is refused with both formats named, an unreadable one too") {
  testing::MemoryStore store;
  core::WriteBatch newer;
  newer.put(core::Family::Meta, baseline::kFormatKey, "4");
  REQUIRE(store.write(newer).has_value());
  auto refused = baseline::prepareDatabase(store, "/data/fimbeat.db");
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().message() ==
        "the fimbeat database in /data/fimbeat.db has format 4, written by a newer fimbeat; this fimbeat reads formats "
        "1 to 3. Run the newer fimbeat, or move the database aside to start a new baseline");
  core::WriteBatch garbage;
  garbage.put(core::Family::Meta, baseline::kFormatKey, "two");
  REQUIRE(store.write(garbage).has_value());
  auto unreadable = baseline::prepareDatabase(store, "/data/fimbeat.db");
  REQUIRE_FALSE(unreadable.has_value());
  CHECK(unreadable.error().message().find("unreadable format \"two\"") != std::string::npos);
}
