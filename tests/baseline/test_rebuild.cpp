// A damaged database, made for real: RocksDB tables written and closed, then 64 bytes of one
// inverted on disk, as a failing disk or a stray write leaves them.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "baseline/baseline.h"
#include "baseline/database_format.h"
#include "baseline/rebuild.h"
#include "baseline/rocksdb_store.h"
#include "core/clock.h"
#include "support/forwarding_store.h"
#include "support/memory_store.h"
#include "support/temp_dir.h"

using namespace fim;
namespace fs = std::filesystem;

namespace {

std::string keyOf(int i) { return fmt::format("/t/f{:05}", i); }
std::string valueOf(int i) { return fmt::format("record {} {}", i, std::string(static_cast<std::size_t>(60 + i % 50), 'v')); }

constexpr int kRecords = 5000;

void writeRecords(const std::string& path) {
  auto store = baseline::RocksDbStore::open(path);
  REQUIRE(store.has_value());
  core::WriteBatch batch;
  for (int i = 0; i < kRecords; ++i) batch.put(core::Family::Baseline, keyOf(i), valueOf(i));
  batch.put(core::Family::Meta, "root:/t", "1");
  REQUIRE((*store)->write(batch).has_value());
  REQUIRE((*store)->close().has_value());
}

void flipMiddleOfLargestTable(const std::string& path) {
  fs::path largest;
  for (const auto& entry : fs::directory_iterator(path)) {
    if (entry.path().extension() == ".sst" && (largest.empty() || entry.file_size() > fs::file_size(largest))) {
      largest = entry.path();
    }
  }
  REQUIRE_FALSE(largest.empty());
  std::fstream file(largest, std::ios::in | std::ios::out | std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  const std::size_t middle = bytes.size() / 2;
  for (std::size_t i = middle; i < middle + 64; ++i) bytes[i] = static_cast<char>(~bytes[i]);
  file.seekp(0);
  file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

TEST_CASE("rebuild: a damaged block is found by verify() and the rebuild keeps every readable record") {
  testing::TempDir dir;
  const std::string path = dir.str() + "/fimbeat.db";
  writeRecords(path);
  flipMiddleOfLargestTable(path);
  {
    auto store = baseline::RocksDbStore::open(path);
    REQUIRE(store.has_value());  // RocksDB opens it: only reading the block finds the damage
    auto verified = (*store)->verify();
    REQUIRE_FALSE(verified.has_value());
    CHECK((verified.error().code() == core::ErrorCode::Corrupt));
  }
  auto rebuilt = baseline::rebuildDatabase(path, "test damage");
  REQUIRE(rebuilt.has_value());
  CHECK(fs::is_directory(rebuilt->damaged));
  CHECK(rebuilt->damaged.starts_with(path + ".damaged-"));
  REQUIRE(rebuilt->salvage.lost.size() == 1);  // one damaged block, stepped over
  const auto& lost = rebuilt->salvage.lost.front();
  CHECK((lost.family == core::Family::Baseline));
  REQUIRE_FALSE(lost.after.empty());
  REQUIRE_FALSE(lost.before.empty());
  CHECK(lost.after < lost.before);

  auto store = baseline::RocksDbStore::open(path);
  REQUIRE(store.has_value());
  CHECK((*store)->verify().has_value());
  int kept = 0, missing = 0;
  for (int i = 0; i < kRecords; ++i) {
    const std::string key = keyOf(i);
    auto value = (*store)->get(core::Family::Baseline, key);
    REQUIRE(value.has_value());
    const bool inLostRange = key > lost.after && key < lost.before;
    if (inLostRange) {
      CHECK_FALSE(value->has_value());
      ++missing;
    } else {
      REQUIRE(value->has_value());
      CHECK(**value == valueOf(i));
      ++kept;
    }
  }
  CHECK(missing > 0);
  CHECK(missing < 200);  // one block of 8 KiB: the damage takes its records, not the file's
  CHECK(kept + missing == kRecords);
  CHECK(rebuilt->salvage.copied == static_cast<std::uint64_t>(kept) + 1);  // + the root key
  CHECK(**(*store)->get(core::Family::Meta, "root:/t") == "1");
  CHECK(**(*store)->get(core::Family::Meta, baseline::kRebuiltKey) == "test damage");
}

TEST_CASE("rebuild: openVerified passes a sound database through and rebuilds a damaged one, saying so") {
  testing::TempDir dir;
  const std::string path = dir.str() + "/fimbeat.db";
  writeRecords(path);
  core::Metrics metrics;
  core::Health health;
  {
    auto sound = baseline::openVerified(path, metrics, &health);
    REQUIRE(sound.has_value());
    REQUIRE((*sound)->close().has_value());
  }
  CHECK(metrics.counter("baseline.corruption").value() == 0);
  flipMiddleOfLargestTable(path);
  auto store = baseline::openVerified(path, metrics, &health);
  REQUIRE(store.has_value());
  CHECK(metrics.counter("baseline.corruption").value() == 1);
  CHECK((health.unit(core::Health::kBaseline).state == core::HealthState::Degraded));
  CHECK(health.unit(core::Health::kBaseline).message.find("rebuilt") != std::string::npos);
  CHECK((*store)->get(core::Family::Meta, baseline::kRebuiltKey)->has_value());
}

TEST_CASE("rebuild: a database RocksDB cannot open names the recovery, and a held lock names the other fimbeat") {
  testing::TempDir dir;
  const std::string path = dir.str() + "/fimbeat.db";
  writeRecords(path);
  std::ifstream current(path + "/CURRENT");
  std::string manifest;
  std::getline(current, manifest);
  std::ofstream(path + "/" + manifest, std::ios::trunc) << std::string(512, 'x');
  auto store = baseline::RocksDbStore::open(path);
  REQUIRE_FALSE(store.has_value());
  CHECK(store.error().message().find("Move fimbeat.db aside") != std::string::npos);
  CHECK(store.error().message().find("another fimbeat") == std::string::npos);
}

namespace {

// The memory store, with the records of some paths unreadable as RocksDB reports a damaged block.
class DamagedStore final : public testing::ForwardingStore {
 public:
  explicit DamagedStore(std::string damaged) : damaged_(std::move(damaged)) {}
  core::Result<std::optional<std::string>> get(core::Family family, std::string_view key) override {
    if (family == core::Family::Baseline && key == damaged_) {
      return core::fail(core::ErrorCode::Corrupt, "reading the baseline: Corruption: block checksum mismatch");
    }
    return inner.get(family, key);
  }

 private:
  std::string damaged_;
};

}  // namespace

TEST_CASE("baseline: a change whose record cannot be read is still reported, and the damage once, loudly") {
  DamagedStore store("/t/bad");
  core::Metrics metrics;
  core::Health health;
  core::SystemClock clock;
  baseline::Baseline base(store, {{"/t", 0}}, metrics, clock, nullptr, &health);
  REQUIRE(base.open().has_value());
  events::PathSeen seen;
  seen.info.path = "/t/bad";
  seen.info.type = events::FileType::File;
  seen.info.size = 3;
  for (int round = 0; round < 2; ++round) {
    auto event = base.apply(seen);
    REQUIRE(event.has_value());
    REQUIRE(event->has_value());
    CHECK(((*event)->actions == std::vector<events::Action>{events::Action::Updated}));
    REQUIRE((*event)->errorMessage.has_value());
    CHECK((*event)->errorMessage->find("could not be read") != std::string::npos);
    CHECK_FALSE((*event)->previous.has_value());
  }
  CHECK(base.damaged());
  CHECK(base.damage().find("checksum mismatch") != std::string::npos);
  CHECK(metrics.counter("baseline.corruption").value() == 1);  // once, however many paths meet it
  CHECK((health.unit(core::Health::kBaseline).state == core::HealthState::Failed));

  seen.info.path = "/t/good";  // the rest of the baseline works as before
  auto good = base.apply(seen);
  REQUIRE(good.has_value());
  REQUIRE(good->has_value());
  CHECK(((*good)->actions == std::vector<events::Action>{events::Action::InitialScan}));
  CHECK_FALSE((*good)->errorMessage.has_value());
}

TEST_CASE("baseline: after a rebuild the first full scan's events say so, and the mark goes with its sweep") {
  testing::MemoryStore store;
  core::WriteBatch mark;
  mark.put(core::Family::Meta, baseline::kRebuiltKey, "damage");
  mark.put(core::Family::Meta, baseline::rootKey("/t"), "1");
  mark.put(core::Family::Baseline, "/t/gone", "");  // undecodable, still swept by its path
  REQUIRE(store.write(mark).has_value());
  core::Metrics metrics;
  core::SystemClock clock;
  baseline::Baseline base(store, {{"/t", 0}}, metrics, clock);
  REQUIRE(base.open().has_value());
  events::PathSeen seen;
  seen.info.path = "/t/new";
  seen.info.type = events::FileType::File;
  auto event = base.apply(seen);
  REQUIRE(event.has_value());
  REQUIRE(event->has_value());
  CHECK(((*event)->actions == std::vector<events::Action>{events::Action::Created}));
  CHECK((*event)->baselineRebuilt);
  std::vector<events::FileEvent> deleted;
  REQUIRE(base.sweep(deleted).has_value());
  REQUIRE(deleted.size() == 1);
  CHECK(deleted.front().baselineRebuilt);
  CHECK_FALSE(store.get(core::Family::Meta, baseline::kRebuiltKey)->has_value());
  seen.info.path = "/t/later";
  auto later = base.apply(seen);
  REQUIRE(later.has_value());
  REQUIRE(later->has_value());
  CHECK_FALSE((*later)->baselineRebuilt);
}
