#pragma once
// A damaged database (a table block whose checksum fails) is never run with its blind spot: it is
// moved aside, kept for forensics, and replaced by a new one holding every record that can still
// be read. Records the damage took are named by key range; the next scan reports the paths they
// held with file_integrity.baseline_rebuilt.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "baseline/rocksdb_store.h"
#include "core/health.h"
#include "core/kv_store.h"
#include "core/metrics.h"
#include "core/result.h"

namespace fim::baseline {

// Keys that could not be read: every key after `after` and before `before` ("" = the family's
// start or end).
struct LostRange {
  core::Family family;
  std::string after;
  std::string before;
};

struct Salvage {
  std::uint64_t copied = 0;
  std::vector<LostRange> lost;
};

// Copies every readable record of `family` from `from` to `to`, stepping over damaged blocks: a
// seek past the last good key is probed, byte by byte, for the first key whose block reads again.
[[nodiscard]] core::Status salvageFamily(core::KvStore& from, core::KvStore& to, core::Family family,
                                         Salvage& salvage);

struct Rebuilt {
  std::string damaged;  // where the damaged database was moved
  Salvage salvage;
};

// Moves `directory` aside (to "<directory>.damaged-<UTC time>"), creates a new database there with
// every readable record of the damaged one and marks it rebuilt (kRebuiltKey, with `reason`).
[[nodiscard]] core::Result<Rebuilt> rebuildDatabase(const std::string& directory, const std::string& reason);

// Opens the database in `directory` and verifies every block; a damaged one is reported (log,
// metric baseline.corruption, health) and rebuilt before it is used.
[[nodiscard]] core::Result<std::unique_ptr<RocksDbStore>> openVerified(const std::string& directory,
                                                                       core::Metrics& metrics,
                                                                       core::Health* health);

// Logs and reports what a rebuild did (where the damaged database is, what was copied and lost).
void reportRebuilt(const Rebuilt& rebuilt, core::Health* health);

}  // namespace fim::baseline
